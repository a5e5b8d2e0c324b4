/**
 * Retries with backoff (Retry-After honoured up to the longest wait, jitter for parallel items), and the one place
 * that turns whatever undici or a socket threw into a NebulaBlockError.
 */
import { AnswerCutShort, NebulaBlockError, cutShortFailure, networkFailure, timeoutFailure, waitTooLong } from './errors';
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

type Attempt<T> = () => Promise<T>;

export async function withRetries<T>(connection: Connection, policy: RequestPolicy, attempt: Attempt<T>): Promise<T> {
	const maxRetries = Math.max(0, policy.maxRetries ?? DEFAULT_MAX_RETRIES);
	for (let retry = 0; ; retry++) {
		try {
			return await attempt();
		} catch (caught) {
			const error = normalise(caught, connection, policy.signal);
			if (retry >= maxRetries || !isRetryable(error)) throw error;
			const maxWaitMs = policy.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
			if (error.retryAfterMs !== undefined && error.retryAfterMs > maxWaitMs) throw waitTooLong(error, maxWaitMs);
			await sleep(backoffMs(retry, error, policy), policy.signal);
		}
	}
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
