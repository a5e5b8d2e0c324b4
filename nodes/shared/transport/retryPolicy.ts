/**
 * What to do after a failed attempt, as pure arithmetic: retry or not, and how long to wait.
 * No socket, no timer, no clock of its own: the engine (retry.ts) and the shared limiter
 * (limiter.ts) pass in what happened and do the waiting. Tested on plain numbers
 * (test/transport/retryPolicy.test.ts).
 */

/** How long a request may take until its answer starts, waits and retries included, when Timeout is not set. */
export const DEFAULT_TIMEOUT_SECONDS = 600;
export const DEFAULT_TIMEOUT_MS = DEFAULT_TIMEOUT_SECONDS * 1000;

/** Retries when Max Retries is not set: one slow answer or dropped connection rarely comes twice. */
export const DEFAULT_MAX_RETRIES = 2;

/**
 * Under Concurrency Auto with Max Retries not set, the retries a rate-limit answer (429) gets: the
 * shared backoff doubles from BACKOFF_FIRST_MS at each refusal, so eight of them span about a
 * minute, long enough for a per-minute quota to refill. Measured: 0 failed items in the
 * benchmark's rate-limit figure (scripts/bench/rateLimit.ts).
 */
export const AUTO_RATE_LIMIT_RETRIES = 8;

/**
 * The first wait after a failure that names no wait of its own; each next one doubles. Short,
 * because under Auto it also follows each 429 of a limit on requests at once, which clears as soon
 * as one answer is done.
 */
export const BACKOFF_FIRST_MS = 250;

/**
 * The longest any wait may be (a Retry-After, a rate-limit reset, a backoff step): a service that
 * asks for more fails the request at once, with the wait it asked for, rather than hold it
 * (and, under Auto, every request of its credential) for an hour.
 */
export const LONGEST_WAIT_MS = 60_000;

/** What the engine knows of a failed attempt. */
export interface FailedAttempt {
	/** The HTTP status, when the service answered. */
	status?: number;
	/** Whether this kind of failure may go again (a 429, a 5xx, a connection refused...). */
	retryable: boolean;
	/** The wait the service asked for (Retry-After), if any. */
	retryAfterMs?: number;
}

/** What a request has been through so far. */
export interface RetryHistory {
	/** Retries after a rate-limit answer. */
	rateLimitRetries: number;
	/** Retries after anything else. */
	otherRetries: number;
}

export interface RetryBudget {
	/** Max Retries as the user set it; undefined when the option is not set. */
	maxRetries?: number;
	/** Concurrency Auto: the shared limiter waits out rate limits for everyone (limiter.ts). */
	adaptive: boolean;
	/** Until the request's deadline (its Timeout, waits included). */
	remainingMs: number;
	/** The first backoff step, BACKOFF_FIRST_MS unless a test shortens it. */
	backoffFirstMs?: number;
}

export type Decision =
	/** Give up: report this attempt's failure. */
	| { kind: 'fail' }
	/** Give up at once: the wait the service asked for is longer than LONGEST_WAIT_MS or than what is left of the Timeout. */
	| { kind: 'waitTooLong'; waitMs: number; limitMs: number }
	/** Go again after `waitMs` (0 under Auto after a 429: the limiter holds everyone, this request included). */
	| { kind: 'retry'; waitMs: number; rateLimit: boolean };

/** A wait the service asked for that can be honoured: an empty, unreadable or zero Retry-After is none. */
export function usableWait(retryAfterMs: number | undefined): number | undefined {
	return retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : undefined;
}

/**
 * The wait before the next try after `step` failures in a row that named no wait: doubling from
 * BACKOFF_FIRST_MS up to LONGEST_WAIT_MS, then jittered down by up to half, so that the items of
 * many executions (or queue-mode workers) that failed together do not come back together.
 * `random` is in [0, 1).
 */
export function backoffMs(step: number, random: number, firstMs = BACKOFF_FIRST_MS): number {
	return backoffCeilingMs(step, firstMs) * (1 - random / 2);
}

/** The backoff before jitter: whether it has reached LONGEST_WAIT_MS says the refusals have lasted a minute. */
export function backoffCeilingMs(step: number, firstMs = BACKOFF_FIRST_MS): number {
	return Math.min(LONGEST_WAIT_MS, firstMs * 2 ** Math.max(0, step));
}

/** The longest a request may wait now: LONGEST_WAIT_MS, or what is left of its Timeout if less. */
export function waitLimitMs(remainingMs: number): number {
	return Math.max(0, Math.min(LONGEST_WAIT_MS, remainingMs));
}

/** Whether a request may go again, and after how long. */
export function afterFailure(failure: FailedAttempt, history: RetryHistory, budget: RetryBudget, random: number): Decision {
	if (!failure.retryable) return { kind: 'fail' };
	const rateLimit = failure.status === 429;
	const retries = history.rateLimitRetries + history.otherRetries;
	if (budget.maxRetries !== undefined) {
		// A number the user typed is a promise, in both modes: 0 means exactly one request.
		if (retries >= budget.maxRetries) return { kind: 'fail' };
	} else if (rateLimit && budget.adaptive) {
		if (history.rateLimitRetries >= AUTO_RATE_LIMIT_RETRIES) return { kind: 'fail' };
	} else if (history.otherRetries + (budget.adaptive ? 0 : history.rateLimitRetries) >= DEFAULT_MAX_RETRIES) {
		return { kind: 'fail' };
	}
	// Under Auto the limiter sets one pause for everyone after a 429 and checks it against each
	// request's own limit when it queues again.
	if (rateLimit && budget.adaptive) return { kind: 'retry', waitMs: 0, rateLimit };
	const limitMs = waitLimitMs(budget.remainingMs);
	const asked = usableWait(failure.retryAfterMs);
	if (asked !== undefined) return asked > limitMs ? { kind: 'waitTooLong', waitMs: asked, limitMs } : { kind: 'retry', waitMs: asked, rateLimit };
	const waitMs = backoffMs(retries, random, budget.backoffFirstMs);
	// A backoff that would end past the deadline cannot lead to an answer in time.
	return waitMs > limitMs ? { kind: 'fail' } : { kind: 'retry', waitMs, rateLimit };
}
