/**
 * Starts the fake Nebula Block server in its own process (scripts/bench/server.ts) and talks to
 * it over IPC, so what a figure measures in its own process is the client alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import type { FakeNebulaOptions, FakeRateLimit, RateLimitStats, Step } from '../../test/support/fake-nebula';
import type { ServerCommand, ServerReply } from './server';

export interface RemoteFakeNebula {
	/** 'http://127.0.0.1:PORT/v1' */
	url: string;
	defaultKey: string;
	newKey(label?: string): Promise<string>;
	script(key: string, ...steps: Array<Step | Step[]>): Promise<void>;
	/** TCP connections the server accepted since it started. */
	connectionCount(): Promise<number>;
	requestCount(key?: string): Promise<number>;
	maxInFlight(key?: string): Promise<number>;
	/** What the rate-limited mode (options.rateLimit) accepted and turned away; every request counts as accepted without it. */
	rateLimitStats(key?: string): Promise<RateLimitStats>;
	/**
	 * Sets the rate limit of one key (its tier) or of the whole server; undefined lifts it. Resolves
	 * with the server's Date.now() at the change, the clock of `rateLimitStats().acceptedAt`.
	 */
	setRateLimit(limit: FakeRateLimit | undefined, key?: string): Promise<number>;
	close(): Promise<void>;
}

type Command = ServerCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export async function startServerProcess(options: FakeNebulaOptions = {}): Promise<RemoteFakeNebula> {
	// fork() passes on process.execArgv, i.e. tsx's loader, so the child can run TypeScript.
	const child = fork(path.join(__dirname, 'server.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
	const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
	let nextId = 0;
	child.on('message', (reply: ServerReply) => {
		const waiter = pending.get(reply.id);
		pending.delete(reply.id);
		if (!waiter) return;
		if (reply.ok) waiter.resolve(reply.value);
		else waiter.reject(new Error(`Fake server: ${reply.error}`));
	});
	child.on('exit', (code) => {
		for (const waiter of pending.values()) waiter.reject(new Error(`The fake server process exited (code ${code})`));
		pending.clear();
	});

	const call = <T>(command: Command): Promise<T> =>
		new Promise<T>((resolve, reject) => {
			const id = ++nextId;
			pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
			child.send({ ...command, id } as ServerCommand);
		});

	const { url, defaultKey } = await call<{ url: string; defaultKey: string }>({ op: 'start', options });
	return {
		url,
		defaultKey,
		newKey: (label) => call<string>({ op: 'newKey', label }),
		script: (key, ...steps) => call<void>({ op: 'script', key, steps }),
		connectionCount: () => call<number>({ op: 'connectionCount' }),
		requestCount: (key) => call<number>({ op: 'requestCount', key }),
		maxInFlight: (key) => call<number>({ op: 'maxInFlight', key }),
		rateLimitStats: (key) => call<RateLimitStats>({ op: 'rateLimitStats', key }),
		setRateLimit: (limit, key) => call<number>({ op: 'setRateLimit', limit, key }),
		close: async () => {
			await call<void>({ op: 'close' }).catch(() => undefined);
			await stopChild(child);
		},
	};
}

async function stopChild(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	child.disconnect();
	const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
	await exited;
	clearTimeout(timer);
}
