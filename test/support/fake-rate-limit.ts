/**
 * The fake server's rate-limited mode: a token bucket of R requests per second with burst B and
 * an optional cap on requests answered at once, per API key (the service limits per account
 * tier) or for the whole server. It decides at a request's arrival, like a gateway in front of
 * the model: a request over the limit gets its 429 at once and never reaches the model (no
 * latency, no scripted step consumed). It also counts what it let through, so a test or the
 * benchmark can compute throughput from what the server saw instead of what the client says.
 *
 * Only node built-ins (none, here) so plain `npx tsx` scripts can load it.
 */

export interface FakeRateLimit {
	/** R: tokens added to the bucket per second. Absent: no bucket (only `maxConcurrent`, if set). */
	requestsPerSecond?: number;
	/** B: the bucket's size, i.e. requests accepted at once after a quiet spell. Default: 1. */
	burst?: number;
	/** Most accepted requests being answered at once; one more gets a 429. Default: no cap. */
	maxConcurrent?: number;
	/** 'key' (default): every API key has its own bucket and cap. 'server': one for all keys (except keys given a tier of their own). */
	scope?: 'key' | 'server';
	/** Whether every answer carries OpenAI-style `x-ratelimit-*-requests` headers. Default false. */
	sendHeaders?: boolean;
	/** The bucket's clock, in ms; tests pass one they move by hand. Default Date.now. */
	now?: () => number;
}

export type RejectCause = 'rate' | 'concurrency';

export interface RateLimitStats {
	/** Requests let through (all of them when no limit is set). */
	accepted: number;
	/** Requests answered 429 by the limit, by cause. */
	rejected: Record<RejectCause, number>;
	/** Most accepted requests being answered at once. */
	peakInFlight: number;
	/** The clock's time at each accepted request's arrival, in order. */
	acceptedAt: number[];
}

export type Admission =
	| { admitted: true; headers: Record<string, string>; release(): void }
	| { admitted: false; cause: RejectCause; headers: Record<string, string>; message: string; release(): void };

interface Bucket {
	tokens: number;
	updatedAt: number;
}

interface Counters extends RateLimitStats {
	inFlight: number;
}

/** Tokens are fractions; this much short of a whole one still counts as one (float rounding). */
const EPSILON = 1e-9;
const NO_KEY = '(no key)';
const SERVER_BUCKET = '(server)';

export class RateGate {
	private limit: FakeRateLimit | undefined;
	private readonly keyLimits = new Map<string, FakeRateLimit>();
	private readonly buckets = new Map<string, Bucket>();
	private readonly counters = new Map<string, Counters>();
	private readonly total: Counters = newCounters();

	constructor(limit?: FakeRateLimit) {
		this.limit = limit;
	}

	/** Sets the limit for the whole server, or for one key (its tier); undefined lifts it. Starts with a full bucket. */
	set(limit: FakeRateLimit | undefined, key?: string): void {
		if (key === undefined) {
			this.limit = limit;
			// Keys with a tier of their own keep their buckets.
			for (const slot of [...this.buckets.keys()]) if (!this.keyLimits.has(slot)) this.buckets.delete(slot);
			return;
		}
		if (limit) this.keyLimits.set(key, limit);
		else this.keyLimits.delete(key);
		this.buckets.delete(key);
	}

	stats(key?: string): RateLimitStats {
		const counters = key === undefined ? this.total : (this.counters.get(key) ?? newCounters());
		const { accepted, rejected, peakInFlight, acceptedAt } = counters;
		return { accepted, rejected: { ...rejected }, peakInFlight, acceptedAt: [...acceptedAt] };
	}

	/** Decides for a request arriving now; `release` must be called once its answer is over. */
	admit(key: string | undefined): Admission {
		const limit = (key !== undefined ? this.keyLimits.get(key) : undefined) ?? this.limit;
		const keyCounters = this.countersOf(key ?? NO_KEY);
		const counters = [this.total, keyCounters];
		if (!limit) return this.accept(counters, Date.now(), {});

		const shared = limit.scope === 'server' && !(key !== undefined && this.keyLimits.has(key));
		const slot = shared ? SERVER_BUCKET : (key ?? NO_KEY);
		const now = (limit.now ?? Date.now)();
		const maxConcurrent = limit.maxConcurrent ?? Number.POSITIVE_INFINITY;
		// A shared cap counts every request in flight, those of keys with a tier of their own too.
		const inFlight = shared ? this.total.inFlight : keyCounters.inFlight;
		// The cap is checked first, so a request it turns away takes no token.
		if (inFlight >= maxConcurrent) {
			const bucket = limit.requestsPerSecond ? this.refilled(slot, limit, now) : undefined;
			return this.reject(counters, 'concurrency', bucket && headersOf(limit, bucket), `Too many concurrent requests: at most ${maxConcurrent} at once.`);
		}
		if (!limit.requestsPerSecond) return this.accept(counters, now, {});

		const rate = limit.requestsPerSecond;
		const bucket = this.refilled(slot, limit, now);
		if (bucket.tokens + EPSILON < 1) {
			const waitMs = Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / rate));
			const headers = { ...headersOf(limit, bucket), ...retryAfterHeaders(waitMs) };
			return this.reject(counters, 'rate', headers, `Rate limit reached for requests: ${rate} per second. Please try again in ${formatDuration(waitMs)}.`);
		}
		bucket.tokens = Math.max(0, bucket.tokens - 1);
		return this.accept(counters, now, headersOf(limit, bucket));
	}

	private accept(counters: Counters[], now: number, headers: Record<string, string>): Admission {
		for (const counter of counters) {
			counter.accepted++;
			counter.acceptedAt.push(now);
			counter.inFlight++;
			counter.peakInFlight = Math.max(counter.peakInFlight, counter.inFlight);
		}
		let released = false;
		const release = () => {
			if (released) return;
			released = true;
			for (const counter of counters) counter.inFlight--;
		};
		return { admitted: true, headers, release };
	}

	private reject(counters: Counters[], cause: RejectCause, headers: Record<string, string> | undefined, message: string): Admission {
		for (const counter of counters) counter.rejected[cause]++;
		return { admitted: false, cause, headers: headers ?? {}, message, release: () => undefined };
	}

	private refilled(slot: string, limit: FakeRateLimit, now: number): Bucket {
		const burst = Math.max(1, limit.burst ?? 1);
		const bucket = this.buckets.get(slot) ?? { tokens: burst, updatedAt: now };
		const elapsedMs = Math.max(0, now - bucket.updatedAt);
		bucket.tokens = Math.min(burst, bucket.tokens + (elapsedMs * (limit.requestsPerSecond ?? 0)) / 1000);
		bucket.updatedAt = now;
		this.buckets.set(slot, bucket);
		return bucket;
	}

	private countersOf(key: string): Counters {
		let counters = this.counters.get(key);
		if (!counters) this.counters.set(key, (counters = newCounters()));
		return counters;
	}
}

function newCounters(): Counters {
	return { accepted: 0, rejected: { rate: 0, concurrency: 0 }, peakInFlight: 0, acceptedAt: [], inFlight: 0 };
}

/**
 * HTTP's Retry-After is whole seconds: at R = 20 the next token is due in 50 ms, and a client
 * reading only Retry-After would stall a full second per 429. OpenAI's servers also send
 * `retry-after-ms`, which the transport reads first (nodes/shared/transport/exchange.ts), so the
 * fake sends both: the exact wait in ms, and the seconds rounded up for clients that know only
 * the standard header (they wait longer, never too little).
 */
function retryAfterHeaders(waitMs: number): Record<string, string> {
	return { 'retry-after': String(Math.ceil(waitMs / 1000)), 'retry-after-ms': String(waitMs) };
}

/**
 * OpenAI's request-limit headers, read against the bucket: the limit is its size B, remaining
 * the whole tokens left after this request, and reset the time until the bucket is full again
 * ("until the rate limit resets to its initial state", as OpenAI defines it).
 */
function headersOf(limit: FakeRateLimit, bucket: Bucket): Record<string, string> {
	if (!limit.sendHeaders || !limit.requestsPerSecond) return {};
	const burst = Math.max(1, limit.burst ?? 1);
	const resetMs = Math.ceil(((burst - bucket.tokens) * 1000) / limit.requestsPerSecond);
	return {
		'x-ratelimit-limit-requests': String(burst),
		'x-ratelimit-remaining-requests': String(Math.floor(bucket.tokens + EPSILON)),
		'x-ratelimit-reset-requests': formatDuration(resetMs),
	};
}

/** Go-style durations as OpenAI writes them: "0s", "50ms", "1s", "1.5s", "6m0s". */
export function formatDuration(ms: number): string {
	const whole = Math.max(0, Math.ceil(ms));
	if (whole === 0) return '0s';
	if (whole < 1000) return `${whole}ms`;
	const minutes = Math.floor(whole / 60_000);
	const seconds = `${Number(((whole % 60_000) / 1000).toFixed(3))}s`;
	return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}
