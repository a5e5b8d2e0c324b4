/**
 * The adaptive limiter behind Concurrency "Auto": one per credential and origin (limiters.ts),
 * shared by every item, every execution and the Chat Model on them. Pure logic on an injected
 * clock (../clock.ts), so it is tested without a network or real time
 * (test/transport/limiter.test.ts).
 *
 * Two controls, because a service limits in two ways:
 * - a window of requests in flight, for how much the service can answer at once. It starts at
 *   INITIAL_WINDOW and grows by one per answer (doubling per round trip) until the first 429, then
 *   by 1/window per answer; it grows only while it is the bound (all of it in use) and while the
 *   latency holds (the recent average no more than LATENCY_RISE times the long-run one). A 429
 *   that names no wait is taken for a limit on requests at once: the window is cut to 0.9 x what
 *   was out, and probes past it only slowly (SLOW_PROBE_ROUNDS).
 * - a pace, for a limit of requests per second. Unknown (no pacing) until the first 429; then
 *   learned from what the service let through between two 429s (a token bucket empty at both
 *   ends accepted exactly its rate in between), or from `x-ratelimit-*` headers, and set a little
 *   below it. From there it probes upward (PROBE_PER_SECOND), so one 429 every few seconds is what
 *   finding the edge costs, instead of one per request past it as with a window alone.
 * What a 429 taught (pace, window ceiling) is forgotten after LEARNED_LIMIT_MEMORY_MS without
 * another: a burst, or a limit that was raised, costs a while at most, not the rest of the process.
 *
 * A 429 pauses every request of this limiter, once (429s that arrive together extend the pause
 * to the latest of them, they do not add up): for its Retry-After, or, without a usable one, for
 * a backoff that doubles with each refusal in a row (retryPolicy.ts). Every wait is bounded: a
 * waiter whose pause would outlast its own limit (LONGEST_WAIT_MS, or what is left of its Timeout)
 * is refused at once with a WaitRefused that says why and until when; so is every waiter while
 * the service asks for more than LONGEST_WAIT_MS, or has refused for so long that the backoff has
 * reached it. The first request after the pause goes out normally.
 */

import { clock as realClock, type Clock } from '../clock';
import { backoffCeilingMs, backoffMs, LONGEST_WAIT_MS, usableWait, waitLimitMs } from './retryPolicy';

/** Requests in flight at first: what a single item runner sent at once before Auto (Concurrency 5-8) did without trouble. */
export const INITIAL_WINDOW = 8;
/** The most in flight: one API key never opens hundreds of connections; 64 keeps a 200 ms service answering 320 requests a second. */
export const MAX_WINDOW = 64;
/** The window never closes: one request at a time still learns. */
const MIN_WINDOW = 1;
/** After a 429 the pace is set this far below what the service let through. */
const RATE_CUT = 0.95;
/** The first 429 comes after the bucket's burst was spent on top of its rate: estimate lower. */
const FIRST_RATE_CUT = 0.8;
/** How fast the pace probes upward after a cut: 2 % of the pace per second. */
const PROBE_PER_SECOND = 0.02;
/** Shortest span between two 429s that gives a rate estimate to trust. */
const MIN_ESTIMATE_SPAN_MS = 250;
/** How far back the estimate looks: long enough to be exact to a few percent, short enough to follow a changed limit. */
const ESTIMATE_SPAN_MS = 10_000;
/** The slowest pace: one request every 10 s still finds out when a limit has come back. */
const MIN_RATE = 0.1;
/** Fewer accepted requests than this between two 429s say too little about the rate. */
const MIN_ESTIMATE_REQUESTS = 4;
/** After a 429 without Retry-After the window is cut to this share of the requests that were out. */
const CONCURRENCY_CUT = 0.9;
/** Near a window that met a 429, one more place per this many round trips: a 429 per minute or so at 1.5 s latency, not one per round. */
const SLOW_PROBE_ROUNDS = 40;
/** Recent latency this many times the baseline means the service is queueing: the window stops growing. */
const LATENCY_RISE = 1.5;
/** Weight of each answer in the recent latency: the last few answers, so a rise shows within a round trip. */
const SHORT_EWMA = 0.3;
/** The latency baseline follows the latency over about this long. */
const LONG_LATENCY_MS = 30_000;
/**
 * How long a pace or window ceiling learned from a 429 is kept without another 429. Under a steady
 * limit the probing pace meets the edge every few seconds and renews it; once the limit is gone,
 * Auto is back to its unlimited speed within about this long (benchmark figure 7b).
 */
export const LEARNED_LIMIT_MEMORY_MS = 30_000;

/** What came back for one permit. */
export interface Outcome {
	/** The HTTP status; undefined when no answer came (connection lost, cancelled). */
	status?: number;
	/** The wait the service asked for, in ms (Retry-After or retry-after-ms). */
	retryAfterMs?: number;
	/** `x-ratelimit-*` headers, read (see readQuota). */
	quota?: Quota;
	/** When the head arrived, on the limiter's clock, if the request held its place longer (a stream read to its end). */
	answeredAt?: number;
	/** The service's error, for a 429: what a request refused during the pause it set is told. */
	failure?: unknown;
}

/** What OpenAI-style headers say of the request limit. */
export interface Quota {
	limit?: number;
	remaining?: number;
	/** Until the limit is back to its full size, in ms. */
	resetMs?: number;
	/** `x-ratelimit-remaining-tokens` is 0: no request fits until `x-ratelimit-reset-tokens`, in ms. */
	tokensBackInMs?: number;
}

export interface Permit {
	/** When the request was let go, on the limiter's clock. */
	readonly sentAt: number;
	/** The answer's head arrived (or the request ended without one): frees the place in the window. */
	finish(outcome: Outcome): void;
}

/** Why every request of a limiter is held: what the service said, for the error of one that cannot wait. */
export interface PauseCause {
	/** A Retry-After; the token or request budget of `x-ratelimit-*` spent; rate-limit answers in a row with no usable wait. */
	kind: 'retryAfter' | 'tokenBudget' | 'requestBudget' | 'refusals';
	/** The service's error that set the pause (a 429's), when there was one. */
	failure?: unknown;
	/** Rate-limit answers in a row, for `refusals`. */
	refusals?: number;
}

/**
 * A request the limiter will not hold: the pause outlasts the longest it may wait (`pause`), or
 * its Timeout ran out while it waited for a place (`deadline`). retry.ts turns it into the error
 * the user sees.
 */
export class WaitRefused extends Error {
	constructor(
		readonly reason: 'pause' | 'deadline',
		/** How long it would still have had to wait (for `deadline`: how long it waited). */
		readonly waitMs: number,
		/** The longest it could wait. */
		readonly limitMs: number,
		/** When the pause ends, in ms since the epoch (for `pause`). */
		readonly untilWallMs?: number,
		readonly cause?: PauseCause,
	) {
		super(reason === 'pause' ? 'The service asked to wait longer than this request may' : 'No place for the request before its Timeout');
		this.name = 'WaitRefused';
	}
}

interface Waiter {
	grant(permit: Permit): void;
	reject(error: unknown): void;
	/** Clock time past which the request may not wait (its Timeout). */
	deadline: number;
	signal?: AbortSignal;
	onAbort?: () => void;
	deadlineTimer?: { cancel(): void };
	enqueuedAt: number;
}

/** What the limiter is doing, for tests, the benchmark and debugging. */
export interface LimiterState {
	window: number;
	inFlight: number;
	waiting: number;
	/** Requests per second it paces at; undefined before it has met a limit. */
	rate?: number;
	pausedForMs: number;
	/** Whether every request is refused at once until the pause ends. */
	refusing: boolean;
	rateLimited: number;
	/** Rate-limit answers in a row with no usable wait (each pause counted once). */
	refusalsInARow: number;
}

export class AdaptiveLimiter {
	private window = INITIAL_WINDOW;
	private inFlight = 0;
	private readonly queue: Waiter[] = [];
	private timer: { cancel(): void } | undefined;
	private timerAt = Number.POSITIVE_INFINITY;
	private pausedUntil = Number.NEGATIVE_INFINITY;
	/** The pause cannot be waited out by anyone: the service asked for too long, or kept refusing. */
	private pauseRefusesAll = false;
	private pauseCause: PauseCause | undefined;
	private nextStartAt = Number.NEGATIVE_INFINITY;
	/** The pace at the last cut and when it was set; it grows from there (currentRate). */
	private rateBase: number | undefined;
	private rateSetAt = 0;
	private lastCutAt: number | undefined;
	/** Send times of the requests of the last ESTIMATE_SPAN_MS, and of those answered 429 (in order). */
	private readonly sends: number[] = [];
	private readonly rejections: number[] = [];
	private firstSendAt: number | undefined;
	private shortLatency: number | undefined;
	private longLatency: number | undefined;
	private latencyUpdatedAt = 0;
	private rateLimitedCount = 0;
	private lastRateLimitAt: number | undefined;
	/** 429s with no usable wait in a row, one per pause; and when the last one set its pause. */
	private refusals = 0;
	private refusalPausedAt = Number.NEGATIVE_INFINITY;
	/** Requests out when a 429 without Retry-After came: the window probes slowly near it. */
	private windowCeiling: number | undefined;
	lastUsedAt: number;

	constructor(
		readonly clock: Clock = realClock,
		private readonly random: () => number = Math.random,
	) {
		this.lastUsedAt = clock.now();
	}

	/**
	 * Waits until a request may go: the pause is over, the pace allows it and the window has room.
	 * Rejects with a WaitRefused at once when the pause outlasts what it may wait, and when
	 * `deadline` (on the limiter's clock) passes while it waits.
	 */
	acquire(signal?: AbortSignal, deadline = Number.POSITIVE_INFINITY): Promise<Permit> {
		const now = this.clock.now();
		this.lastUsedAt = now;
		return new Promise<Permit>((resolve, reject) => {
			if (signal?.aborted) return reject(abortError(signal));
			const waiter: Waiter = { grant: resolve, reject, signal, deadline, enqueuedAt: now };
			const refusal = this.pauseRefusal(waiter, now);
			if (refusal) return reject(refusal);
			if (signal) {
				waiter.onAbort = () => this.drop(waiter, abortError(signal));
				signal.addEventListener('abort', waiter.onAbort, { once: true });
			}
			if (Number.isFinite(deadline)) {
				waiter.deadlineTimer = this.clock.setTimer(deadline - now, () => {
					const waited = this.clock.now() - waiter.enqueuedAt;
					this.drop(waiter, new WaitRefused('deadline', waited, waited));
				});
			}
			this.queue.push(waiter);
			this.pump();
		});
	}

	/**
	 * A permit at once when nothing waits and the pause, pace and window allow it; undefined
	 * otherwise (then `acquire`). Most requests of an unhindered run take this path, which spares
	 * each a promise, a waiter and an abort listener (about 7 MiB of garbage per 10,000 items).
	 */
	tryAcquire(signal?: AbortSignal): Permit | undefined {
		const now = this.clock.now();
		if (signal?.aborted || this.queue.length > 0 || this.pausedUntil > now) return undefined;
		this.forgetStaleLimits(now);
		if (this.nextStartAt > now || this.inFlight >= Math.floor(this.window)) return undefined;
		this.lastUsedAt = now;
		return this.start(now);
	}

	state(): LimiterState {
		const now = this.clock.now();
		return {
			window: this.window,
			inFlight: this.inFlight,
			waiting: this.queue.length,
			rate: this.rateBase === undefined ? undefined : this.currentRate(now),
			pausedForMs: Math.max(0, this.pausedUntil - now),
			refusing: this.pauseRefusesAll && this.pausedUntil > now,
			rateLimited: this.rateLimitedCount,
			refusalsInARow: this.refusals,
		};
	}

	/** Whether nothing is in flight or waiting: the registry may drop it after a quiet spell. */
	get idle(): boolean {
		return this.inFlight === 0 && this.queue.length === 0;
	}

	/** Lets waiting requests go, in order, as far as pause, pace and window allow. */
	private pump(): void {
		const now = this.clock.now();
		if (this.pausedUntil > now) {
			// Whoever cannot wait this pause out is told so now, not when it ends.
			for (const waiter of [...this.queue]) {
				const refusal = this.pauseRefusal(waiter, now);
				if (refusal) this.drop(waiter, refusal);
			}
			if (this.queue.length > 0) this.wakeAt(this.pausedUntil);
			return;
		}
		this.forgetStaleLimits(now);
		while (this.queue.length > 0 && this.inFlight < Math.floor(this.window)) {
			const head = this.queue[0];
			if (this.nextStartAt > now) {
				// The pace would send it after its deadline: its deadline timer tells it.
				this.wakeAt(this.nextStartAt);
				return;
			}
			this.queue.shift();
			this.release(head);
			head.grant(this.start(now));
		}
	}

	/** The refusal for a waiter that cannot wait out the current pause, if it cannot. */
	private pauseRefusal(waiter: Waiter, now: number): WaitRefused | undefined {
		const waitMs = this.pausedUntil - now;
		if (waitMs <= 0) return undefined;
		const limitMs = waitLimitMs(waiter.deadline - now);
		if (!this.pauseRefusesAll && waitMs <= limitMs) return undefined;
		return new WaitRefused('pause', waitMs, limitMs, this.clock.wallNow() + waitMs, this.pauseCause);
	}

	private drop(waiter: Waiter, error: unknown): void {
		const index = this.queue.indexOf(waiter);
		if (index === -1) return;
		this.queue.splice(index, 1);
		this.release(waiter);
		waiter.reject(error);
	}

	private release(waiter: Waiter): void {
		if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
		waiter.deadlineTimer?.cancel();
	}

	private start(now: number): Permit {
		this.inFlight++;
		this.firstSendAt ??= now;
		this.sends.push(now);
		forget(this.sends, now - ESTIMATE_SPAN_MS);
		if (this.rateBase !== undefined) this.nextStartAt = Math.max(now, this.nextStartAt) + 1000 / this.currentRate(now);
		return new WindowPermit(this, now);
	}

	/** A permit's request ended (WindowPermit calls it, once per permit). */
	permitFinished(sentAt: number, outcome: Outcome): void {
		const now = this.clock.now();
		this.lastUsedAt = now;
		const inUse = this.inFlight >= Math.floor(this.window);
		this.inFlight--;
		if (outcome.status === 429) this.rateLimited(sentAt, now, outcome);
		// A server error's latency says nothing about how fast the service answers.
		else if (outcome.status !== undefined && outcome.status < 500) this.answered(sentAt, outcome.answeredAt ?? now, outcome, inUse);
		this.pump();
	}

	private answered(sentAt: number, now: number, outcome: Outcome, windowWasFull: boolean): void {
		// An answer to a request sent after the last refusal ends the run of refusals.
		if (sentAt > this.refusalPausedAt) this.refusals = 0;
		const latency = Math.max(0, now - sentAt);
		this.shortLatency = this.shortLatency === undefined ? latency : this.shortLatency + SHORT_EWMA * (latency - this.shortLatency);
		// The baseline moves by time, not by answer: a window of 64 answers a round would drag it
		// along with a rise within one round trip.
		const weight = 1 - Math.exp(-(now - this.latencyUpdatedAt) / LONG_LATENCY_MS);
		this.longLatency = this.longLatency === undefined ? latency : this.longLatency + weight * (latency - this.longLatency);
		this.latencyUpdatedAt = now;
		if (outcome.quota) this.honourQuota(now, outcome.quota, outcome.failure);
		const latencyHolds = this.shortLatency <= LATENCY_RISE * this.longLatency;
		// A window that is not all in use says nothing about whether a bigger one would be answered.
		if (!windowWasFull || !latencyHolds) return;
		let step = this.lastCutAt === undefined ? 1 : 1 / this.window;
		// Within one request of the number that was turned away, probe slowly: one more per SLOW_PROBE_ROUNDS round trips.
		if (this.windowCeiling !== undefined && this.window >= this.windowCeiling - 1) step /= SLOW_PROBE_ROUNDS;
		this.window = Math.min(MAX_WINDOW, this.window + step);
	}

	/**
	 * `x-ratelimit-remaining-requests` and `-reset-requests`: with nothing left, wait for the next
	 * request's worth of the limit to come back; and what the headers say of the rate bounds the pace.
	 * `-remaining-tokens` 0: wait for `-reset-tokens`.
	 */
	private honourQuota(now: number, quota: Quota, failure: unknown): void {
		if (quota.tokensBackInMs !== undefined) this.pauseFor(now, quota.tokensBackInMs, { kind: 'tokenBudget', failure });
		const { limit, remaining, resetMs } = quota;
		if (remaining === undefined || resetMs === undefined || resetMs <= 0) return;
		const used = limit !== undefined ? limit - remaining : undefined;
		if (used !== undefined && used > 0) {
			// The limit comes back at (limit - remaining) per reset span: that is its rate.
			const rate = (used * 1000) / resetMs;
			if (this.rateBase === undefined || rate < this.currentRate(now)) this.setRate(now, rate);
		}
		if (remaining <= 0) this.pauseFor(now, resetMs / Math.max(1, used ?? 1), { kind: 'requestBudget', failure });
	}

	private rateLimited(sentAt: number, now: number, outcome: Outcome): void {
		this.rateLimitedCount++;
		this.lastRateLimitAt = now;
		this.rejections.push(sentAt);
		forget(this.rejections, now - ESTIMATE_SPAN_MS);
		const asked = usableWait(outcome.retryAfterMs);
		if (asked !== undefined) {
			this.pauseFor(now, asked, { kind: 'retryAfter', failure: outcome.failure });
		} else {
			// One step per pause: the 429s of requests sent before it began are the same refusal.
			if (sentAt > this.refusalPausedAt) this.refusals++;
			this.refusalPausedAt = now;
			const step = this.refusals - 1;
			// Refused for so long that the backoff reached its longest: nobody waits for more of the same.
			const refuseAll = backoffCeilingMs(step) >= LONGEST_WAIT_MS;
			this.pauseFor(now, backoffMs(step, this.random()), { kind: 'refusals', failure: outcome.failure, refusals: this.refusals }, refuseAll);
		}
		if (outcome.quota) this.honourQuota(now, outcome.quota, outcome.failure);
		// Requests sent before the last cut were sent at the old pace: one cut per episode.
		if (this.lastCutAt !== undefined && sentAt <= this.lastCutAt) return;
		this.lastCutAt = now;
		if (outcome.retryAfterMs === undefined) {
			// A limit that names no wait is taken for one on requests at once (a time-based limit
			// says when to come back): the window shrinks to a little under what was out.
			this.windowCeiling = this.inFlight + 1;
			this.window = Math.max(MIN_WINDOW, Math.min(this.window, this.windowCeiling * CONCURRENCY_CUT));
			return;
		}
		const estimate = this.estimateRate(sentAt);
		if (estimate !== undefined) this.setRate(now, Math.max(MIN_RATE, estimate * RATE_CUT));
		else if (this.rateBase !== undefined) this.setRate(now, Math.max(MIN_RATE, this.currentRate(now) * RATE_CUT));
		// Too little seen to guess a rate (the limit was spent before we came): the pause, and a smaller window.
		else this.window = Math.max(MIN_WINDOW, this.window / 2);
	}

	/** Holds every request until `now + ms`, unless a pause that ends later is on already. */
	private pauseFor(now: number, ms: number, cause: PauseCause, refuseAll = false): void {
		const until = now + ms;
		if (until <= this.pausedUntil) return;
		this.pausedUntil = until;
		this.pauseCause = cause;
		this.pauseRefusesAll = refuseAll || ms > LONGEST_WAIT_MS;
	}

	/** A pace and window ceiling not confirmed by a 429 for LEARNED_LIMIT_MEMORY_MS are dropped: back to slow start. */
	private forgetStaleLimits(now: number): void {
		if (this.lastRateLimitAt === undefined || now - this.lastRateLimitAt < LEARNED_LIMIT_MEMORY_MS) return;
		this.lastRateLimitAt = undefined;
		this.rateBase = undefined;
		this.nextStartAt = Number.NEGATIVE_INFINITY;
		this.windowCeiling = undefined;
		this.lastCutAt = undefined;
	}

	/**
	 * What the service lets through per second. A token bucket is empty at every 429, so between
	 * two 429s it let through exactly its rate times the time between them (to one token): the
	 * requests sent in between that were not turned away, over the longest span the last
	 * ESTIMATE_SPAN_MS hold. Without such a span yet, the first 429 counts what was sent since the
	 * start, burst included (so cut further); undefined when that is too little to go by.
	 */
	private estimateRate(sentAt: number): number | undefined {
		const between = (times: number[], from: number) => times.filter((at) => at > from && at < sentAt).length;
		const earliest = this.rejections.find((at) => at < sentAt);
		if (earliest !== undefined && sentAt - earliest >= MIN_ESTIMATE_SPAN_MS) {
			const accepted = between(this.sends, earliest) - between(this.rejections, earliest);
			if (accepted >= MIN_ESTIMATE_REQUESTS) return (accepted * 1000) / (sentAt - earliest);
		}
		if (this.rateBase !== undefined || this.firstSendAt === undefined) return undefined;
		const upTo = (times: number[]) => times.filter((at) => at <= sentAt).length;
		const accepted = upTo(this.sends) - upTo(this.rejections);
		if (accepted < MIN_ESTIMATE_REQUESTS) return undefined;
		return ((accepted * 1000) / Math.max(MIN_ESTIMATE_SPAN_MS, sentAt - this.firstSendAt)) * FIRST_RATE_CUT;
	}

	private setRate(now: number, rate: number): void {
		this.rateBase = rate;
		this.rateSetAt = now;
	}

	private currentRate(now: number): number {
		const base = this.rateBase ?? Number.POSITIVE_INFINITY;
		const probe = (PROBE_PER_SECOND * Math.max(0, now - this.rateSetAt)) / 1000;
		// Slow near the last cut, faster the longer no 429 comes (a limit that was raised is found again).
		return base * (1 + probe + 5 * probe * probe);
	}

	private wakeAt(at: number): void {
		if (this.timer && this.timerAt <= at) return;
		this.timer?.cancel();
		this.timerAt = at;
		this.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
			this.timer = undefined;
			this.timerAt = Number.POSITIVE_INFINITY;
			this.pump();
		});
	}
}

/**
 * A place in a limiter's window. A class rather than an object literal with a `finish` closure:
 * one object per request instead of three, kept for as long as the request runs, which in a run
 * of many items is long enough for the garbage collector to move it to the old generation
 * (benchmark figure 6).
 */
class WindowPermit implements Permit {
	private finished = false;

	constructor(
		private readonly limiter: AdaptiveLimiter,
		readonly sentAt: number,
	) {}

	finish(outcome: Outcome): void {
		if (this.finished) return;
		this.finished = true;
		this.limiter.permitFinished(this.sentAt, outcome);
	}
}

/** Drops the times before `since` from the front of an ordered list. */
function forget(times: number[], since: number): void {
	let drop = 0;
	while (drop < times.length && times[drop] < since) drop++;
	if (drop > 0) times.splice(0, drop);
}

function abortError(signal: AbortSignal): unknown {
	return signal.reason ?? new Error('The request was cancelled');
}

/**
 * Reads `x-ratelimit-limit-requests`, `-remaining-requests` and `-reset-requests` ("1s", "6m0s",
 * "20ms"), and `-remaining-tokens` / `-reset-tokens` when the token budget is spent.
 */
export function readQuota(headers: Record<string, string | string[] | undefined>): Quota | undefined {
	const value = (name: string) => {
		const raw = headers[name];
		return Array.isArray(raw) ? raw[0] : raw;
	};
	const remaining = numberOf(value('x-ratelimit-remaining-requests'));
	const resetMs = durationMs(value('x-ratelimit-reset-requests'));
	const tokensBackInMs = numberOf(value('x-ratelimit-remaining-tokens')) === 0 ? durationMs(value('x-ratelimit-reset-tokens')) : undefined;
	if (remaining === undefined && resetMs === undefined && tokensBackInMs === undefined) return undefined;
	const quota: Quota = { limit: numberOf(value('x-ratelimit-limit-requests')), remaining, resetMs };
	if (tokensBackInMs !== undefined) quota.tokensBackInMs = tokensBackInMs;
	return quota;
}

function numberOf(text: string | undefined): number | undefined {
	if (text === undefined || !/^\d+(?:\.\d+)?$/.test(text.trim())) return undefined;
	return Number(text);
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** A Go-style duration as OpenAI writes it; a bare number is seconds. */
export function durationMs(text: string | undefined): number | undefined {
	if (text === undefined) return undefined;
	const trimmed = text.trim();
	if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
	if (!/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(trimmed)) return undefined;
	let total = 0;
	for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) total += Number(amount) * UNIT_MS[unit];
	return total;
}
