/**
 * The adaptive limiter on a clock moved by hand: no network, no real time. The last tests run it
 * against a model of a token-bucket rate limit (the fake server's, test/support/fake-rate-limit.ts)
 * in simulated time and check what the issue asks of Auto: near the limit's rate, few 429s.
 */
import { AdaptiveLimiter, DEFAULT_PAUSE_MS, INITIAL_WINDOW, MAX_WINDOW, durationMs, readQuota, type Permit } from '../../nodes/shared/transport/limiter';
import { ManualClock } from '../support/manual-clock';

function setup() {
	const clock = new ManualClock();
	return { clock, limiter: new AdaptiveLimiter(clock) };
}

/** Starts `count` acquisitions and collects the permits as they are granted. */
function acquireMany(limiter: AdaptiveLimiter, count: number, signal?: AbortSignal) {
	const granted: Permit[] = [];
	const failures: unknown[] = [];
	for (let index = 0; index < count; index++) {
		limiter.acquire(signal).then((permit) => granted.push(permit), (error: unknown) => failures.push(error));
	}
	return { granted, failures };
}

describe('adaptive limiter', () => {
	it(`lets ${INITIAL_WINDOW} requests go at first and holds the rest until one finishes`, async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 20);
		await clock.advance(0);
		expect(granted).toHaveLength(INITIAL_WINDOW);
		expect(limiter.state()).toMatchObject({ inFlight: INITIAL_WINDOW, waiting: 20 - INITIAL_WINDOW });
		await clock.advance(100);
		granted[0].finish({ status: 200 });
		await clock.advance(0);
		// The window was full and the answer came: it grew by one, so two more go.
		expect(granted).toHaveLength(INITIAL_WINDOW + 2);
	});

	it('grows to its maximum while answers come back without 429 and latency holds', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 1000);
		for (let round = 0; round < 20; round++) {
			await clock.advance(100);
			for (const permit of granted.splice(0)) permit.finish({ status: 200 });
		}
		expect(limiter.state().window).toBe(MAX_WINDOW);
	});

	it('does not grow while latency rises', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 1000);
		let latency = 100;
		for (let round = 0; round < 2; round++) {
			await clock.advance(latency);
			for (const permit of granted.splice(0)) permit.finish({ status: 200 });
		}
		const before = limiter.state().window;
		for (let round = 0; round < 5; round++) {
			latency *= 3;
			await clock.advance(latency);
			for (const permit of granted.splice(0)) permit.finish({ status: 200 });
		}
		// Slow start doubles it each round while latency holds; with latency tripling it stays put.
		expect(before).toBe(4 * INITIAL_WINDOW);
		expect(limiter.state().window).toBeLessThan(before * 1.25);
	});

	it('pauses every request once on a 429 with Retry-After, not once per item', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 12);
		await clock.advance(0);
		expect(granted).toHaveLength(8);
		// Three answers are 429 at the same moment, each asking for 1 s.
		for (const permit of granted.slice(0, 3)) permit.finish({ status: 429, retryAfterMs: 1000 });
		await clock.advance(999);
		expect(granted).toHaveLength(8);
		expect(limiter.state().pausedForMs).toBe(1);
		await clock.advance(1);
		// Not 3 s: the pause is the latest of them, and after it the waiting requests go on.
		expect(granted.length).toBeGreaterThan(8);
	});

	it('after a 429 without Retry-After, waits the default pause and takes it for a limit on requests at once', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 12);
		await clock.advance(0);
		// 8 were out, one came back 429: the window is cut to 0.9 x 8 and no pace is set.
		granted[0].finish({ status: 429 });
		expect(limiter.state()).toMatchObject({ window: 7.2, rate: undefined });
		await clock.advance(DEFAULT_PAUSE_MS - 1);
		expect(granted).toHaveLength(8);
		await clock.advance(1);
		// 7 out and a window of 7.2: none goes until one comes back.
		expect(granted).toHaveLength(8);
		granted[1].finish({ status: 200 });
		await clock.advance(0);
		expect(granted).toHaveLength(9);
	});

	it('paces at the rate the service let through between two 429s', async () => {
		const { clock, limiter } = setup();
		const first = acquireMany(limiter, 9);
		await clock.advance(100);
		expect(limiter.state().rate).toBeUndefined();
		for (const permit of first.granted.splice(0, 8)) permit.finish({ status: 200 });
		await clock.advance(0);
		const firstLimited = first.granted.shift() as Permit;
		firstLimited.finish({ status: 429, retryAfterMs: 0 });
		// 8 let through since the start, over at least 250 ms, cut by 0.8 for the burst and by 0.95.
		expect(limiter.state().rate).toBeCloseTo((8 / 0.25) * 0.8 * 0.95, 5);
		const paced = acquireMany(limiter, 40);
		const answered: Permit[] = [];
		for (let step = 0; step < 100; step++) {
			await clock.advance(10);
			for (const permit of paced.granted.splice(0)) {
				permit.finish({ status: 200 });
				answered.push(permit);
			}
		}
		await clock.advance(200);
		const secondLimited = paced.granted.shift() as Permit;
		secondLimited.finish({ status: 429, retryAfterMs: 0 });
		const between = answered.filter((permit) => permit.sentAt > firstLimited.sentAt && permit.sentAt < secondLimited.sentAt).length;
		expect(between).toBeGreaterThan(10);
		expect(limiter.state().rate).toBeCloseTo(((between * 1000) / (secondLimited.sentAt - firstLimited.sentAt)) * 0.95, 5);
	});

	it('keeps no pace when the very first answer is a 429 (the limit was spent before), and halves the window', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 1);
		await clock.advance(0);
		granted[0].finish({ status: 429, retryAfterMs: 100 });
		expect(limiter.state()).toMatchObject({ rate: undefined, window: INITIAL_WINDOW / 2, pausedForMs: 100 });
	});

	it('gives up a waiting place when its execution is cancelled', async () => {
		const { clock, limiter } = setup();
		const cancel = new AbortController();
		acquireMany(limiter, 8);
		const { granted, failures } = acquireMany(limiter, 2, cancel.signal);
		await clock.advance(0);
		expect(limiter.state().waiting).toBe(2);
		cancel.abort(new Error('cancelled'));
		await clock.advance(0);
		expect(granted).toHaveLength(0);
		expect(failures).toHaveLength(2);
		expect(limiter.state().waiting).toBe(0);
	});

	it('frees the place of a request that ended without an answer, learning nothing', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 9);
		await clock.advance(0);
		granted[0].finish({});
		granted[0].finish({});
		await clock.advance(0);
		expect(granted).toHaveLength(9);
		expect(limiter.state()).toMatchObject({ inFlight: 8, window: INITIAL_WINDOW, rateLimited: 0 });
	});

	it('waits for the next request of the quota when x-ratelimit-remaining-requests is 0', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 9);
		await clock.advance(10);
		// 5 of 5 used, full again in 250 ms: one comes back every 50 ms, at 20 per second.
		granted[0].finish({ status: 200, quota: { limit: 5, remaining: 0, resetMs: 250 } });
		await clock.advance(49);
		expect(granted).toHaveLength(8);
		await clock.advance(1);
		expect(granted).toHaveLength(9);
		expect(limiter.state().rate).toBeCloseTo(20, 0);
	});
});

describe('token budget', () => {
	it('pauses every request until x-ratelimit-reset-tokens when x-ratelimit-remaining-tokens is 0', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 9);
		await clock.advance(10);
		granted[0].finish({ status: 200, quota: { tokensBackInMs: 300 } });
		await clock.advance(299);
		expect(granted).toHaveLength(8);
		await clock.advance(1);
		expect(granted).toHaveLength(9);
	});
});

describe('rate limit headers', () => {
	it('reads OpenAI-style durations and request quotas', () => {
		expect(durationMs('6m0s')).toBe(360_000);
		expect(durationMs('1.5s')).toBe(1500);
		expect(durationMs('20ms')).toBe(20);
		expect(durationMs('2')).toBe(2000);
		expect(durationMs('soon')).toBeUndefined();
		expect(readQuota({ 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' })).toEqual({
			limit: 60,
			remaining: 0,
			resetMs: 1000,
		});
		expect(readQuota({ 'content-type': 'application/json' })).toBeUndefined();
		expect(readQuota({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1.5s' })).toMatchObject({ tokensBackInMs: 1500 });
		expect(readQuota({ 'x-ratelimit-remaining-tokens': '900', 'x-ratelimit-reset-tokens': '1.5s' })).toBeUndefined();
	});
});

/**
 * A token bucket of `rate` per second and burst `burst` deciding at arrival (429 at once, with
 * the exact wait in retry-after-ms), answering accepted requests after `latencyMs`; `items`
 * requests each retried until accepted, `pool` at a time, through the limiter. Simulated time.
 */
async function simulate(options: {
	rate?: number;
	burst?: number;
	/** Most requests answered at once; one more gets a 429 without Retry-After. */
	maxConcurrent?: number;
	latencyMs: number;
	items: number;
	pool: number;
	headers?: boolean;
	limiter?: AdaptiveLimiter;
	clock?: ManualClock;
}) {
	const clock = options.clock ?? new ManualClock();
	const limiter = options.limiter ?? new AdaptiveLimiter(clock);
	const rate = options.rate;
	const burst = options.burst ?? 1;
	let tokens = burst;
	let updatedAt = 0;
	let rejected = 0;
	let accepted = 0;
	const acceptedAt: number[] = [];
	let answering = 0;
	const admit = (): { ok: boolean; waitMs?: number; quota?: { limit: number; remaining: number; resetMs: number } } => {
		if (options.maxConcurrent !== undefined && answering >= options.maxConcurrent) return { ok: false };
		if (rate === undefined) return { ok: true, waitMs: 0 };
		const now = clock.now();
		tokens = Math.min(burst, tokens + ((now - updatedAt) * rate) / 1000);
		updatedAt = now;
		const quota = () => (options.headers ? { limit: burst, remaining: Math.floor(tokens + 1e-9), resetMs: Math.ceil(((burst - tokens) * 1000) / rate) } : undefined);
		if (tokens + 1e-9 < 1) return { ok: false, waitMs: Math.max(1, Math.ceil(((1 - tokens) * 1000) / rate)), quota: quota() };
		tokens = Math.max(0, tokens - 1);
		return { ok: true, waitMs: 0, quota: quota() };
	};
	let next = 0;
	let done = 0;
	const runItem = async (): Promise<void> => {
		for (;;) {
			const permit = await limiter.acquire();
			const answer = admit();
			if (!answer.ok) {
				rejected++;
				permit.finish({ status: 429, retryAfterMs: answer.waitMs, quota: answer.quota });
				continue;
			}
			accepted++;
			answering++;
			acceptedAt.push(clock.now());
			await new Promise<void>((resolve) => clock.setTimer(options.latencyMs, resolve));
			answering--;
			permit.finish({ status: 200, quota: answer.quota });
			return;
		}
	};
	const worker = async () => {
		while (next < options.items) {
			next++;
			await runItem();
			done++;
		}
	};
	const all = Promise.all(Array.from({ length: options.pool }, worker));
	await clock.runAll();
	await all;
	const spanMs = clock.now();
	return { done, rejected, accepted, spanMs, throughput: (done * 1000) / spanMs, acceptedAt, limiter, clock };
}

describe('adaptive limiter against a token bucket (simulated time)', () => {
	it('reaches 0.9 x R with fewer than 0.05 429s per item: 1,000 items, R = 20, B = 5, 200 ms', async () => {
		const result = await simulate({ rate: 20, burst: 5, latencyMs: 200, items: 1000, pool: 64 });
		expect(result.done).toBe(1000);
		expect(result.throughput / 20).toBeGreaterThanOrEqual(0.9);
		expect(result.rejected / 1000).toBeLessThan(0.05);
	});

	it('does the same when the service sends x-ratelimit headers', async () => {
		const result = await simulate({ rate: 20, burst: 5, latencyMs: 200, items: 1000, pool: 64, headers: true });
		expect(result.done).toBe(1000);
		expect(result.throughput / 20).toBeGreaterThanOrEqual(0.9);
		expect(result.rejected / 1000).toBeLessThan(0.05);
	});

	it('shares one limit between two runs at once', async () => {
		const clock = new ManualClock();
		const limiter = new AdaptiveLimiter(clock);
		const [first, second] = await Promise.all([
			simulate({ rate: 20, burst: 5, latencyMs: 200, items: 500, pool: 64, clock, limiter }),
			simulate({ rate: 20, burst: 5, latencyMs: 200, items: 500, pool: 64, clock, limiter }),
		]);
		expect(first.done + second.done).toBe(1000);
		// Two simulated servers each with its own bucket would allow 40/s; one limiter paces both as one.
		expect(limiter.state().rateLimited).toBeLessThan(50);
	});

	it('against a cap of 4 requests at once (429 without Retry-After): every item done, near the cap, few 429s', async () => {
		const result = await simulate({ maxConcurrent: 4, latencyMs: 200, items: 400, pool: 64 });
		expect(result.done).toBe(400);
		// The cap allows 4 / 0.2 s = 20 per second.
		expect(result.throughput / 20).toBeGreaterThanOrEqual(0.8);
		expect(result.rejected / 400).toBeLessThan(0.05);
	});

	it('without a rate limit, grows to finish about as fast as the best fixed window', async () => {
		const result = await simulate({ latencyMs: 100, items: 200, pool: 64 });
		expect(result.done).toBe(200);
		// Concurrency 32: ceil(200 / 32) = 7 rounds of 100 ms.
		expect(result.spanMs).toBeLessThanOrEqual(700 * 1.1);
	});
});
