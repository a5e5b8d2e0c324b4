/**
 * Debian packages the e2e and editor tests run (redis-server, postgresql, chromium): installed with
 * apt-get when missing and we are root (a fresh CI machine), else an error that says what to install.
 * Nothing is ever downloaded from anywhere but the machine's own apt sources.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface DebianPackage {
	/** The package apt-get installs, e.g. `redis-server`. */
	name: string;
	/** Whether what the test runs is there already (a binary's path, say). */
	isInstalled(): boolean;
	/** Whether to leave out the package's recommended packages (default true). */
	noRecommends?: boolean;
}

/** `apt-get update` once per process: the queue-mode test may install two packages. */
let listsUpdated = false;

export function ensureDebianPackage(pkg: DebianPackage, log: (line: string) => void = () => undefined): void {
	if (pkg.isInstalled()) return;
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (!isRoot || !fs.existsSync('/usr/bin/apt-get')) {
		throw new Error(`Debian's ${pkg.name} package is missing. Install it (apt-get install -y ${pkg.name}) and run again.`);
	}
	log(`Installing ${pkg.name} with apt-get (first run on this machine)...`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	const install = ['install', '-y', ...(pkg.noRecommends === false ? [] : ['--no-install-recommends']), pkg.name];
	for (const args of listsUpdated ? [install] : [['update'], install]) {
		const result = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 10 * 60_000 });
		if (result.status !== 0) {
			throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n${(result.stderr || result.stdout || '').slice(-2000)}`);
		}
		if (args[0] === 'update') listsUpdated = true;
	}
	if (!pkg.isInstalled()) throw new Error(`apt-get installed ${pkg.name} but what the test needs from it is still missing`);
}
