/**
 * The installer's recovery, on a tiny local package instead of a 2 GB n8n: its install script
 * records every install and can hold npm mid-way (while the file `hold` exists), so a test can
 * interrupt npm exactly there, as a Ctrl-C two minutes into the n8n install does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { INSTALL_MARKER, PARTIAL_INFIX, installTree, isTreeComplete, verifyN8n, type TreeInstall } from '../../scripts/n8n-install';
import { npmCommand, runCommand, sleep } from '../../scripts/processes';

const REPO_ROOT = path.resolve(__dirname, '../..');
const CHILD_SCRIPT = path.join(__dirname, 'installer-child.ts');

let work: string;
let control: string;
let manifest: Record<string, unknown>;
let cacheRoot: string;
let dir: string;

const installs = () => (fs.existsSync(path.join(control, 'installs.log')) ? fs.readFileSync(path.join(control, 'installs.log'), 'utf8').trim().split('\n').length : 0);
const hold = () => fs.writeFileSync(path.join(control, 'hold'), '');
const letGo = () => fs.rmSync(path.join(control, 'hold'), { force: true });
const partials = () => fs.readdirSync(cacheRoot).filter((name) => name.includes(PARTIAL_INFIX));

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await sleep(50);
	}
}

function spec(lines: string[], overrides: Partial<TreeInstall> = {}): TreeInstall {
	return {
		dir,
		version: '1.0.0',
		label: 'the tiny package',
		manifest,
		progressEveryMs: 1000,
		log: (line) => lines.push(line),
		verify: async (folder) => {
			if (!fs.existsSync(path.join(folder, 'node_modules', 'tiny-slow', 'package.json'))) throw new Error('tiny-slow is missing');
			return 'tiny-slow is there';
		},
		...overrides,
	};
}

beforeAll(async () => {
	work = fs.mkdtempSync(path.join(os.tmpdir(), 'installer-test-'));
	control = path.join(work, 'control');
	fs.mkdirSync(control);
	const source = path.join(work, 'tiny-slow');
	fs.mkdirSync(source);
	fs.writeFileSync(
		path.join(source, 'package.json'),
		JSON.stringify({ name: 'tiny-slow', version: '1.0.0', scripts: { install: 'node install.js' } }),
	);
	fs.writeFileSync(
		path.join(source, 'install.js'),
		`const fs = require('fs'); const path = require('path');
const control = ${JSON.stringify(control)};
fs.appendFileSync(path.join(control, 'installs.log'), process.pid + '\\n');
if (fs.existsSync(path.join(control, 'hold'))) {
	fs.writeFileSync(path.join(control, 'started'), String(process.pid));
	const timer = setInterval(() => { if (!fs.existsSync(path.join(control, 'hold'))) clearInterval(timer); }, 50);
}
`,
	);
	const packed = await runCommand(npmCommand(), ['pack', '--json', `--pack-destination=${work}`], { cwd: source, timeoutMs: 60_000 });
	expect(packed.code).toBe(0);
	const tarball = path.join(work, 'tiny-slow-1.0.0.tgz');
	expect(fs.existsSync(tarball)).toBe(true);
	manifest = { name: 'tiny-runtime', private: true, dependencies: { 'tiny-slow': `file:${tarball}` } };
}, 60_000);

afterAll(() => {
	fs.rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
	cacheRoot = fs.mkdtempSync(path.join(work, 'cache-'));
	dir = path.join(cacheRoot, 'tiny-1.0.0');
	fs.rmSync(path.join(control, 'installs.log'), { force: true });
	fs.rmSync(path.join(control, 'started'), { force: true });
	letGo();
});

describe('installTree', () => {
	it('installs into a temporary folder, checks it there, moves it into place and writes the marker last', async () => {
		const lines: string[] = [];
		const checked: string[] = [];
		const result = await installTree(
			spec(lines, {
				verify: async (folder) => {
					checked.push(folder);
					expect(fs.existsSync(dir)).toBe(false);
					return 'checked';
				},
			}),
		);

		expect(result).toEqual({ installed: true });
		expect(path.basename(checked[0])).toBe(`tiny-1.0.0${PARTIAL_INFIX}${process.pid}`);
		expect(fs.existsSync(path.join(dir, 'node_modules', 'tiny-slow', 'install.js'))).toBe(true);
		expect(JSON.parse(fs.readFileSync(path.join(dir, INSTALL_MARKER), 'utf8'))).toMatchObject({ version: '1.0.0' });
		expect(partials()).toEqual([]);
		expect(fs.existsSync(path.join(cacheRoot, 'tiny-1.0.0.install.lock'))).toBe(false);
		expect(fs.readFileSync(path.join(cacheRoot, 'tiny-1.0.0.install.log'), 'utf8')).toContain('added 1 package');
		expect(lines.some((line) => line.includes('installed in') && line.includes('(checked)'))).toBe(true);

		// A complete install is used as it is.
		expect(await installTree(spec(lines))).toEqual({ installed: false });
		expect(installs()).toBe(1);
	}, 120_000);

	it('says what npm is doing while it works', async () => {
		hold();
		const lines: string[] = [];
		const install = installTree(spec(lines));
		await waitFor('the install script to start', () => fs.existsSync(path.join(control, 'started')));
		// npm is held inside the install script: a progress line says so.
		const scriptLine = /^Still installing the tiny package \(\d+ s\): \d+ MB on disk, npm: running install scripts: tiny-slow@1\.0\.0 install$/;
		await waitFor('a progress line naming the install script', () => lines.some((line) => scriptLine.test(line)));
		letGo();
		await install;
		expect(lines.filter((line) => scriptLine.test(line)).length).toBeGreaterThan(0);
	}, 120_000);

	it('leaves no marker when npm is killed mid-way, and the next run removes the leftover and installs again', async () => {
		hold();
		const first = spawnInstaller();
		await waitFor('the install script to start', () => fs.existsSync(path.join(control, 'started')));
		// What the demo does on Ctrl-C: SIGINT to it, and it stops npm (its process group).
		first.child.kill('SIGINT');
		expect(await first.exit).toBe(130);
		expect(fs.existsSync(path.join(dir, INSTALL_MARKER))).toBe(false);
		expect(fs.existsSync(dir)).toBe(false);
		const [leftover] = partials();
		expect(partials()).toHaveLength(1);
		// npm's install script was in npm's process group, which got the signal too.
		const scriptPid = Number(fs.readFileSync(path.join(control, 'started'), 'utf8'));
		await waitFor('the install script to end', () => !isAlive(scriptPid));

		letGo();
		const lines: string[] = [];
		expect(await installTree(spec(lines))).toEqual({ installed: true });
		expect(lines).toContain(`Removing an unfinished install of the tiny package left by an interrupted run: ${path.join(cacheRoot, leftover)}`);
		expect(partials()).toEqual([]);
		expect(isTreeComplete(dir, '1.0.0')).toBe(true);
		expect(installs()).toBe(2);
	}, 120_000);

	it('fails without a marker when npm itself is killed, and installs on the next call', async () => {
		hold();
		const lines: string[] = [];
		const install = installTree(spec(lines));
		await waitFor('the install script to start', () => fs.existsSync(path.join(control, 'started')));
		const scriptPid = Number(fs.readFileSync(path.join(control, 'started'), 'utf8'));
		// npm runs in its own process group; the install script is in it.
		process.kill(-processGroupOf(scriptPid), 'SIGKILL');
		await expect(install).rejects.toThrow(/npm install of the tiny package failed \(exit (SIGKILL|\d+)\); full output in .*tiny-1\.0\.0\.install\.log/);
		expect(fs.existsSync(dir)).toBe(false);
		expect(partials()).toEqual([]);

		letGo();
		expect(await installTree(spec(lines))).toEqual({ installed: true });
		expect(isTreeComplete(dir, '1.0.0')).toBe(true);
	}, 120_000);

	it('replaces a final folder that has no marker (an install that did not finish)', async () => {
		fs.mkdirSync(path.join(dir, 'node_modules', 'half'), { recursive: true });
		fs.writeFileSync(path.join(dir, 'node_modules', 'half', 'package.json'), '{}');
		const lines: string[] = [];

		expect(await installTree(spec(lines))).toEqual({ installed: true });

		expect(lines).toContain(`${dir} has no ${INSTALL_MARKER} (an install that did not finish): removing it and installing the tiny package again.`);
		expect(fs.existsSync(path.join(dir, 'node_modules', 'half'))).toBe(false);
		expect(isTreeComplete(dir, '1.0.0')).toBe(true);
	}, 120_000);

	it('does not count a marker of another version, or one whose required files are missing', async () => {
		fs.mkdirSync(dir, { recursive: true });
		fs.writeFileSync(path.join(dir, INSTALL_MARKER), JSON.stringify({ version: '0.9.0' }));
		expect(isTreeComplete(dir, '1.0.0')).toBe(false);
		fs.writeFileSync(path.join(dir, INSTALL_MARKER), JSON.stringify({ version: '1.0.0' }));
		expect(isTreeComplete(dir, '1.0.0')).toBe(true);
		expect(isTreeComplete(dir, '1.0.0', ['node_modules/tiny-slow/package.json'])).toBe(false);
	});

	it('keeps nothing when the check fails', async () => {
		const lines: string[] = [];
		await expect(
			installTree(spec(lines, { verify: async () => Promise.reject(new Error('n8n --version printed nothing')) })),
		).rejects.toThrow('n8n --version printed nothing');
		expect(fs.existsSync(dir)).toBe(false);
		expect(partials()).toEqual([]);
		expect(fs.existsSync(path.join(cacheRoot, 'tiny-1.0.0.install.lock'))).toBe(false);
	}, 120_000);

	it('lets one of two processes install while the other waits for it', async () => {
		hold();
		const first = spawnInstaller();
		await waitFor('the first install script to start', () => fs.existsSync(path.join(control, 'started')));
		const second = spawnInstaller();
		await waitFor('the second installer to wait', () => second.output().includes('Waiting for another process to finish installing'));
		letGo();

		expect(await first.exit).toBe(0);
		expect(await second.exit).toBe(0);
		expect(first.output()).toContain('DONE installed=true');
		expect(second.output()).toContain('DONE installed=false');
		expect(installs()).toBe(1);
		expect(isTreeComplete(dir, '1.0.0')).toBe(true);
	}, 120_000);
});

describe('verifyN8n', () => {
	/** The files verifyN8n looks at, in the shape of an n8n install, with a CLI that prints its version. */
	function stubN8n(moduleSource: string): string {
		const root = fs.mkdtempSync(path.join(work, 'stub-n8n-'));
		const bin = path.join(root, 'node_modules', '.bin', 'n8n');
		fs.mkdirSync(path.dirname(bin), { recursive: true });
		fs.writeFileSync(bin, `#!${process.execPath}\nconsole.log('2.8.4');\n`, { mode: 0o755 });
		const moduleDir = path.join(root, 'node_modules', 'n8n', 'dist', 'modules', 'community-packages');
		fs.mkdirSync(moduleDir, { recursive: true });
		fs.writeFileSync(path.join(moduleDir, 'community-packages.module.js'), moduleSource);
		return root;
	}

	it('accepts an install whose CLI prints the version and whose community-packages module loads', async () => {
		const root = stubN8n("require('./community-packages.service');");
		fs.writeFileSync(path.join(root, 'node_modules/n8n/dist/modules/community-packages/community-packages.service.js'), '');
		await expect(verifyN8n(root, '2.8.4')).resolves.toContain('n8n --version printed 2.8.4');
	});

	it('rejects an install cut off inside the community-packages module', async () => {
		const root = stubN8n("require('./community-packages.service');");
		await expect(verifyN8n(root, '2.8.4')).rejects.toThrow(/do not load[\s\S]*community-packages\.service/);
	});

	it('rejects an install without the module file (the reported failure)', async () => {
		const root = stubN8n('');
		fs.rmSync(path.join(root, 'node_modules/n8n/dist/modules/community-packages/community-packages.module.js'));
		await expect(verifyN8n(root, '2.8.4')).rejects.toThrow(/lacks .*community-packages\.module\.js/);
	});

	it('rejects an install whose CLI prints another version', async () => {
		const root = stubN8n('');
		await expect(verifyN8n(root, '2.41.1')).rejects.toThrow('did not print 2.41.1');
	});
});

function spawnInstaller(): { child: ChildProcess; exit: Promise<number | null>; output: () => string } {
	const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, JSON.stringify({ dir, version: '1.0.0', manifest })], {
		cwd: REPO_ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
	return { child, exit, output: () => output };
}

function processGroupOf(pid: number): number {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	// Field 5 (pgrp), after the parenthesised command name.
	return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}
