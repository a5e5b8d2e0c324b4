/**
 * A throwaway PostgreSQL for the queue-mode e2e (n8n supports queue mode with PostgreSQL; several
 * processes writing one SQLite file fail with SQLITE_BUSY). Debian's server (installed with
 * apt-get when it is missing and we are root, like redis-server), a cluster of its own in a temp
 * folder, listening on 127.0.0.1 and a free port only, with its unix socket in that folder.
 *
 * PostgreSQL refuses to run as root: as root, initdb and the server run as Debian's `postgres`
 * account (or `nobody`) through setpriv, which execs the server in place (no PAM session, no
 * extra parent), so the process we track is the postmaster itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as rt from '../../../scripts/n8n-runtime';
import { ensureDebianPackage } from '../../support/debian-package';

const DEBIAN_ROOT = '/usr/lib/postgresql';
const NEEDED = ['initdb', 'postgres', 'pg_isready', 'createdb'];

/** Debian keeps each major's programs in /usr/lib/postgresql/<major>/bin, off PATH; the newest wins. */
function postgresBinDir(): string | undefined {
	if (!fs.existsSync(DEBIAN_ROOT)) return undefined;
	return fs
		.readdirSync(DEBIAN_ROOT)
		.filter((name) => /^\d+$/.test(name))
		.sort((a, b) => Number(b) - Number(a))
		.map((major) => path.join(DEBIAN_ROOT, major, 'bin'))
		.find((dir) => NEEDED.every((program) => fs.existsSync(path.join(dir, program))));
}

/** The folder with PostgreSQL's programs, after installing Debian's `postgresql` when needed. */
export function ensurePostgres(log: (line: string) => void = () => undefined): string {
	ensureDebianPackage({ name: 'postgresql', isInstalled: () => postgresBinDir() !== undefined }, log);
	return postgresBinDir() as string;
}

interface Account {
	uid: number;
	gid: number;
	/** How to run a program as this account. */
	command(program: string, args: string[]): [string, string[]];
}

function idOf(user: string, flag: '-u' | '-g'): number | undefined {
	const result = spawnSync('id', [flag, user], { encoding: 'utf8' });
	return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

/** Ourselves, or as root the `postgres` account Debian's package creates (else `nobody`). */
function serverAccount(): Account {
	const uid = process.getuid?.() ?? 0;
	if (uid !== 0) return { uid, gid: process.getgid?.() ?? 0, command: (program, args) => [program, args] };
	for (const user of ['postgres', 'nobody']) {
		const userId = idOf(user, '-u');
		const groupId = idOf(user, '-g');
		if (userId === undefined || groupId === undefined) continue;
		return {
			uid: userId,
			gid: groupId,
			command: (program, args) => ['setpriv', [`--reuid=${userId}`, `--regid=${groupId}`, '--clear-groups', '--', program, ...args]],
		};
	}
	throw new Error('PostgreSQL does not run as root, and there is neither a postgres nor a nobody account to run it as');
}

export interface RunningPostgres {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	/** The DB_* settings that point n8n at this database. */
	n8nEnv: Record<string, string>;
	/** Stops the server and removes its folder (the log file stays). */
	stop(): Promise<void>;
}

/**
 * initdb into a fresh temp folder, start the server, create `database`; resolves once it answers.
 * `logFile` (outside the cluster's folder, so it outlives it) gets the server's output.
 */
export async function startPostgres(options: { binDir: string; logFile: string; database?: string }): Promise<RunningPostgres> {
	const account = serverAccount();
	const database = options.database ?? 'n8n';
	const user = 'n8n';
	const password = randomBytes(18).toString('base64url');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-postgres-'));
	// If we die first (Ctrl-C ends jest without afterAll), rt.reapWhenGone's watcher removes it.
	rt.removeWhenGone(dir);
	const removeDir = () => {
		fs.rmSync(dir, { recursive: true, force: true });
		rt.removeWhenGone(dir, true);
	};
	let child: ChildProcess | undefined;
	try {
		fs.chownSync(dir, account.uid, account.gid);
		const passwordFile = path.join(dir, 'password');
		fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
		fs.chownSync(passwordFile, account.uid, account.gid);
		const dataDir = path.join(dir, 'data');
		const binary = (program: string) => path.join(options.binDir, program);
		const [initdb, initdbArgs] = account.command(binary('initdb'), [
			`--pgdata=${dataDir}`,
			`--username=${user}`,
			`--pwfile=${passwordFile}`,
			'--auth=scram-sha-256',
			'--encoding=UTF8',
			'--locale=C',
		]);
		// cwd: the server account may not enter ours.
		const init = await rt.runCommand(initdb, initdbArgs, { cwd: dir, timeoutMs: 120_000 });
		if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code ?? init.signal}):\n${rt.tail(init.stderr || init.stdout)}`);
		fs.rmSync(passwordFile);

		const port = await rt.freePort();
		const logFd = fs.openSync(options.logFile, 'a');
		const [server, serverArgs] = account.command(binary('postgres'), [
			'-D', dataDir,
			'-c', 'listen_addresses=127.0.0.1',
			'-c', `port=${port}`,
			'-c', `unix_socket_directories=${dir}`,
			// A throwaway database: durability across a power cut buys nothing here and costs disk syncs.
			'-c', 'fsync=off',
			'-c', 'synchronous_commit=off',
			'-c', 'full_page_writes=off',
		]);
		child = spawn(server, serverArgs, { cwd: dir, stdio: ['ignore', logFd, logFd], detached: true });
		fs.closeSync(logFd);
		// SIGINT is PostgreSQL's fast shutdown: it ends the clients' sessions instead of waiting for them.
		rt.track(child, 'SIGINT');
		const started = child;
		const exited = rt.exitOf(started);
		const stop = async () => {
			if (started.exitCode === null && started.signalCode === null) {
				try {
					process.kill(started.pid as number, 'SIGINT');
				} catch {
					// Already gone.
				}
				if (!(await rt.settlesWithin(exited, 15_000))) {
					rt.killGroup(started, 'SIGKILL');
					await exited;
				}
			}
			removeDir();
		};

		const env = { ...process.env, PGPASSWORD: password };
		const connection = ['--host=127.0.0.1', `--port=${port}`, `--username=${user}`];
		const deadline = Date.now() + 60_000;
		for (;;) {
			const ready = await rt.runCommand(binary('pg_isready'), [...connection, '--dbname=postgres'], { env, timeoutMs: 10_000 });
			if (ready.code === 0) break;
			if (started.exitCode !== null || started.signalCode !== null || Date.now() > deadline) {
				await stop();
				throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}:\n${rt.tail(fs.readFileSync(options.logFile, 'utf8'))}`);
			}
			await rt.sleep(200);
		}
		const created = await rt.runCommand(binary('createdb'), [...connection, database], { env, timeoutMs: 60_000 });
		if (created.code !== 0) {
			await stop();
			throw new Error(`createdb ${database} failed (exit ${created.code ?? created.signal}):\n${rt.tail(created.stderr)}`);
		}
		return {
			host: '127.0.0.1',
			port,
			database,
			user,
			password,
			n8nEnv: {
				DB_TYPE: 'postgresdb',
				DB_POSTGRESDB_HOST: '127.0.0.1',
				DB_POSTGRESDB_PORT: String(port),
				DB_POSTGRESDB_DATABASE: database,
				DB_POSTGRESDB_USER: user,
				DB_POSTGRESDB_PASSWORD: password,
			},
			stop,
		};
	} catch (error) {
		if (child === undefined) removeDir();
		throw error;
	}
}
