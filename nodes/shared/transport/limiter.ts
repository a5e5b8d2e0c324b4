/**
 * The adaptive limiter behind Concurrency "Auto": one per credential and origin (limiters.ts),
 * shared by every item and every execution that uses them. Pure logic on an injected clock, so
 * it is tested without a network or real time (test/transport/limiter.test.ts).
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
 *   below it. From there it probes upward slowly (PROBE_PER_SECOND), so one 429 every few seconds
 *   is what finding the edge costs, instead of one per request past it as with a window alone:
 *   with a burst of B, probing spends the bucket at a rate that grows linearly, so the next 429
 *   comes after about sqrt(2B / (rate x PROBE_PER_SECOND)) seconds.
 * A 429 pauses every request of this limiter until its Retry-After has passed (DEFAULT_PAUSE_MS
 * without one), once: 429s that arrive together extend the pause to the latest of them, they do
 * not add up.
 */

/** The time source and timers, injected so tests move time by hand. */
export interface LimiterClock {
	now(): number;
	setTimer(ms: number, run: () => void): { cancel(): void };
}

export const realClock: LimiterClock = {
	now: () => performance.now(),
	setTimer(ms, run) {
		const timer = setTimeout(run, ms);
		// A limiter waiting on its pace must not keep n8n (or a test) alive.
		timer.unref?.();
		return { cancel: () => clearTimeout(timer) };
	},
};

export const INITIAL_WINDOW = 8;
export const MAX_WINDOW = 64;
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
const MIN_RATE = 0.1;
/** Fewer accepted requests than this between two 429s say too little about the rate. */
const MIN_ESTIMATE_REQUESTS = 4;
/** The pause after a 429 that names no Retry-After. */
export const DEFAULT_PAUSE_MS = 250;
/** After a 429 without Retry-After the window is cut to this share of the requests that were out. */
const CONCURRENCY_CUT = 0.9;
const SLOW_PROBE_ROUNDS = 40;
const LATENCY_RISE = 1.5;
const SHORT_EWMA = 0.3;
/** The latency baseline follows the latency over about this long. */
const LONG_LATENCY_MS = 30_000;

/** What came back for one permit. */
export interface Outcome {
	/** The HTTP status; undefined when no answer came (connection lost, cancelled). */
	status?: number;
	/** The wait the service asked for, in ms (Retry-After or retry-after-ms). */
	retryAfterMs?: number;
	/** `x-ratelimit-*-requests` headers, read (see readQuota). */
	quota?: Quota;
	/** When the head arrived, on the limiter's clock, if the request held its place longer (a stream read to its end). */
	answeredAt?: number;
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

interface Waiter {
	grant(permit: Permit): void;
	reject(error: unknown): void;
	signal?: AbortSignal;
	onAbort?: () => void;
}

/** What the limiter is doing, for tests, the benchmark and debugging. */
export interface LimiterState {
	window: number;
	inFlight: number;
	waiting: number;
	/** Requests per second it paces at; undefined before it has met a limit. */
	rate?: number;
	pausedForMs: number;
	rateLimited: number;
}

export class AdaptiveLimiter {
	private window = INITIAL_WINDOW;
	private inFlight = 0;
	private readonly queue: Waiter[] = [];
	private timer: { cancel(): void } | undefined;
	private timerAt = Number.POSITIVE_INFINITY;
	private pausedUntil = Number.NEGATIVE_INFINITY;
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
	/** Requests out when a 429 without Retry-After came: the window probes slowly near it. */
	private windowCeiling: number | undefined;
	lastUsedAt: number;

	constructor(readonly clock: LimiterClock = realClock) {
		this.lastUsedAt = clock.now();
	}

	/** Waits until a request may go: the pause is over, the pace allows it and the window has room. */
	acquire(signal?: AbortSignal): Promise<Permit> {
		this.lastUsedAt = this.clock.now();
		return new Promise<Permit>((resolve, reject) => {
			if (signal?.aborted) return reject(abortError(signal));
			const waiter: Waiter = { grant: resolve, reject, signal };
			if (signal) {
				waiter.onAbort = () => {
					const index = this.queue.indexOf(waiter);
					if (index !== -1) this.queue.splice(index, 1);
					reject(abortError(signal));
				};
				signal.addEventListener('abort', waiter.onAbort, { once: true });
			}
			this.queue.push(waiter);
			this.pump();
		});
	}

	state(): LimiterState {
		const now = this.clock.now();
		return {
			window: this.window,
			inFlight: this.inFlight,
			waiting: this.queue.length,
			rate: this.rateBase === undefined ? undefined : this.currentRate(now),
			pausedForMs: Math.max(0, this.pausedUntil - now),
			rateLimited: this.rateLimitedCount,
		};
	}

	/** Whether nothing is in flight or waiting: the registry may drop it after a quiet spell. */
	get idle(): boolean {
		return this.inFlight === 0 && this.queue.length === 0;
	}

	/** Lets waiting requests go, in order, as far as pause, pace and window allow. */
	private pump(): void {
		while (this.queue.length > 0 && this.inFlight < Math.floor(this.window)) {
			const now = this.clock.now();
			const readyAt = Math.max(this.pausedUntil, this.nextStartAt);
			if (readyAt > now) {
				this.wakeAt(readyAt);
				return;
			}
			const waiter = this.queue.shift() as Waiter;
			if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
			waiter.grant(this.start(now));
		}
	}

	private start(now: number): Permit {
		this.inFlight++;
		this.firstSendAt ??= now;
		this.sends.push(now);
		forget(this.sends, now - ESTIMATE_SPAN_MS);
		if (this.rateBase !== undefined) this.nextStartAt = Math.max(now, this.nextStartAt) + 1000 / this.currentRate(now);
		let finished = false;
		const permit: Permit = {
			sentAt: now,
			finish: (outcome) => {
				if (finished) return;
				finished = true;
				this.finish(permit.sentAt, outcome);
			},
		};
		return permit;
	}

	private finish(sentAt: number, outcome: Outcome): void {
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
		const latency = Math.max(0, now - sentAt);
		this.shortLatency = this.shortLatency === undefined ? latency : this.shortLatency + SHORT_EWMA * (latency - this.shortLatency);
		// The baseline moves by time, not by answer: a window of 64 answers a round would drag it
		// along with a rise within one round trip.
		const weight = 1 - Math.exp(-(now - this.latencyUpdatedAt) / LONG_LATENCY_MS);
		this.longLatency = this.longLatency === undefined ? latency : this.longLatency + weight * (latency - this.longLatency);
		this.latencyUpdatedAt = now;
		if (outcome.quota) this.honourQuota(now, outcome.quota);
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
	 */
	private honourQuota(now: number, quota: Quota): void {
		if (quota.tokensBackInMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + quota.tokensBackInMs);
		const { limit, remaining, resetMs } = quota;
		if (remaining === undefined || resetMs === undefined || resetMs <= 0) return;
		const used = limit !== undefined ? limit - remaining : undefined;
		if (used !== undefined && used > 0) {
			// The limit comes back at (limit - remaining) per reset span: that is its rate.
			const rate = (used * 1000) / resetMs;
			if (this.rateBase === undefined || rate < this.currentRate(now)) this.setRate(now, rate);
		}
		if (remaining <= 0) this.pausedUntil = Math.max(this.pausedUntil, now + resetMs / Math.max(1, used ?? 1));
	}

	private rateLimited(sentAt: number, now: number, outcome: Outcome): void {
		this.rateLimitedCount++;
		this.rejections.push(sentAt);
		forget(this.rejections, now - ESTIMATE_SPAN_MS);
		// Once for all: 429s arriving together push the pause to the latest of them, not their sum.
		this.pausedUntil = Math.max(this.pausedUntil, now + (outcome.retryAfterMs ?? DEFAULT_PAUSE_MS));
		if (outcome.quota) this.honourQuota(now, outcome.quota);
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
