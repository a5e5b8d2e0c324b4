/**
 * Installs n8n into the cache so that a half-finished install is never taken for a finished one.
 *
 * npm runs in a temporary folder beside the final one (`<cache>/n8n-<version>.partial-<pid>`); the
 * tree is checked (n8n prints its version and the modules it loads at start are there and load),
 * then renamed into place (`<cache>/n8n-<version>`), and only then is the marker written. A final
 * folder without the marker, or a temporary folder left by an interrupted run, is removed and the
 * install starts over, with a line saying so. Resuming into a half-written tree is what broke
 * before: npm saw `node_modules/n8n/package.json` and skipped the files a Ctrl-C had cut off.
 *
 * The steps are generic (`installTree`) so the tests can run them on a tiny local package instead
 * of a 2 GB n8n. Plain node built-ins only, so `node --import tsx` scripts and jest both use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { isStopping, npmCommand, runCommand, sleep, tail, type CommandResult } from './processes';

export type Log = (line: string) => void;

/** Written last by a successful install: `{ "version": "...", "completedAt": "..." }`. */
export const INSTALL_MARKER = '.install-complete.json';
/** Infix of the temporary folder npm installs into, beside the final folder. */
export const PARTIAL_INFIX = '.partial-';

/**
 * How to install one n8n version: what it took on the machines it was measured on. n8n pins
 * some dependencies to builds that are not on the registry or do not install; overrides replace them.
 */
export interface N8nRecipe {
	/**
	 * The Node.js major version this n8n runs on (n8n's own engines range decides). When it is not
	 * the major of the node running us, that Node.js is installed from the npm registry (`node@<major>`
	 * ships a binary) into `<cache>/node-<major>`, and npm and n8n run with it.
	 */
	node: string;
	/** npm `overrides` for the install folder's package.json. */
	overrides: Record<string, string>;
	/** Extra `npm install` flags, e.g. `--ignore-scripts` when some install scripts fail. */
	installFlags: string[];
	/** Packages to `npm rebuild` after the install (native modules whose scripts were skipped). */
	rebuild: string[];
	/**
	 * Backend modules (`dist/modules/<name>`) whose files must all load for the install to count;
	 * `community-packages` is the one a cut-off install lacked.
	 */
	checkModules: string[];
	/** Environment n8n needs at run time, e.g. the legacy expression engine of n8n 1.x. */
	runEnv?: Record<string, string>;
}

export const N8N_RECIPES: Record<string, N8nRecipe> = {
	// xlsx: n8n pins a CDN tarball; the registry's 0.18.5 is the same code.
	'2.8.4': { node: '20', overrides: { xlsx: '0.18.5' }, installFlags: [], rebuild: [], checkModules: ['community-packages'] },
	// Some install scripts fail here; the two native modules n8n needs are rebuilt after. n8n 1.x's
	// new expression engine does not start outside its own Docker image: the legacy one does.
	'1.123.81': {
		node: '20',
		overrides: { xlsx: '0.18.5' },
		installFlags: ['--ignore-scripts'],
		rebuild: ['sqlite3'],
		checkModules: ['community-packages'],
		runEnv: { N8N_EXPRESSION_ENGINE: 'legacy' },
	},
	// zod 3.25.67 as pinned does not install from the registry; 3.25.76 is the same 3.x API.
	'2.16.1': {
		node: '22',
		overrides: { xlsx: '0.18.5', 'zod@3.25.67': '3.25.76' },
		installFlags: ['--ignore-scripts'],
		rebuild: ['sqlite3', 'isolated-vm'],
		checkModules: ['community-packages'],
	},
	// The newest release that installs from the registry (2.41.3 pins 21 packages that are not there).
	'2.41.1': {
		node: '24',
		overrides: { linkedom: '0.18.14' },
		installFlags: ['--ignore-scripts'],
		rebuild: ['sqlite3', 'isolated-vm'],
		checkModules: ['community-packages'],
	},
};

export function n8nRecipe(version: string): N8nRecipe {
	const recipe = N8N_RECIPES[version];
	if (!recipe) {
		throw new Error(`No install recipe for n8n ${version} (known: ${Object.keys(N8N_RECIPES).join(', ')}). Add one to N8N_RECIPES in scripts/n8n-install.ts.`);
	}
	return recipe;
}

/** One npm package tree to install into `dir`. */
export interface TreeInstall {
	/** The final folder, e.g. `<cache>/n8n-2.8.4`. */
	dir: string;
	/** For messages, e.g. "n8n 2.8.4". */
	label: string;
	/** Recorded in the marker; a marker with another version does not count. */
	version: string;
	/** The install folder's package.json (dependencies, overrides). */
	manifest: Record<string, unknown>;
	installFlags?: string[];
	rebuild?: string[];
	/** Environment for npm, e.g. a PATH whose first node is the one the tree is built for. */
	env?: NodeJS.ProcessEnv;
	/** Files (relative to the folder) a complete install has, checked with the marker. */
	requiredFiles?: string[];
	/** Throws with the reason unless the tree in `dir` works; returns a short summary for the log. */
	verify(dir: string): Promise<string>;
	log?: Log;
	/** How long npm may take (default 30 minutes) and how long to wait for another installer. */
	timeoutMs?: number;
	/** How often to say that npm is still working (default 10 s). */
	progressEveryMs?: number;
}

export function isTreeComplete(dir: string, version: string, requiredFiles: string[] = []): boolean {
	try {
		const marker = JSON.parse(fs.readFileSync(path.join(dir, INSTALL_MARKER), 'utf8')) as { version?: string };
		return marker.version === version && requiredFiles.every((file) => fs.existsSync(path.join(dir, file)));
	} catch {
		return false;
	}
}

/** Installs the tree unless a complete one is there; returns whether it installed. */
export async function installTree(spec: TreeInstall): Promise<{ installed: boolean }> {
	const log = spec.log ?? (() => undefined);
	const timeoutMs = spec.timeoutMs ?? 30 * 60_000;
	const complete = () => isTreeComplete(spec.dir, spec.version, spec.requiredFiles);
	if (complete()) return { installed: false };

	const cacheRoot = path.dirname(spec.dir);
	const base = path.basename(spec.dir);
	fs.mkdirSync(cacheRoot, { recursive: true });
	const release = await takeInstallLock(path.join(cacheRoot, `${base}.install.lock`), log, timeoutMs);
	const partial = path.join(cacheRoot, `${base}${PARTIAL_INFIX}${process.pid}`);
	try {
		// Another process may have finished while we waited for the lock.
		if (complete()) return { installed: false };
		await waitForOldInstaller(spec.dir, log, timeoutMs);
		if (complete()) return { installed: false };
		await removeUnfinished(spec, log);

		const logFile = path.join(cacheRoot, `${base}.install.log`);
		fs.mkdirSync(partial);
		fs.writeFileSync(path.join(partial, 'package.json'), JSON.stringify(spec.manifest, null, 2));
		log(`Installing ${spec.label} into ${partial} (moved to ${spec.dir} once it works); npm's output: ${logFile}`);
		const started = Date.now();
		const output = fs.createWriteStream(logFile);
		try {
			const install = await npmWithProgress(
				['install', '--no-audit', '--no-fund', '--loglevel=info', ...(spec.installFlags ?? [])],
				{ cwd: partial, env: spec.env, label: spec.label, log, output, timeoutMs, progressEveryMs: spec.progressEveryMs ?? 10_000, started },
			);
			assertNpmSucceeded(`npm install of ${spec.label}`, install, logFile);
			if (spec.rebuild && spec.rebuild.length > 0) {
				log(`Rebuilding ${spec.rebuild.join(', ')}...`);
				const rebuild = await npmWithProgress(['rebuild', '--loglevel=info', ...spec.rebuild], {
					cwd: partial, env: spec.env, label: spec.label, log, output, timeoutMs, progressEveryMs: spec.progressEveryMs ?? 10_000, started,
				});
				assertNpmSucceeded(`npm rebuild ${spec.rebuild.join(' ')}`, rebuild, logFile);
			}
		} finally {
			// Wait for the log to reach the disk: a failure message points at it, and a caller may read it next.
			await new Promise<void>((resolve) => output.end(resolve));
		}

		log(`Checking the ${spec.label} install...`);
		const summary = await spec.verify(partial);
		fs.renameSync(partial, spec.dir);
		writeInstallMarker(spec.dir, spec.version);
		log(`${spec.label} installed in ${Math.round((Date.now() - started) / 1000)} s (${summary}): ${spec.dir}`);
		return { installed: true };
	} catch (error) {
		// Best effort: a failed tree is useless and large. One left by a kill is removed next time.
		await fs.promises.rm(partial, { recursive: true, force: true }).catch(() => undefined);
		throw error;
	} finally {
		release();
	}
}

export function writeInstallMarker(dir: string, version: string): void {
	fs.writeFileSync(path.join(dir, INSTALL_MARKER), JSON.stringify({ version, completedAt: new Date().toISOString() }));
}

function assertNpmSucceeded(what: string, result: CommandResult, logFile: string): void {
	if (result.code === 0) return;
	const output = tail(`${result.stderr}`.split('\n').filter((line) => !line.startsWith('npm http')).join('\n'));
	throw new Error(`${what} failed (exit ${result.code ?? result.signal}); full output in ${logFile}:\n${output}`);
}

/** Removes a final folder without its marker and temporary folders of interrupted installs. */
async function removeUnfinished(spec: TreeInstall, log: Log): Promise<void> {
	const cacheRoot = path.dirname(spec.dir);
	const base = path.basename(spec.dir);
	for (const name of fs.readdirSync(cacheRoot)) {
		if (!name.startsWith(`${base}${PARTIAL_INFIX}`)) continue;
		const leftover = path.join(cacheRoot, name);
		log(`Removing an unfinished install of ${spec.label} left by an interrupted run: ${leftover}`);
		await removeWithProgress(leftover, log, spec.progressEveryMs ?? 10_000);
	}
	if (fs.existsSync(spec.dir)) {
		log(`${spec.dir} has no ${INSTALL_MARKER} (an install that did not finish): removing it and installing ${spec.label} again.`);
		await removeWithProgress(spec.dir, log, spec.progressEveryMs ?? 10_000);
	}
}

/** Removing 2 GB of node_modules takes a while on a busy disk: keep saying so. */
async function removeWithProgress(dir: string, log: Log, everyMs: number): Promise<void> {
	const started = Date.now();
	const timer = setInterval(() => log(`Still removing ${dir} (${Math.round((Date.now() - started) / 1000)} s)...`), everyMs);
	try {
		await fs.promises.rm(dir, { recursive: true, force: true });
	} finally {
		clearInterval(timer);
	}
}

interface NpmRun {
	cwd: string;
	env?: NodeJS.ProcessEnv;
	label: string;
	log: Log;
	output: fs.WriteStream;
	timeoutMs: number;
	progressEveryMs: number;
	started: number;
}

/**
 * Runs npm with its info log on (registry requests, install scripts), writes everything to the
 * log file and says every few seconds what npm is doing: how many registry requests so far and
 * the last package, the install scripts running, or that it is unpacking; and how much is on disk.
 */
async function npmWithProgress(args: string[], run: NpmRun): Promise<CommandResult> {
	let requests = 0;
	let lastPackage = '';
	let lastRequestAt = Date.now();
	/** Install scripts started and not finished: `npm info run <pkg>@<version> <event> ...`. */
	const scripts = new Set<string>();
	let pending = '';
	const onOutput = (chunk: string) => {
		run.output.write(chunk);
		pending += chunk;
		const lines = pending.split('\n');
		pending = lines.pop() ?? '';
		for (const line of lines) {
			const script = /^npm info run (\S+) (\S+) (.*)$/.exec(line);
			if (script) {
				const name = `${script[1]} ${script[2]}`;
				if (script[3].startsWith('{ code:')) scripts.delete(name);
				else scripts.add(name);
				continue;
			}
			const fetched = /^npm http fetch GET \d+ (\S+)/.exec(line);
			if (!fetched) continue;
			requests += 1;
			lastRequestAt = Date.now();
			lastPackage = packageOfUrl(fetched[1]);
		}
	};
	let reporting = false;
	const timer = setInterval(() => {
		if (reporting || isStopping()) return;
		reporting = true;
		void megabytesOnDisk(run.cwd)
			.then((mb) => {
				const seconds = Math.round((Date.now() - run.started) / 1000);
				const quietFor = Math.round((Date.now() - lastRequestAt) / 1000);
				const activity =
					scripts.size > 0
						? `running install scripts: ${[...scripts].join(', ')}`
						: requests === 0
							? 'resolving dependencies'
							: quietFor < 5
								? `${requests} registry requests so far, last ${lastPackage}`
								: `${requests} registry requests done; unpacking packages`;
				run.log(`Still installing ${run.label} (${seconds} s): ${mb === undefined ? '' : `${mb} MB on disk, `}npm: ${activity}`);
			})
			.finally(() => {
				reporting = false;
			});
	}, run.progressEveryMs);
	try {
		return await runCommand(npmCommand(), args, { cwd: run.cwd, env: run.env, timeoutMs: run.timeoutMs, onOutput });
	} finally {
		clearInterval(timer);
	}
}

function packageOfUrl(url: string): string {
	try {
		const { pathname } = new URL(url);
		// /@scope%2fname, /name/-/name-1.2.3.tgz
		return decodeURIComponent(pathname.split('/-/')[0].replace(/^\//, ''));
	} catch {
		return url;
	}
}

/** `du -sk`: fast enough on a 2 GB tree every few seconds; undefined where du is missing. */
async function megabytesOnDisk(dir: string): Promise<number | undefined> {
	try {
		const result = await runCommand('du', ['-sk', dir], { timeoutMs: 20_000 });
		const kb = Number.parseInt(result.stdout, 10);
		return Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
	} catch {
		return undefined;
	}
}

// ---------------------------------------------------------------------------
// One installer at a time
// ---------------------------------------------------------------------------

/**
 * A lock file beside the folder, holding the installer's pid: the demo and a test may start
 * together on a fresh clone. A lock whose process is gone (killed) is taken over.
 */
export async function takeInstallLock(lockPath: string, log: Log, timeoutMs: number): Promise<() => void> {
	const deadline = Date.now() + timeoutMs;
	let announced = false;
	for (;;) {
		try {
			fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
			// A demo ended by a signal exits without running `finally` blocks.
			const onExit = () => fs.rmSync(lockPath, { force: true });
			process.once('exit', onExit);
			return () => {
				process.removeListener('exit', onExit);
				onExit();
			};
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
		}
		if (!isLockHolderAlive(lockPath)) {
			fs.rmSync(lockPath, { force: true });
			continue;
		}
		if (Date.now() > deadline) throw new Error(`Timed out waiting for another install to finish (${lockPath})`);
		if (!announced) log(`Waiting for another process to finish installing (${lockPath})...`);
		announced = true;
		await sleep(1000);
	}
}

function isLockHolderAlive(lockPath: string): boolean {
	let pid: number;
	try {
		pid = Number(fs.readFileSync(lockPath, 'utf8'));
	} catch {
		return false;
	}
	if (!Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		// EPERM: alive, but another user's.
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * The installer before this one ran npm inside the final folder, locked by `<dir>/.install.lock`.
 * While such an install is still running, its folder has no marker yet: wait instead of removing it.
 */
async function waitForOldInstaller(dir: string, log: Log, timeoutMs: number): Promise<void> {
	const oldLock = path.join(dir, '.install.lock');
	const deadline = Date.now() + timeoutMs;
	let announced = false;
	while (fs.existsSync(oldLock) && isLockHolderAlive(oldLock) && Date.now() < deadline) {
		if (!announced) log(`Waiting for an install already running in ${dir}...`);
		announced = true;
		await sleep(2000);
	}
}

// ---------------------------------------------------------------------------
// n8n
// ---------------------------------------------------------------------------

/** The n8n CLI inside an install folder (a relative symlink, so it survives the rename). */
export function n8nBinIn(dir: string): string {
	return path.join(dir, 'node_modules', '.bin', 'n8n');
}

/**
 * A working n8n: `n8n --version` prints the version, and every file of the backend modules it
 * loads at start is on disk and loads in node (with what it imports: n8n-core, the database
 * entities...). The reported broken install failed the second check:
 * `Cannot find module .../community-packages.module`.
 */
export async function verifyN8n(dir: string, version: string, modules = ['community-packages'], node: NodeBinary = CURRENT_NODE): Promise<string> {
	// Loading n8n's code creates a settings file in the user folder: keep it out of the user's home.
	const userFolder = fs.mkdtempSync(path.join(dir, '.verify-'));
	const env = { ...withNodeOnPath(node), N8N_USER_FOLDER: userFolder };
	try {
		const printed = await runCommand(n8nBinIn(dir), ['--version'], { cwd: dir, env, timeoutMs: 180_000 });
		if (printed.code !== 0 || !printed.stdout.includes(version)) {
			throw new Error(`n8n --version in ${dir} did not print ${version} (exit ${printed.code ?? printed.signal}):\n${tail(printed.stderr || printed.stdout)}`);
		}
		const modulesDir = path.join(dir, 'node_modules', 'n8n', 'dist', 'modules');
		const entryFiles = modules.map((name) => path.join(modulesDir, name, `${name}.module.js`));
		const missing = entryFiles.filter((file) => !fs.existsSync(file));
		if (missing.length > 0) throw new Error(`The n8n install in ${dir} lacks ${missing.join(', ')}`);
		const files = modules.flatMap((name) =>
			fs.readdirSync(path.join(modulesDir, name)).filter((file) => file.endsWith('.js')).map((file) => path.join(modulesDir, name, file)),
		);
		const script = `for (const file of ${JSON.stringify(files)}) require(file);`;
		const loaded = await runCommand(node.path, ['-e', script], { cwd: dir, env, timeoutMs: 180_000 });
		if (loaded.code !== 0) {
			throw new Error(`n8n's modules do not load from ${dir}:\n${tail(loaded.stderr || loaded.stdout)}`);
		}
		return `n8n --version printed ${printed.stdout.trim()}; ${files.length} files of the ${modules.join(', ')} module load`;
	} finally {
		fs.rmSync(userFolder, { recursive: true, force: true });
	}
}

// ---------------------------------------------------------------------------
// Node.js for an n8n that needs another major than ours
// ---------------------------------------------------------------------------

/** The node binary an n8n install runs with. */
export interface NodeBinary {
	path: string;
	/** The major version, e.g. "24". */
	major: string;
}

export const CURRENT_NODE: NodeBinary = { path: process.execPath, major: process.versions.node.split('.')[0] };

/** `<cache>/node-<major>/node_modules/.bin/node`: where `npm install node@<major>` puts the binary. */
export function nodeBinIn(dir: string): string {
	return path.join(dir, 'node_modules', '.bin', 'node');
}

/** The environment with this node first on PATH: npm, node-gyp and n8n's `#!/usr/bin/env node` then use it. */
export function withNodeOnPath(node: NodeBinary, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	if (node.path === process.execPath) return { ...env };
	return { ...env, PATH: `${path.dirname(node.path)}${path.delimiter}${env.PATH ?? ''}` };
}

/**
 * The node binary for `major`: ours when it is that major, else Node.js from the npm registry
 * (the `node` package's install script fetches the binary for this platform) installed into
 * `<cacheRoot>/node-<major>` with the same temp-folder-then-marker safety as n8n.
 */
export async function ensureNode(cacheRoot: string, major: string, log?: Log): Promise<NodeBinary> {
	if (major === CURRENT_NODE.major) return CURRENT_NODE;
	const dir = path.join(cacheRoot, `node-${major}`);
	await installTree({
		dir,
		label: `Node.js ${major}`,
		version: major,
		manifest: { name: `node-${major}-runtime`, private: true, dependencies: { node: major } },
		requiredFiles: [path.relative(dir, nodeBinIn(dir))],
		verify: async (partial) => {
			const printed = await runCommand(nodeBinIn(partial), ['--version'], { timeoutMs: 60_000 });
			if (printed.code !== 0 || !printed.stdout.startsWith(`v${major}.`)) {
				throw new Error(`The node installed in ${partial} printed ${JSON.stringify(printed.stdout.trim())}, not v${major}.x:\n${tail(printed.stderr)}`);
			}
			return `node --version printed ${printed.stdout.trim()}`;
		},
		log,
	});
	return { path: nodeBinIn(dir), major };
}

/** Installs n8n `version` into `dir` by its recipe, unless a complete install is there. */
export async function installN8n(options: { dir: string; version: string; log?: Log }): Promise<{ installed: boolean; node: NodeBinary }> {
	const recipe = n8nRecipe(options.version);
	const node = await ensureNode(path.dirname(options.dir), recipe.node, options.log);
	const result = await installTree({
		dir: options.dir,
		label: `n8n ${options.version}`,
		version: options.version,
		manifest: { name: 'n8n-runtime', private: true, dependencies: { n8n: options.version }, overrides: recipe.overrides },
		installFlags: recipe.installFlags,
		rebuild: recipe.rebuild,
		env: withNodeOnPath(node),
		requiredFiles: [path.relative(options.dir, n8nBinIn(options.dir))],
		verify: (dir) => verifyN8n(dir, options.version, recipe.checkModules, node),
		log: options.log,
	});
	return { ...result, node };
}
