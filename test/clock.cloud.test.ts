/**
 * The cloud edition's clock (nodes/shared/clock.cloud.ts) on stand-ins of n8n-workflow's sleep:
 * it finds `sleepWithAbort` (n8n up to 2.33) or `sleep(ms, signal)` (2.34 on), passes the signal,
 * reports a cancel as the package's cancelled error, and splits a wait too long for one timer.
 */
type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

interface Calls {
	ms: number;
	signal?: AbortSignal;
}

/** The cloud clock, loaded against an n8n-workflow that exports `exports`. */
function cloudClockWith(exports: Record<string, unknown>) {
	let loaded!: typeof import('../nodes/shared/clock.cloud');
	jest.isolateModules(() => {
		jest.doMock('n8n-workflow', () => ({ ...jest.requireActual('n8n-workflow'), sleepWithAbort: undefined, sleep: undefined, ...exports }));
		loaded = require('../nodes/shared/clock.cloud') as typeof import('../nodes/shared/clock.cloud');
	});
	return loaded.clock;
}

/** A sleep that records its calls and resolves at once, or rejects when its signal is aborted. */
function recordingSleep(calls: Calls[]): Sleep {
	return async (ms, signal) => {
		calls.push({ ms, signal });
		if (signal?.aborted) throw new Error('aborted');
	};
}

afterEach(() => jest.dontMock('n8n-workflow'));

describe('the cloud clock', () => {
	it('waits on sleepWithAbort where n8n-workflow has it (up to 2.33), passing the signal', async () => {
		const calls: Calls[] = [];
		const clock = cloudClockWith({ sleepWithAbort: recordingSleep(calls), sleep: async () => undefined });
		const cancel = new AbortController();
		await clock.sleep(1_500, cancel.signal);
		expect(calls).toEqual([{ ms: 1_500, signal: cancel.signal }]);
	});

	it('on sleep(ms, signal) where sleepWithAbort is gone (2.34 on)', async () => {
		const calls: Calls[] = [];
		const clock = cloudClockWith({ sleep: recordingSleep(calls) });
		const cancel = new AbortController();
		await clock.sleep(20, cancel.signal);
		expect(calls).toEqual([{ ms: 20, signal: cancel.signal }]);
	});

	it("a cancelled wait rejects with the package's cancelled error; a timer cancelled never runs", async () => {
		const clock = cloudClockWith({ sleep: async (_ms: number, signal?: AbortSignal) => await new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('Aborted')))) });
		const cancel = new AbortController();
		const waiting = clock.sleep(60_000, cancel.signal);
		cancel.abort();
		await expect(waiting).rejects.toMatchObject({ name: 'NebulaBlockError', kind: 'aborted' });
		let ran = false;
		const timer = clock.setTimer(60_000, () => (ran = true));
		timer.cancel();
		await new Promise((resolve) => setImmediate(resolve));
		expect(ran).toBe(false);
	});

	it('splits a wait longer than one timer can hold (about 24.8 days) into parts', async () => {
		const calls: Calls[] = [];
		const clock = cloudClockWith({ sleep: recordingSleep(calls) });
		await clock.sleep(30 * 24 * 3_600_000);
		expect(calls.map((call) => call.ms)).toEqual([2 ** 31 - 1, 30 * 24 * 3_600_000 - (2 ** 31 - 1)]);
	});

	it('runs a timer after its sleep', async () => {
		const calls: Calls[] = [];
		const clock = cloudClockWith({ sleep: recordingSleep(calls) });
		const ran = await new Promise<boolean>((resolve) => clock.setTimer(250, () => resolve(true)));
		expect(ran).toBe(true);
		expect(calls[0].ms).toBe(250);
	});
});
