/**
 * The one retry engine, for every node and the Chat Model: sends an attempt, asks the pure policy
 * (retryPolicy.ts) what to do after a failure, and with Concurrency Auto lets every attempt wait
 * for the shared limiter (limiter.ts) and tells it what came back. Every wait is bounded by the
 * request's deadline (its Timeout, waits included) and goes through the one clock. Also the one
 * place that turns whatever undici or a socket threw into a NebulaBlockError.
 */
import { clock } from '../clock';
import {
	AnswerCutShort,
	NebulaBlockError,
	cutShortFailure,
	networkFailure,
	noPlaceInTime,
	rateLimitExhausted,
	timeoutFailure,
	waitTooLong,
} from './errors';
import type { ResponseHead } from './response';
import { readQuota, WaitRefused, type AdaptiveLimiter, type Permit, type Quota } from './limiter';
import { afterFailure, DEFAULT_TIMEOUT_MS, type RetryHistory } from './retryPolicy';
import type { Connection, RequestPolicy } from './types';

const RETRYABLE_STATUS = new Set([408, 409, 429]);
const RETRYABLE_NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'EPIPE',
	'ETIMEDOUT',
	'EAI_AGAIN',
	'UND_ERR_SOCKET',
	'UND_ERR_CLOSED',
	'UND_ERR_CONNECT_TIMEOUT',
]);

/** What one attempt tells the limiter: the head of its answer, and how long it holds its place. */
export class AttemptTicket {
	head?: ResponseHead;
	answeredAt?: number;
	held?: Promise<unknown>;

	/** @param timeoutMs what is left of the request's Timeout for this attempt. */
	constructor(readonly timeoutMs: number) {}

	/** The answer's status line and headers arrived. */
	answered(head: ResponseHead): void {
		this.head = head;
		this.answeredAt = clock.now();
	}

	/** The request keeps its place in the limiter's window until this settles (a stream being read). */
	holdUntil(done: Promise<unknown>): void {
		this.held = done;
	}
}

type Attempt<T> = (ticket: AttemptTicket) => Promise<T>;

/**
 * Runs `attempt` until it succeeds or the policy says stop. With a limiter (Concurrency Auto and
 * the Chat Model), each attempt first waits for its place; a 429 pauses every request of the
 * limiter, this one included, so it does not sleep on its own.
 */
export async function withRetries<T>(
	connection: Connection,
	policy: RequestPolicy,
	attempt: Attempt<T>,
	limiter?: AdaptiveLimiter,
): Promise<T> {
	const deadline = clock.now() + (policy.timeoutMs ?? DEFAULT_TIMEOUT_MS);
	const adaptive = limiter !== undefined;
	const history: RetryHistory = { rateLimitRetries: 0, otherRetries: 0 };
	// Summed by waitedSince, not a closure: one closure and its context less per request.
	let waitedMs = 0;
	for (;;) {
		let permit: Permit | undefined;
		if (limiter) permit = limiter.tryAcquire(policy.signal);
		if (limiter && !permit) {
			const since = clock.now();
			try {
				permit = await limiter.acquire(policy.signal, deadline);
			} catch (caught) {
				throw refusalError(caught, connection, policy);
			} finally {
				waitedMs += waitedSince(since, policy);
			}
		}
		const ticket = new AttemptTicket(Math.max(1, deadline - clock.now()));
		try {
			const result = await attempt(ticket);
			if (permit) {
				const outcome = { status: ticket.head?.statusCode ?? 200, quota: quotaOf(ticket), answeredAt: ticket.answeredAt };
				const done = permit.finish.bind(permit, outcome);
				if (ticket.held) void ticket.held.then(done, done);
				else done();
			}
			return result;
		} catch (caught) {
			const error = normalise(caught, connection, policy.signal);
			const status = error.kind === 'http' ? error.status : undefined;
			permit?.finish({ status, retryAfterMs: error.retryAfterMs, quota: quotaOf(ticket), answeredAt: ticket.answeredAt, failure: error });
			if (status === 429 && policy.stats) policy.stats.responses429++;
			const decision = afterFailure(
				{ status, retryable: isRetryable(error), retryAfterMs: error.retryAfterMs },
				history,
				{ maxRetries: policy.maxRetries, adaptive, remainingMs: deadline - clock.now(), backoffFirstMs: policy.retryBaseDelayMs },
				Math.random(),
			);
			if (decision.kind === 'fail') {
				const tries = history.rateLimitRetries + history.otherRetries + 1;
				throw status === 429 ? rateLimitExhausted(error, { adaptive, tries, waitedMs }) : error;
			}
			if (decision.kind === 'waitTooLong') {
				throw waitTooLong(error, {
					waitMs: decision.waitMs,
					limitMs: decision.limitMs,
					untilWallMs: clock.wallNow() + decision.waitMs,
					cause: 'retryAfter',
					adaptive,
				});
			}
			if (decision.rateLimit) history.rateLimitRetries++;
			else history.otherRetries++;
			if (decision.waitMs > 0) {
				const since = clock.now();
				try {
					await clock.sleep(decision.waitMs, policy.signal);
				} finally {
					waitedMs += waitedSince(since, policy);
				}
			}
		}
	}
}

/** How long a wait that began at `since` lasted, added to the request's stats too. */
function waitedSince(since: number, policy: RequestPolicy): number {
	const span = clock.now() - since;
	if (policy.stats) policy.stats.waitedMs += span;
	return span;
}

/** What the limiter's refusal (or a cancel while waiting in it) means to the user. */
function refusalError(caught: unknown, connection: Connection, policy: RequestPolicy): NebulaBlockError {
	if (!(caught instanceof WaitRefused)) return normalise(caught, connection, policy.signal);
	if (caught.reason === 'deadline') return noPlaceInTime(caught.waitMs);
	const failure = caught.cause?.failure instanceof NebulaBlockError ? caught.cause.failure : undefined;
	return waitTooLong(failure, {
		waitMs: caught.waitMs,
		limitMs: caught.limitMs,
		untilWallMs: caught.untilWallMs ?? clock.wallNow() + caught.waitMs,
		cause: caught.cause?.kind ?? 'retryAfter',
		refusals: caught.cause?.refusals,
		adaptive: true,
	});
}

function quotaOf(ticket: AttemptTicket): Quota | undefined {
	return ticket.head ? readQuota(ticket.head.headers) : undefined;
}

/**
 * What failed, as a NebulaBlockError. A connection lost before the answer began is a network
 * failure (retried: the request may not have been read, e.g. a keep-alive socket the server had
 * just closed); one lost after it began (an AnswerCutShort) is an answer cut short.
 */
export function normalise(
	caught: unknown,
	connection: Connection,
	cancel: AbortSignal | undefined,
): NebulaBlockError {
	const cutShort = caught instanceof AnswerCutShort;
	const cause = cutShort ? caught.reason : caught;
	if (cause instanceof NebulaBlockError) return cause;
	if (cancel?.aborted) {
		return new NebulaBlockError({ kind: 'aborted', message: 'The request was cancelled', cause });
	}
	const code = errorCode(cause);
	// undici's timeouts, and axios's (ECONNABORTED: what n8n's helper throws in the cloud edition).
	if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ECONNABORTED') {
		return timeoutFailure(code, cause);
	}
	return (cutShort ? cutShortFailure : networkFailure)(messageOf(cause), code, [connection.apiKey]);
}

/** The error's own text, e.g. `connect ECONNREFUSED 127.0.0.1:8080` (no instanceof: see errorCode). */
function messageOf(error: unknown): string {
	const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
	return typeof message === 'string' && message !== '' ? message : String(error);
}

function errorCode(error: unknown): string | undefined {
	let current: unknown = error;
	// undici wraps socket errors; the code that says what happened may be on the cause. No
	// instanceof here: errors from Node's own modules can come from another realm.
	for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
		const { code, cause } = current as { code?: unknown; cause?: unknown };
		if (typeof code === 'string') return code;
		current = cause;
	}
	return undefined;
}

function isRetryable(error: NebulaBlockError): boolean {
	if (error.kind === 'http') {
		const status = error.status ?? 0;
		return RETRYABLE_STATUS.has(status) || status >= 500;
	}
	if (error.kind === 'network' || (error.kind === 'timeout' && error.code === 'UND_ERR_CONNECT_TIMEOUT')) {
		return error.code === undefined || RETRYABLE_NETWORK_CODES.has(error.code);
	}
	return false;
}
