/**
 * The adaptive limiter on a clock moved by hand: no network, no real time. The last tests run it
 * against a model of a token-bucket rate limit (the fake server's, test/support/fake-rate-limit.ts)
 * in simulated time and check what the issue asks of Auto: near the limit's rate, few 429s.
 */
import {
	AdaptiveLimiter,
	INITIAL_WINDOW,
	LEARNED_LIMIT_MEMORY_MS,
	MAX_WINDOW,
	WaitRefused,
	durationMs,
	readQuota,
	type Permit,
} from '../../nodes/shared/transport/limiter';
import { BACKOFF_FIRST_MS, LONGEST_WAIT_MS } from '../../nodes/shared/transport/retryPolicy';
import { ManualClock } from '../support/manual-clock';

/** `random` 0: every backoff is its full step, so the pauses can be read exactly. */
function setup(random = () => 0) {
	const clock = new ManualClock();
	return { clock, limiter: new AdaptiveLimiter(clock, random) };
}

/** Starts `count` acquisitions and collects the permits as they are granted. */
function acquireMany(limiter: AdaptiveLimiter, count: number, signal?: AbortSignal, deadline?: number) {
	const granted: Permit[] = [];
	const failures: unknown[] = [];
	for (let index = 0; index < count; index++) {
		limiter.acquire(signal, deadline).then((permit) => granted.push(permit), (error: unknown) => failures.push(error));
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

	it('grants at once without queueing while the window has room, and not past it, nor in a pause, nor ahead of a waiter', async () => {
		const { clock, limiter } = setup();
		const now = Array.from({ length: INITIAL_WINDOW }, () => limiter.tryAcquire());
		expect(now.every((permit) => permit !== undefined)).toBe(true);
		expect(limiter.tryAcquire()).toBeUndefined();
		const { granted } = acquireMany(limiter, 1);
		await clock.advance(0);
		expect(limiter.state().waiting).toBe(1);
		now[0]?.finish({});
		// The place freed goes to the one that waited, not to a request that comes after it.
		expect(limiter.tryAcquire()).toBeUndefined();
		await clock.advance(0);
		expect(granted).toHaveLength(1);
		now[1]?.finish({ status: 429, retryAfterMs: 1_000 });
		expect(limiter.tryAcquire()).toBeUndefined();
		const cancelled = new AbortController();
		cancelled.abort();
		await clock.advance(1_000);
		expect(limiter.tryAcquire(cancelled.signal)).toBeUndefined();
		expect(limiter.tryAcquire()).toBeDefined();
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

	it('after a 429 without Retry-After, waits the first backoff step and takes it for a limit on requests at once', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 12);
		await clock.advance(0);
		// 8 were out, one came back 429: the window is cut to 0.9 x 8 and no pace is set.
		granted[0].finish({ status: 429 });
		expect(limiter.state()).toMatchObject({ window: 7.2, rate: undefined });
		await clock.advance(BACKOFF_FIRST_MS - 1);
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

interface ServiceLimits {
	rate?: number;
	burst?: number;
	/** Most requests answered at once; one more gets a 429 without Retry-After. */
	maxConcurrent?: number;
	headers?: boolean;
}

type Admission = { ok: boolean; waitMs?: number; quota?: { limit: number; remaining: number; resetMs: number } };

/**
 * A service's limits on a simulated clock: a token bucket of `rate` per second and burst `burst`
 * deciding at arrival (429 at once, with the exact wait in retry-after-ms), and a cap on requests
 * answered at once. One of these shared by two runs is one limit for both. `limits` may be changed
 * while it runs (a limit raised or lifted).
 */
function simulatedService(clock: ManualClock, limits: ServiceLimits) {
	let tokens = limits.burst ?? 1;
	let updatedAt = 0;
	const service = {
		limits,
		answering: 0,
		rejected: 0,
		admit(): Admission {
			const { rate, maxConcurrent } = service.limits;
			const burst = service.limits.burst ?? 1;
			if (maxConcurrent !== undefined && service.answering >= maxConcurrent) return { ok: false };
			if (rate === undefined) return { ok: true, waitMs: 0 };
			const now = clock.now();
			tokens = Math.min(burst, tokens + ((now - updatedAt) * rate) / 1000);
			updatedAt = now;
			const quota = () =>
				service.limits.headers ? { limit: burst, remaining: Math.floor(tokens + 1e-9), resetMs: Math.ceil(((burst - tokens) * 1000) / rate) } : undefined;
			if (tokens + 1e-9 < 1) return { ok: false, waitMs: Math.max(1, Math.ceil(((1 - tokens) * 1000) / rate)), quota: quota() };
			tokens = Math.max(0, tokens - 1);
			return { ok: true, waitMs: 0, quota: quota() };
		},
	};
	return service;
}

/**
 * `items` requests each retried until accepted, `pool` at a time, through the limiter, against
 * `service` (its own unless given), answered after `latencyMs`. Simulated time.
 */
async function simulate(
	options: ServiceLimits & {
		latencyMs: number;
		items: number;
		pool: number;
		limiter?: AdaptiveLimiter;
		clock?: ManualClock;
		service?: ReturnType<typeof simulatedService>;
		/** Runs until every item is done, or until this much simulated time has passed. */
		untilMs?: number;
	},
) {
	const clock = options.clock ?? new ManualClock();
	const limiter = options.limiter ?? new AdaptiveLimiter(clock, () => 0.5);
	const service = options.service ?? simulatedService(clock, options);
	let rejected = 0;
	let accepted = 0;
	const acceptedAt: number[] = [];
	const runItem = async (): Promise<void> => {
		for (;;) {
			const permit = await limiter.acquire();
			const answer = service.admit();
			if (!answer.ok) {
				rejected++;
				service.rejected++;
				permit.finish({ status: 429, retryAfterMs: answer.waitMs, quota: answer.quota });
				continue;
			}
			accepted++;
			service.answering++;
			acceptedAt.push(clock.now());
			await new Promise<void>((resolve) => clock.setTimer(options.latencyMs, resolve));
			service.answering--;
			permit.finish({ status: 200, quota: answer.quota });
			return;
		}
	};
	let next = 0;
	let done = 0;
	const worker = async () => {
		while (next < options.items) {
			next++;
			await runItem();
			done++;
		}
	};
	const all = Promise.all(Array.from({ length: options.pool }, worker));
	await clock.runAll(options.untilMs);
	if (options.untilMs === undefined) await all;
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

	it('paces two runs on one limit as one: together near R, few 429s', async () => {
		const clock = new ManualClock();
		const limiter = new AdaptiveLimiter(clock, () => 0.5);
		// One bucket for both runs, as one API key on one service has.
		const service = simulatedService(clock, { rate: 20, burst: 5 });
		const [first, second] = await Promise.all([
			simulate({ latencyMs: 200, items: 500, pool: 64, clock, limiter, service }),
			simulate({ latencyMs: 200, items: 500, pool: 64, clock, limiter, service }),
		]);
		expect(first.done + second.done).toBe(1000);
		const throughput = (1000 * 1000) / clock.now();
		expect(throughput / 20).toBeGreaterThanOrEqual(0.9);
		expect(service.rejected / 1000).toBeLessThan(0.05);
		expect(limiter.state().rateLimited).toBe(service.rejected);
	});

	it('and two limiters on that one limit (two n8n workers) meet more 429s: sharing one is what spares them', async () => {
		const twoRuns = async (oneLimiter: boolean) => {
			const clock = new ManualClock();
			const service = simulatedService(clock, { rate: 20, burst: 5 });
			const first = new AdaptiveLimiter(clock, () => 0.5);
			const second = oneLimiter ? first : new AdaptiveLimiter(clock, () => 0.5);
			const runs = await Promise.all([
				simulate({ latencyMs: 200, items: 500, pool: 64, clock, service, limiter: first }),
				simulate({ latencyMs: 200, items: 500, pool: 64, clock, service, limiter: second }),
			]);
			expect(runs[0].done + runs[1].done).toBe(1000);
			return service.rejected;
		};
		expect(await twoRuns(false)).toBeGreaterThan(await twoRuns(true));
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

describe('every wait bounded and told', () => {
	const HOUR = 3_600_000;

	it('a Retry-After of an hour refuses every request at once, waiting and new, saying until when; the first one after it goes out', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 8);
		const waiting = acquireMany(limiter, 3);
		await clock.advance(0);
		const failure = new Error('Rate limit reached for requests');
		granted[0].finish({ status: 429, retryAfterMs: HOUR, failure });
		await clock.advance(0);
		// The three that waited for a place are told now, not in an hour.
		expect(waiting.failures).toHaveLength(3);
		const refusal = waiting.failures[0] as WaitRefused;
		expect(refusal).toBeInstanceOf(WaitRefused);
		expect(refusal).toMatchObject({ reason: 'pause', waitMs: HOUR, limitMs: LONGEST_WAIT_MS, cause: { kind: 'retryAfter', failure } });
		expect(refusal.untilWallMs).toBe(clock.epochAtZero + HOUR);
		// So is a request that comes later, with no deadline of its own.
		await clock.advance(20 * 60_000);
		const later = acquireMany(limiter, 1);
		await clock.advance(0);
		expect(later.failures[0]).toMatchObject({ reason: 'pause', waitMs: 40 * 60_000 });
		expect(limiter.state()).toMatchObject({ refusing: true, waiting: 0 });
		// Nothing waits, so no timer is armed for the hour.
		expect(clock.pendingTimers).toBe(0);
		await clock.advance(40 * 60_000);
		const after = acquireMany(limiter, 1);
		await clock.advance(0);
		expect(after.granted).toHaveLength(1);
	});

	it('a pause longer than what is left of a request\'s Timeout refuses that request at once, and not one that can wait it out', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 8);
		const short = acquireMany(limiter, 1, undefined, 1_000);
		const long = acquireMany(limiter, 1, undefined, 100_000);
		await clock.advance(0);
		granted[0].finish({ status: 429, retryAfterMs: 5_000 });
		await clock.advance(0);
		expect(short.failures[0]).toMatchObject({ reason: 'pause', waitMs: 5_000, limitMs: 1_000 });
		expect(long.failures).toHaveLength(0);
		await clock.advance(5_000);
		expect(long.granted).toHaveLength(1);
	});

	it('a request that finds no place in the window before its deadline is refused then', async () => {
		const { clock, limiter } = setup();
		acquireMany(limiter, 8);
		const late = acquireMany(limiter, 1, undefined, 2_000);
		await clock.advance(1_999);
		expect(late.failures).toHaveLength(0);
		await clock.advance(1);
		expect(late.failures[0]).toMatchObject({ reason: 'deadline', waitMs: 2_000 });
		expect(limiter.state().waiting).toBe(0);
	});

	it('a spent token budget for 10 minutes refuses every request at once, naming the budget', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 9);
		await clock.advance(10);
		granted[0].finish({ status: 200, quota: { tokensBackInMs: 600_000 } });
		await clock.advance(0);
		expect(limiter.state().refusing).toBe(true);
		const next = acquireMany(limiter, 1);
		await clock.advance(0);
		expect(next.failures[0]).toMatchObject({ reason: 'pause', waitMs: 600_000, cause: { kind: 'tokenBudget' } });
	});

	it('a pause of 30 days overflows nothing: refused at once, no timer armed', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 1);
		await clock.advance(0);
		granted[0].finish({ status: 429, retryAfterMs: 30 * 24 * HOUR });
		const next = acquireMany(limiter, 5);
		await clock.advance(0);
		expect(next.failures).toHaveLength(5);
		expect(clock.pendingTimers).toBe(0);
	});
});

describe('repeated refusals back off', () => {
	/** Sends one request, answers it 429 with `retryAfterMs`, and returns the pause it set. */
	async function refuse(clock: ManualClock, limiter: AdaptiveLimiter, retryAfterMs?: number): Promise<number> {
		const { granted } = acquireMany(limiter, 1);
		await clock.advance(0);
		granted[0].finish({ status: 429, retryAfterMs });
		return limiter.state().pausedForMs;
	}

	it('429s in a row with no usable Retry-After (missing or 0) pause for twice as long each time, up to the longest wait, then refuse at once', async () => {
		const { clock, limiter } = setup();
		const pauses: number[] = [];
		for (let step = 0; step < 9; step++) {
			pauses.push(await refuse(clock, limiter, step % 2 === 0 ? undefined : 0));
			if (limiter.state().refusing) break;
			await clock.advance(pauses[pauses.length - 1]);
		}
		expect(pauses).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, LONGEST_WAIT_MS]);
		// A minute and more of nothing but refusals: whoever comes now is told at once.
		expect(limiter.state()).toMatchObject({ refusing: true, refusalsInARow: 9 });
		const next = acquireMany(limiter, 1);
		await clock.advance(0);
		expect(next.failures[0]).toMatchObject({ reason: 'pause', cause: { kind: 'refusals', refusals: 9 } });
	});

	it('jitters each pause down by up to half', async () => {
		const { clock, limiter } = setup(() => 0.999);
		expect(await refuse(clock, limiter)).toBeCloseTo(BACKOFF_FIRST_MS / 2, 0);
	});

	it('429s of requests sent together count as one refusal; an answer sent after the pause ends the run', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 8);
		await clock.advance(0);
		for (const permit of granted.slice(0, 4)) permit.finish({ status: 429 });
		expect(limiter.state()).toMatchObject({ refusalsInARow: 1, pausedForMs: BACKOFF_FIRST_MS });
		await clock.advance(BACKOFF_FIRST_MS);
		const next = acquireMany(limiter, 1);
		await clock.advance(0);
		next.granted[0].finish({ status: 200 });
		expect(limiter.state().refusalsInARow).toBe(0);
	});
});

describe('the window and pace recover', () => {
	it('cuts once per episode: 8 answers 429 together cut the pace once, not 8 times', async () => {
		const { clock, limiter } = setup();
		const { granted } = acquireMany(limiter, 8);
		await clock.advance(0);
		granted[0].finish({ status: 429, retryAfterMs: 100 });
		const paceAfterOne = limiter.state().rate;
		expect(paceAfterOne).toBeDefined();
		for (const permit of granted.slice(1)) permit.finish({ status: 429, retryAfterMs: 100 });
		expect(limiter.state().rate).toBe(paceAfterOne);
	});

	it('a ceiling learned from one 429 without Retry-After is forgotten: at 5 s latency the window is back at its maximum within 2 minutes', async () => {
		const clock = new ManualClock();
		const limiter = new AdaptiveLimiter(clock, () => 0.5);
		const service = simulatedService(clock, { maxConcurrent: 14 });
		const running = simulate({ latencyMs: 5_000, items: 100_000, pool: 64, clock, limiter, service, untilMs: 10_000 });
		await running;
		expect(service.rejected).toBeGreaterThan(0);
		// The cap is gone (the service scaled up); no 429 comes any more.
		service.limits.maxConcurrent = undefined;
		await clock.runAll(LEARNED_LIMIT_MEMORY_MS + 90_000);
		expect(limiter.state().window).toBe(MAX_WINDOW);
	});

	it('a pace learned in a burst of 429s is forgotten: after the limit is lifted, throughput is back to the unlimited figure within 60 s', async () => {
		const clock = new ManualClock();
		const limiter = new AdaptiveLimiter(clock, () => 0.5);
		const service = simulatedService(clock, { rate: 20, burst: 5 });
		const items = 1_000_000;
		const done: number[] = [];
		const run = simulate({ latencyMs: 200, items, pool: 64, clock, limiter, service, untilMs: 15_000 });
		await run;
		expect(limiter.state().rate).toBeDefined();
		service.limits.rate = undefined;
		const liftedAt = clock.now();
		// Count answers per 5 s window after the lift.
		const { acceptedAt } = await run;
		const before = acceptedAt.length;
		await clock.runAll(75_000);
		for (const at of acceptedAt.slice(before)) {
			const index = Math.floor((at - liftedAt) / 5_000);
			done[index] = (done[index] ?? 0) + 1;
		}
		// Unlimited: 64 in flight at 200 ms is 320 per second, 1,600 per 5 s window.
		const unlimitedPerWindow = (MAX_WINDOW * 5_000) / 200;
		const firstNear = done.findIndex((count) => count >= 0.9 * unlimitedPerWindow);
		expect(firstNear).toBeGreaterThanOrEqual(0);
		expect((firstNear + 1) * 5_000).toBeLessThanOrEqual(60_000);
	});
});
