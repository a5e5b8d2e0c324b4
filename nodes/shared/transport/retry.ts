/**
 * Retries with backoff (Retry-After honoured up to the longest wait, jitter for parallel items),
 * through the shared limiter with Concurrency Auto, and the one place that turns whatever undici
 * or a socket threw into a NebulaBlockError.
 */
import { AnswerCutShort, NebulaBlockError, cutShortFailure, networkFailure, timeoutFailure, waitTooLong } from './errors';
import type { ResponseHead } from './exchange';
import { readQuota, type AdaptiveLimiter, type LimiterClock, type Permit, type Quota } from './limiter';
import type { Connection, RequestPolicy } from './types';

export const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_RETRY_BASE_MS = 500;
const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;

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

/**
 * With Concurrency Auto, how many 429s a request may meet without using its retries: the limiter
 * has paused everyone for each of them, so they are its to handle, not the item's. The bound keeps
 * a service that answers nothing but 429 from holding an item forever: past it, 429s count
 * against Max Retries again, so a request makes at most MAX_LIMITER_RETRIES + Max Retries + 1
 * attempts, each wait at most Max Retry Delay (a longer Retry-After fails at once).
 */
export const MAX_LIMITER_RETRIES = 10;

/** What one attempt tells the limiter: the head of its answer, and how long it holds its place. */
export class AttemptTicket {
	head?: ResponseHead;
	answeredAt?: number;
	held?: Promise<unknown>;

	constructor(private readonly clock?: LimiterClock) {}

	/** The answer's status line and headers arrived. */
	answered(head: ResponseHead): void {
		this.head = head;
		this.answeredAt = this.clock?.now();
	}

	/** The request keeps its place in the limiter's window until this settles (a stream being read). */
	holdUntil(done: Promise<unknown>): void {
		this.held = done;
	}
}

type Attempt<T> = (ticket: AttemptTicket) => Promise<T>;

export async function withRetries<T>(
	connection: Connection,
	policy: RequestPolicy,
	attempt: Attempt<T>,
	limiter?: AdaptiveLimiter,
): Promise<T> {
	const maxRetries = Math.max(0, policy.maxRetries ?? DEFAULT_MAX_RETRIES);
	const stats = policy.stats;
	let limiterRetries = 0;
	for (let retry = 0; ; ) {
		const permit = limiter ? await waitForPermit(limiter, connection, policy) : undefined;
		const ticket = new AttemptTicket(limiter?.clock);
		try {
			const result = await attempt(ticket);
			if (permit) {
				const outcome = { status: ticket.head?.statusCode ?? 200, quota: quotaOf(ticket), answeredAt: ticket.answeredAt };
				if (ticket.held) void ticket.held.then(() => permit.finish(outcome), () => permit.finish(outcome));
				else permit.finish(outcome);
			}
			return result;
		} catch (caught) {
			const error = normalise(caught, connection, policy.signal);
			const status = error.kind === 'http' ? error.status : undefined;
			permit?.finish({ status, retryAfterMs: error.retryAfterMs, quota: quotaOf(ticket), answeredAt: ticket.answeredAt });
			if (status === 429 && stats) stats.responses429++;
			const maxWaitMs = policy.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
			// Auto: the limiter paused every request of this credential; this one queues again for free.
			if (limiter && status === 429 && limiterRetries < MAX_LIMITER_RETRIES) {
				if (error.retryAfterMs !== undefined && error.retryAfterMs > maxWaitMs) throw waitTooLong(error, maxWaitMs);
				limiterRetries++;
				continue;
			}
			if (retry >= maxRetries || !isRetryable(error)) throw error;
			if (error.retryAfterMs !== undefined && error.retryAfterMs > maxWaitMs) throw waitTooLong(error, maxWaitMs);
			const started = performance.now();
			await sleep(backoffMs(retry, error, policy), policy.signal);
			if (stats) stats.waitedMs += performance.now() - started;
			retry++;
		}
	}
}

async function waitForPermit(limiter: AdaptiveLimiter, connection: Connection, policy: RequestPolicy): Promise<Permit> {
	const started = performance.now();
	try {
		return await limiter.acquire(policy.signal);
	} catch (caught) {
		throw normalise(caught, connection, policy.signal);
	} finally {
		if (policy.stats) policy.stats.waitedMs += performance.now() - started;
	}
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
	if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
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

function backoffMs(retry: number, error: NebulaBlockError, policy: RequestPolicy): number {
	const cap = policy.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
	if (error.retryAfterMs !== undefined) return error.retryAfterMs;
	const base = (policy.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_MS) * 2 ** retry;
	// Jitter spreads the retries of many parallel items so they do not hit the limit together again.
	return Math.min(base * (0.5 + Math.random() * 0.5), cap);
}

async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
	if (ms <= 0) return;
	await new Promise<void>((resolve, reject) => {
		const onAbort = () => {
			clearTimeout(timer);
			reject(new NebulaBlockError({ kind: 'aborted', message: 'The request was cancelled' }));
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		if (signal?.aborted) onAbort();
		else signal?.addEventListener('abort', onAbort, { once: true });
	});
}
