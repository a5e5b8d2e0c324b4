/**
 * Debian's chromium driven by playwright-core. No browser is ever downloaded: the distribution
 * package is installed with apt-get when it is missing and we are root (a fresh CI machine).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chromium, selectors, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Makes sure /usr/bin/chromium exists; installs Debian's package when it can (about a minute). */
export function ensureChromium(log: (line: string) => void = () => undefined): void {
	if (fs.existsSync(CHROMIUM_PATH)) return;
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (!isRoot || !fs.existsSync('/usr/bin/apt-get')) {
		throw new Error(`${CHROMIUM_PATH} is missing. Install Debian's chromium package (apt-get install -y chromium) and run again.`);
	}
	log('Installing chromium with apt-get (first run on this machine)...');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	for (const args of [['update'], ['install', '-y', 'chromium']]) {
		const result = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 10 * 60_000 });
		if (result.status !== 0) {
			throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n${(result.stderr || result.stdout || '').slice(-2000)}`);
		}
	}
	if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
}

export interface Browser {
	context: BrowserContext;
	/** Requests the page tried to send anywhere but the n8n under test; they were aborted. */
	blocked: string[];
	close(): Promise<void>;
}

/**
 * A fresh headless profile whose pages can reach only `allowedOrigin`: every other request is
 * aborted (the community node details panel, for one, asks the npm registry).
 */
export async function launchBrowser(allowedOrigin: string): Promise<Browser> {
	// n8n's editor marks its elements with data-test-id, not Playwright's default data-testid.
	selectors.setTestIdAttribute('data-test-id');
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-ui-profile-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM_PATH,
		headless: true,
		viewport: { width: 1280, height: 800 },
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-dev-shm-usage',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	const blocked: string[] = [];
	const origin = new URL(allowedOrigin).origin;
	await context.route(
		(url) => url.origin !== origin,
		async (route) => {
			blocked.push(route.request().url());
			await route.abort('blockedbyclient');
		},
	);
	return {
		context,
		blocked,
		close: async () => {
			await context.close();
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}
