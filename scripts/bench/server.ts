/**
 * Child-process host for the fake Nebula Block server, driven over IPC by serverProcess.ts.
 *
 * The benchmark keeps the server out of the measured process: its CPU time would otherwise be
 * counted in process.cpuUsage(), and its buffers (a 10 MB answer is ~40 MB of SSE events) in RSS.
 */
import { startFakeNebula, type FakeNebula, type FakeNebulaOptions, type FakeRateLimit, type Step } from '../../test/support/fake-nebula';

export type ServerCommand =
	| { id: number; op: 'start'; options: FakeNebulaOptions }
	| { id: number; op: 'newKey'; label?: string }
	| { id: number; op: 'script'; key: string; steps: Array<Step | Step[]> }
	| { id: number; op: 'connectionCount' }
	| { id: number; op: 'requestCount'; key?: string }
	| { id: number; op: 'maxInFlight'; key?: string }
	| { id: number; op: 'rateLimitStats'; key?: string }
	| { id: number; op: 'setRateLimit'; limit?: FakeRateLimit; key?: string }
	| { id: number; op: 'close' };

export interface ServerReply {
	id: number;
	ok: boolean;
	value?: unknown;
	error?: string;
}

let fake: FakeNebula | undefined;

function running(): FakeNebula {
	if (!fake) throw new Error('The fake server is not started');
	return fake;
}

async function handle(command: ServerCommand): Promise<unknown> {
	switch (command.op) {
		case 'start':
			fake = await startFakeNebula(command.options);
			return { url: fake.url, defaultKey: fake.defaultKey };
		case 'newKey':
			return running().newKey(command.label);
		case 'script':
			running().script(command.key, ...command.steps);
			return undefined;
		case 'connectionCount':
			return running().connectionCount();
		case 'requestCount':
			return running().requests(command.key).length;
		case 'maxInFlight':
			return running().maxInFlight(command.key);
		case 'rateLimitStats':
			return running().rateLimitStats(command.key);
		case 'setRateLimit':
			running().setRateLimit(command.limit, command.key);
			// The server's clock at the change, the one its accepted-request times are on.
			return Date.now();
		case 'close':
			await fake?.close();
			fake = undefined;
			return undefined;
	}
}

process.on('message', (command: ServerCommand) => {
	handle(command).then(
		(value) => process.send?.({ id: command.id, ok: true, value } satisfies ServerReply),
		(error: unknown) =>
			process.send?.({ id: command.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies ServerReply),
	);
});

// The parent going away (Ctrl-C, crash) must not leave a listening server behind.
process.on('disconnect', () => {
	void (fake?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
