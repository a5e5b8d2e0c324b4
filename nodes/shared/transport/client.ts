import { errors as undiciErrors, type Dispatcher } from 'undici';

import { dispatcherFor } from './dispatcher';
import { NebulaBlockError, httpFailure, networkFailure, readServiceError, redact, timeoutFailure } from './errors';
import { EventStreamReader, type StreamHandler } from './stream';

/** Where to send requests and how to authenticate: what the credential holds. */
export interface Connection {
	baseUrl: string;
	apiKey: string;
	allowUnauthorizedCerts?: boolean;
}

export interface RequestPolicy {
	/** Until the response starts (a non-streamed answer starts when it is complete). Default 10 minutes. */
	timeoutMs?: number;
	/** Longest silence allowed between two chunks of a response body. Default 5 minutes. */
	idleTimeoutMs?: number;
	/** Retries after 408, 409, 429, 5xx and connection failures. Default 2. */
	maxRetries?: number;
	/** First backoff step; doubles each retry, with jitter. Default 500 ms. */
	retryBaseDelayMs?: number;
	/** Upper bound for any single wait, including one a Retry-After header asks for. Default 60 s. */
	maxRetryDelayMs?: number;
	/** The execution's cancel signal: aborting it aborts the request in flight and any backoff. */
	signal?: AbortSignal;
}

export interface ApiRequest {
	method: 'GET' | 'POST';
	/** Appended to the base URL, e.g. `/chat/completions`. */
	path: string;
	/** Overrides the connection's base URL for this request (Text Generate has its own). */
	baseUrl?: string;
	body?: unknown;
}

export interface JsonResponse<T = unknown> {
	status: number;
	body: T;
	requestId?: string;
}

export type StreamResponse =
	| { kind: 'events'; sawDone: boolean; requestId?: string }
	/** The server ignored `stream: true` and sent one JSON document. */
	| { kind: 'json'; body: unknown; requestId?: string };

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_RETRY_BASE_MS = 500;
const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

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

/** Sends a request and returns its parsed JSON body; error statuses and error bodies throw. */
export async function requestJson<T = unknown>(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy = {},
): Promise<JsonResponse<T>> {
	return await withRetries(connection, policy, async () => {
		const response = await sendBuffered(connection, apiRequest, policy);
		if (response.statusCode >= 400) throw failureFor(response, parseLenient(response.text), connection, apiRequest);
		const body = parseJsonText(response, connection);
		if (readServiceError(body)) throw failureFor(response, body, connection, apiRequest);
		await connectionReleased();
		return { status: response.statusCode, body: body as T, requestId: requestIdOf(response) };
	});
}

/**
 * Sends a streaming request and feeds each decoded JSON payload to `onPayload` as it arrives.
 * Retries happen only before a successful response starts: a stream that has begun is never
 * sent again, since the service has already spent the tokens.
 */
export async function requestStream(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	onPayload: StreamHandler,
): Promise<StreamResponse> {
	// undici's headersTimeout is the limit until the stream starts; then only the idle timeout
	// (bodyTimeout) applies: tokens that keep coming keep it alive.
	const started = await withRetries(connection, policy, () => startStream(connection, apiRequest, policy, onPayload));
	try {
		const outcome = await started.finished;
		await connectionReleased();
		return outcome;
	} catch (caught) {
		throw normalise(caught, connection, policy.signal);
	}
}

type Attempt<T> = () => Promise<T>;

async function withRetries<T>(connection: Connection, policy: RequestPolicy, attempt: Attempt<T>): Promise<T> {
	const maxRetries = Math.max(0, policy.maxRetries ?? DEFAULT_MAX_RETRIES);
	for (let retry = 0; ; retry++) {
		try {
			return await attempt();
		} catch (caught) {
			const error = normalise(caught, connection, policy.signal);
			if (retry >= maxRetries || !isRetryable(error)) throw error;
			await sleep(backoffMs(retry, error, policy), policy.signal);
		}
	}
}

/** The status line and headers of a response: what errors and request ids are read from. */
type ResponseHead = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'>;

interface BufferedResponse extends ResponseHead {
	/** The body as text (an error body at most 64 KiB of it). */
	text: string;
}

/**
 * Sends a request and reads its whole answer through a plain dispatch handler. undici.request()
 * wraps every response in a Readable stream and an async resource; for an answer that is read
 * whole anyway, that machinery cost about a quarter of the CPU time of a request.
 */
function sendBuffered(connection: Connection, apiRequest: ApiRequest, policy: RequestPolicy): Promise<BufferedResponse> {
	const target = targetOf(apiRequest.baseUrl ?? connection.baseUrl, apiRequest.path);
	const options = dispatchOptions(connection, apiRequest, policy, target, false);
	const dispatcher = dispatcherFor(target.origin, connection.allowUnauthorizedCerts === true);
	const signal = policy.signal;
	if (signal?.aborted) return Promise.reject(abortReason(signal));
	return new Promise<BufferedResponse>((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let statusCode = 0;
		let headers: ResponseHead['headers'] = {};
		let errorBodyCut = false;
		// Undici may start a request more than once (a retried pipeline head): abort the latest.
		let controller: Dispatcher.DispatchController | undefined;
		const onAbort = () => controller?.abort(abortReason(signal));
		const finish = () => signal?.removeEventListener('abort', onAbort);
		const handler: Dispatcher.DispatchHandler = {
			onRequestStart(current) {
				controller = current;
				if (signal?.aborted) current.abort(abortReason(signal));
			},
			onResponseStart(_controller, status, responseHeaders) {
				if (status < 200) return;
				statusCode = status;
				headers = responseHeaders;
			},
			onResponseData(current, chunk) {
				chunks.push(chunk);
				size += chunk.length;
				// An HTML error page can be large and says little: 64 KiB of it is plenty.
				if (statusCode >= 400 && size >= MAX_ERROR_BODY_BYTES && !errorBodyCut) {
					errorBodyCut = true;
					current.abort(new Error('Error body read far enough'));
				}
			},
			onResponseEnd() {
				finish();
				resolve({ statusCode, headers, text: decodeBody(chunks, size) });
			},
			onResponseError(_controller, error) {
				finish();
				if (errorBodyCut) resolve({ statusCode, headers, text: decodeBody(chunks, size) });
				else reject(error);
			},
		};
		signal?.addEventListener('abort', onAbort, { once: true });
		try {
			dispatcher.dispatch(options, handler);
		} catch (error) {
			finish();
			reject(error);
		}
	});
}

interface StartedStream {
	/** Settles when the answer has been read to its end (or failed). */
	finished: Promise<StreamResponse>;
}

/**
 * Sends a streaming request through a plain dispatch handler that feeds every chunk straight
 * to the event reader, with no Readable stream or async iterator in between. Resolves once a
 * successful response starts (until then a failure may be retried); error statuses reject
 * with their body read. What comes after the start settles `finished`.
 */
function startStream(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	onPayload: StreamHandler,
): Promise<StartedStream> {
	const target = targetOf(apiRequest.baseUrl ?? connection.baseUrl, apiRequest.path);
	const options = dispatchOptions(connection, apiRequest, policy, target, true);
	const dispatcher = dispatcherFor(target.origin, connection.allowUnauthorizedCerts === true);
	const signal = policy.signal;
	if (signal?.aborted) return Promise.reject(abortReason(signal));
	return new Promise<StartedStream>((resolveStart, rejectStart) => {
		let resolveFinished: (outcome: StreamResponse) => void = () => undefined;
		let rejectFinished: (error: unknown) => void = () => undefined;
		const finished = new Promise<StreamResponse>((resolve, reject) => {
			resolveFinished = resolve;
			rejectFinished = reject;
		});
		// Rejections before the caller awaits it (an error in the first chunk) are not unhandled.
		finished.catch(() => undefined);

		let head: ResponseHead = { statusCode: 0, headers: {} };
		let mode: 'head' | 'events' | 'whole' | 'errorBody' = 'head';
		let reader: EventStreamReader | undefined;
		const chunks: Buffer[] = [];
		let size = 0;
		/** Why this side ended the request: a failure of our own, or enough read. */
		let stoppedBy: { failure: unknown } | 'enough' | undefined;
		let controller: Dispatcher.DispatchController | undefined;
		const onAbort = () => controller?.abort(abortReason(signal));
		const finish = () => signal?.removeEventListener('abort', onAbort);
		const stop = (current: Dispatcher.DispatchController, why: { failure: unknown } | 'enough') => {
			stoppedBy = why;
			current.abort(why === 'enough' ? new Error('Read far enough') : asError(why.failure));
		};
		const complete = () => {
			if (mode === 'head') {
				rejectStart(new Error('The response ended before its status line'));
				return;
			}
			if (mode === 'errorBody') {
				rejectStart(failureFor(head, parseLenient(decodeBody(chunks, size)), connection, apiRequest));
				return;
			}
			const requestId = requestIdOf(head);
			try {
				if (mode === 'whole') {
					// The server ignored `stream: true` and sent one JSON document.
					const body = parseJsonText({ ...head, text: decodeBody(chunks, size) }, connection);
					if (readServiceError(body)) throw failureFor(head, body, connection, apiRequest);
					resolveFinished({ kind: 'json', body, requestId });
				} else if (reader !== undefined) {
					resolveFinished({ kind: 'events', sawDone: reader.end().sawDone, requestId });
				}
			} catch (error) {
				rejectFinished(error);
			}
		};
		const handler: Dispatcher.DispatchHandler = {
			onRequestStart(current) {
				controller = current;
				if (signal?.aborted) current.abort(abortReason(signal));
			},
			onResponseStart(_controller, status, headers) {
				if (status < 200) return;
				head = { statusCode: status, headers };
				if (status >= 400) {
					mode = 'errorBody';
					return;
				}
				const contentType = headerValue(headers['content-type']) ?? '';
				if (contentType.includes('text/event-stream')) {
					mode = 'events';
					reader = new EventStreamReader(onPayload, { secrets: [connection.apiKey], requestId: requestIdOf(head) });
				} else {
					mode = 'whole';
				}
				resolveStart({ finished });
			},
			onResponseData(current, chunk) {
				if (stoppedBy !== undefined) return;
				if (reader !== undefined) {
					try {
						// Past [DONE] the rest is read only to keep the connection (see EventStreamReader).
						if (!reader.push(chunk)) stop(current, 'enough');
					} catch (error) {
						stop(current, { failure: error });
					}
					return;
				}
				chunks.push(chunk);
				size += chunk.length;
				// An HTML error page can be large and says little: 64 KiB of it is plenty.
				if (mode === 'errorBody' && size >= MAX_ERROR_BODY_BYTES) stop(current, 'enough');
			},
			onResponseEnd() {
				finish();
				complete();
			},
			onResponseError(_controller, error) {
				finish();
				if (stoppedBy === 'enough') complete();
				else if (mode === 'head' || mode === 'errorBody') rejectStart(stoppedBy?.failure ?? error);
				else rejectFinished(stoppedBy?.failure ?? error);
			},
		};
		signal?.addEventListener('abort', onAbort, { once: true });
		try {
			dispatcher.dispatch(options, handler);
		} catch (error) {
			finish();
			rejectStart(error);
		}
	});
}

function asError(value: unknown): Error {
	return value instanceof Error ? value : new Error(String(value));
}

function dispatchOptions(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	target: Target,
	stream: boolean,
): Dispatcher.DispatchOptions {
	const body = apiRequest.body;
	const authorization = `Bearer ${connection.apiKey}`;
	const accept = stream ? 'text/event-stream' : 'application/json';
	return {
		origin: target.origin,
		path: target.path,
		method: apiRequest.method,
		headers: body === undefined ? { authorization, accept } : { authorization, accept, 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
		// The timeout: a non-streamed completion sends its headers only when the whole answer is
		// ready, a stream when it starts. No timer of our own: a per-request AbortController and
		// timer cost more CPU than the rest of this client together.
		headersTimeout: policy.timeoutMs ?? DEFAULT_TIMEOUT_MS,
		bodyTimeout: policy.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
	};
}

function abortReason(signal: AbortSignal | undefined): Error {
	const reason: unknown = signal?.reason;
	return reason instanceof Error ? reason : new Error('The request was cancelled');
}

/** UTF-8 text of the body, without a leading byte order mark (as undici's body.text() does). */
function decodeBody(chunks: Buffer[], size: number): string {
	const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
	const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
	return bytes.toString('utf8', start);
}

interface Target {
	origin: string;
	/** Path and query, as undici sends them. */
	path: string;
}

/** Parsed request targets by base URL and path: a handful per process, each parsed once. */
const targets = new Map<string, Map<string, Target>>();
const MAX_CACHED_BASE_URLS = 64;

function targetOf(baseUrl: string, path: string): Target {
	let byPath = targets.get(baseUrl);
	const cached = byPath?.get(path);
	if (cached !== undefined) return cached;
	const url = new URL(joinUrl(baseUrl, path));
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		// The error undici.request() gave for this, so callers see no difference.
		throw new undiciErrors.InvalidArgumentError('Invalid URL protocol: the URL must start with `http:` or `https:`.');
	}
	const target = { origin: url.origin, path: `${url.pathname}${url.search}` };
	if (byPath === undefined) {
		if (targets.size >= MAX_CACHED_BASE_URLS) targets.clear();
		byPath = new Map();
		targets.set(baseUrl, byPath);
	}
	byPath.set(path, target);
	return target;
}

/**
 * undici hands a finished connection back to its pool one event-loop turn after the body ends;
 * a caller that sends its next request sooner would open a second connection for nothing.
 */
async function connectionReleased(): Promise<void> {
	await new Promise<void>((resolve) => setImmediate(resolve));
}

function joinUrl(baseUrl: string, path: string): string {
	return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function failureFor(
	response: ResponseHead,
	body: unknown,
	connection: Connection,
	apiRequest: ApiRequest,
): NebulaBlockError {
	return httpFailure({
		status: response.statusCode,
		body,
		requestId: requestIdOf(response),
		retryAfterMs: retryAfterMs(response.headers),
		path: apiRequest.path,
		secrets: [connection.apiKey],
	});
}

function parseJsonText(response: BufferedResponse, connection: Connection): unknown {
	const text = response.text;
	try {
		return JSON.parse(text);
	} catch {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			status: response.statusCode,
			message: redact(
				`The service sent a reply that is not JSON: ${text.slice(0, 200) || '(empty body)'}`,
				[connection.apiKey],
			),
			requestId: requestIdOf(response),
		});
	}
}

function parseLenient(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

function headerValue(value: string | string[] | undefined): string | undefined {
	return Array.isArray(value) ? value[0] : value;
}

function requestIdOf(response: ResponseHead): string | undefined {
	return headerValue(response.headers['x-request-id']) ?? headerValue(response.headers['request-id']);
}

function retryAfterMs(headers: Dispatcher.ResponseData['headers']): number | undefined {
	const ms = Number(headerValue(headers['retry-after-ms']));
	if (Number.isFinite(ms) && ms >= 0) return ms;
	const retryAfter = headerValue(headers['retry-after']);
	if (retryAfter === undefined) return undefined;
	const seconds = Number(retryAfter);
	if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
	const date = Date.parse(retryAfter);
	return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function normalise(
	caught: unknown,
	connection: Connection,
	cancel: AbortSignal | undefined,
): NebulaBlockError {
	if (caught instanceof NebulaBlockError) return caught;
	if (cancel?.aborted) {
		return new NebulaBlockError({ kind: 'aborted', message: 'The request was cancelled', cause: caught });
	}
	const code = errorCode(caught);
	if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
		return timeoutFailure(code, caught);
	}
	const message = caught instanceof Error ? caught.message : String(caught);
	return networkFailure(message, code, [connection.apiKey]);
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
	if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, cap);
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
