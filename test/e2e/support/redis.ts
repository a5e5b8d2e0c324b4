/**
 * A throwaway Redis for the queue-mode e2e: Debian's redis-server (installed with apt-get when it
 * is missing and we are root, like chromium for the editor test), on a free loopback port, with
 * no persistence and its own folder, stopped by the test.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import * as rt from '../../../scripts/n8n-runtime';
import { ensureDebianPackage } from '../../support/debian-package';

export const REDIS_SERVER_PATH = '/usr/bin/redis-server';

export function ensureRedisServer(log: (line: string) => void = () => undefined): void {
	ensureDebianPackage({ name: 'redis-server', isInstalled: () => fs.existsSync(REDIS_SERVER_PATH) }, log);
}

export interface RunningRedis {
	port: number;
	stop(): Promise<void>;
}

/** redis-server on 127.0.0.1 and a free port, its files in `dir`; resolves once it answers PING. */
export async function startRedis(dir: string): Promise<RunningRedis> {
	fs.mkdirSync(dir, { recursive: true });
	const port = await rt.freePort();
	const logFile = path.join(dir, 'redis.log');
	const child = spawn(
		REDIS_SERVER_PATH,
		['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logFile],
		{ cwd: dir, stdio: 'ignore', detached: true },
	);
	rt.track(child);
	const exited = rt.exitOf(child);
	const stop = async () => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		rt.killGroup(child, 'SIGTERM');
		if (!(await rt.settlesWithin(exited, 10_000))) {
			rt.killGroup(child, 'SIGKILL');
			await exited;
		}
	};
	const deadline = Date.now() + 30_000;
	while (!(await answersPing(port))) {
		if (child.exitCode !== null || Date.now() > deadline) {
			await stop();
			const printed = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
			throw new Error(`redis-server did not start on 127.0.0.1:${port}:\n${printed}`);
		}
		await rt.sleep(100);
	}
	return { port, stop };
}

/** One inline PING over a raw socket: the test needs no Redis client of its own. */
function answersPing(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = net.connect(port, '127.0.0.1');
		socket.setTimeout(2000);
		let answer = '';
		socket.on('data', (chunk) => {
			answer += chunk.toString('utf8');
			if (answer.includes('\r\n')) {
				socket.destroy();
				resolve(answer.startsWith('+PONG'));
			}
		});
		socket.on('connect', () => socket.write('PING\r\n'));
		socket.on('error', () => resolve(false));
		socket.on('timeout', () => {
			socket.destroy();
			resolve(false);
		});
	});
}
