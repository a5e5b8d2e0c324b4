/**
 * Debian's chromium driven by playwright-core. No browser is ever downloaded: the distribution
 * package is installed with apt-get when it is missing and we are root (a fresh CI machine).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chromium, selectors, type BrowserContext } from 'playwright-core';

import { ensureDebianPackage } from '../../support/debian-package';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Makes sure /usr/bin/chromium exists; installs Debian's package when it can (about a minute). */
export function ensureChromium(log: (line: string) => void = () => undefined): void {
	ensureDebianPackage({ name: 'chromium', isInstalled: () => fs.existsSync(CHROMIUM_PATH), noRecommends: false }, log);
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
