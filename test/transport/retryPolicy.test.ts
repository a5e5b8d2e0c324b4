/** The retry policy on plain numbers: what to do after each failed attempt, in both modes. */
import {
	AUTO_RATE_LIMIT_RETRIES,
	BACKOFF_FIRST_MS,
	DEFAULT_MAX_RETRIES,
	LONGEST_WAIT_MS,
	afterFailure,
	backoffMs,
	type FailedAttempt,
	type RetryBudget,
	type RetryHistory,
} from '../../nodes/shared/transport/retryPolicy';

const rateLimit: FailedAttempt = { status: 429, retryable: true };
const serverError: FailedAttempt = { status: 503, retryable: true };
const fresh = (): RetryHistory => ({ rateLimitRetries: 0, otherRetries: 0 });
const fixed = (budget: Partial<RetryBudget> = {}): RetryBudget => ({ adaptive: false, remainingMs: 600_000, ...budget });
const auto = (budget: Partial<RetryBudget> = {}): RetryBudget => ({ adaptive: true, remainingMs: 600_000, ...budget });

/** How many attempts a request makes when every one fails the same way. */
function attemptsUntilFail(failure: FailedAttempt, budget: RetryBudget): number {
	const history = fresh();
	for (let attempts = 1; attempts < 100; attempts++) {
		const decision = afterFailure(failure, history, budget, 0);
		if (decision.kind !== 'retry') return attempts;
		if (decision.rateLimit) history.rateLimitRetries++;
		else history.otherRetries++;
	}
	throw new Error('never stops');
}

describe('retry policy', () => {
	it('Max Retries as typed is a promise in both modes: 0 is exactly one request, 3 is four', () => {
		for (const budget of [fixed({ maxRetries: 0 }), auto({ maxRetries: 0 })]) {
			expect(attemptsUntilFail(rateLimit, budget)).toBe(1);
			expect(attemptsUntilFail(serverError, budget)).toBe(1);
		}
		expect(attemptsUntilFail(rateLimit, auto({ maxRetries: 3 }))).toBe(4);
		expect(attemptsUntilFail(serverError, fixed({ maxRetries: 3 }))).toBe(4);
	});

	it(`unset: ${DEFAULT_MAX_RETRIES} retries, and under Auto ${AUTO_RATE_LIMIT_RETRIES} for rate limits`, () => {
		expect(attemptsUntilFail(serverError, fixed())).toBe(DEFAULT_MAX_RETRIES + 1);
		expect(attemptsUntilFail(rateLimit, fixed())).toBe(DEFAULT_MAX_RETRIES + 1);
		expect(attemptsUntilFail(serverError, auto())).toBe(DEFAULT_MAX_RETRIES + 1);
		expect(attemptsUntilFail(rateLimit, auto())).toBe(AUTO_RATE_LIMIT_RETRIES + 1);
	});

	it('never retries what may not go again', () => {
		expect(afterFailure({ status: 400, retryable: false }, fresh(), auto(), 0)).toEqual({ kind: 'fail' });
	});

	it('under Auto a 429 waits nothing of its own: the limiter pauses everyone', () => {
		expect(afterFailure({ ...rateLimit, retryAfterMs: 2_000 }, fresh(), auto(), 0)).toEqual({ kind: 'retry', waitMs: 0, rateLimit: true });
	});

	it('honours a Retry-After up to 60 s or the rest of the Timeout, and gives up at once past it, naming the wait', () => {
		expect(afterFailure({ ...rateLimit, retryAfterMs: 2_000 }, fresh(), fixed(), 0)).toEqual({ kind: 'retry', waitMs: 2_000, rateLimit: true });
		expect(afterFailure({ ...rateLimit, retryAfterMs: 3_600_000 }, fresh(), fixed(), 0)).toEqual({
			kind: 'waitTooLong',
			waitMs: 3_600_000,
			limitMs: LONGEST_WAIT_MS,
		});
		expect(afterFailure({ ...rateLimit, retryAfterMs: 5_000 }, fresh(), fixed({ remainingMs: 1_000 }), 0)).toEqual({
			kind: 'waitTooLong',
			waitMs: 5_000,
			limitMs: 1_000,
		});
	});

	it('backs off exponentially when no usable wait is named (missing or 0), jittered down by up to half, capped', () => {
		const waits = [0, 1, 2].map((retries) => {
			const decision = afterFailure({ ...serverError, retryAfterMs: 0 }, { rateLimitRetries: 0, otherRetries: retries }, fixed({ maxRetries: 10 }), 0);
			return decision.kind === 'retry' ? decision.waitMs : undefined;
		});
		expect(waits).toEqual([BACKOFF_FIRST_MS, 2 * BACKOFF_FIRST_MS, 4 * BACKOFF_FIRST_MS]);
		expect(backoffMs(20, 0)).toBe(LONGEST_WAIT_MS);
		expect(backoffMs(0, 0.999)).toBeCloseTo(BACKOFF_FIRST_MS / 2, 0);
	});

	it('gives up rather than back off past the deadline', () => {
		expect(afterFailure(serverError, fresh(), fixed({ remainingMs: 10 }), 0)).toEqual({ kind: 'fail' });
	});
});
