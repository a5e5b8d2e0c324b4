/**
 * One HTTP exchange over undici's dispatch API: the request sent on the shared pool, the answer
 * read whole (sendBuffered) or fed chunk by chunk to the event reader (startStream), and the
 * response's error body, request id and Retry-After read. Retries live in retry.ts.
 */
import { errors as undiciErrors, type Dispatcher } from 'undici';

import { clock, type Timer } from '../clock';
import { parseJson, parseJsonOrText } from '../json';
import { dispatcherFor } from './dispatcher';
import { AnswerCutShort, NebulaBlockError, firstTokenTimeout, httpFailure, readServiceError, redact } from './errors';
import { DEFAULT_TIMEOUT_MS } from './retryPolicy';
import { EventStreamReader, type StreamHandler } from './stream';
import type { ApiRequest, Connection, RequestPolicy, StreamResponse } from './types';

export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The status line and headers of a response: what errors and request ids are read from. */
export type ResponseHead = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'>;

export interface BufferedResponse extends ResponseHead {
	/** The body as text (an error body at most 64 KiB of it). */
	text: string;
}

/**
 * Sends a request and reads its whole answer through a plain dispatch handler. undici.request()
 * wraps every response in a Readable stream and an async resource; for an answer that is read
 * whole anyway, that machinery cost about a quarter of the CPU time of a request.
 */
export function sendBuffered(connection: Connection, apiRequest: ApiRequest, policy: RequestPolicy): Promise<BufferedResponse> {
	return new Promise<BufferedResponse>((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let statusCode = 0;
		let headers: ResponseHead['headers'] = {};
		let errorBodyCut = false;
		const handler: Dispatcher.DispatchHandler = {
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
				resolve({ statusCode, headers, text: decodeBody(chunks, size) });
			},
			onResponseError(_controller, error) {
				if (errorBodyCut) resolve({ statusCode, headers, text: decodeBody(chunks, size) });
				// A non-streamed answer's headers come when it is complete: lost now, it was generated.
				else if (statusCode >= 200 && statusCode < 300) reject(new AnswerCutShort(error));
				else reject(error);
			},
		};
		dispatchRequest(connection, apiRequest, policy, false, handler, reject);
	});
}

export interface StartedStream {
	/** The status line and headers (what the rate limiter reads). */
	head: ResponseHead;
	/** Settles when the answer has been read to its end (or failed). */
	finished: Promise<StreamResponse>;
}

/**
 * Sends a streaming request through a plain dispatch handler that feeds every chunk straight
 * to the event reader, with no Readable stream or async iterator in between. Resolves once a
 * successful response starts (until then a failure may be retried); error statuses reject
 * with their body read. What comes after the start settles `finished`.
 *
 * The timeout runs until the first event: servers like vLLM send the headers of a stream at
 * once and the first token only when the prompt is processed. From the first event on, only
 * the idle timeout applies, so a stream that keeps delivering is never cut.
 */
export function startStream(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	onPayload: StreamHandler,
): Promise<StartedStream> {
	return new Promise<StartedStream>((resolveStart, rejectStart) => {
		let resolveFinished: (outcome: StreamResponse) => void = () => undefined;
		let rejectFinished: (error: unknown) => void = () => undefined;
		const finished = new Promise<StreamResponse>((resolve, reject) => {
			resolveFinished = resolve;
			rejectFinished = reject;
		});
		// Rejections before the caller awaits it (an error in the first chunk) are not unhandled.
		finished.catch(() => undefined);

		const timeoutMs = attemptTimeoutMs(policy);
		const sentAt = clock.now();
		let firstEventTimer: Timer | undefined;
		const answerStarted = () => {
			firstEventTimer?.cancel();
			firstEventTimer = undefined;
		};
		let head: ResponseHead = { statusCode: 0, headers: {} };
		let mode: 'head' | 'events' | 'whole' | 'errorBody' = 'head';
		let reader: EventStreamReader | undefined;
		const chunks: Buffer[] = [];
		let size = 0;
		/** Why this side ended the request: a failure of our own, or enough read. */
		let stoppedBy: { failure: unknown } | 'enough' | undefined;
		const stop = (current: Dispatcher.DispatchController, why: { failure: unknown } | 'enough') => {
			stoppedBy = why;
			current.abort(why === 'enough' ? new Error('Read far enough') : asError(why.failure));
		};
		const complete = () => {
			answerStarted();
			if (mode === 'head') {
				rejectStart(new Error('The response ended before its status line'));
				return;
			}
			if (mode === 'errorBody') {
				rejectStart(failureFor(head, parseJsonOrText(decodeBody(chunks, size)), connection, apiRequest));
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
			onResponseStart(current, status, headers) {
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
					// undici's headersTimeout covered the wait so far; what is left of it is for the first event.
					const left = Math.max(0, timeoutMs - (clock.now() - sentAt));
					firstEventTimer = clock.setTimer(left, () => stop(current, { failure: firstTokenTimeout(policy.timeoutMs ?? DEFAULT_TIMEOUT_MS) }));
				} else {
					mode = 'whole';
				}
				resolveStart({ head, finished });
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
					if (firstEventTimer !== undefined && reader.sawEvent) answerStarted();
					return;
				}
				chunks.push(chunk);
				size += chunk.length;
				// An HTML error page can be large and says little: 64 KiB of it is plenty.
				if (mode === 'errorBody' && size >= MAX_ERROR_BODY_BYTES) stop(current, 'enough');
			},
			onResponseEnd() {
				complete();
			},
			onResponseError(_controller, error) {
				answerStarted();
				if (stoppedBy === 'enough') complete();
				else if (mode === 'head' || mode === 'errorBody') rejectStart(stoppedBy?.failure ?? error);
				else rejectFinished(stoppedBy?.failure ?? error);
			},
		};
		dispatchRequest(connection, apiRequest, policy, true, handler, rejectStart);
	});
}

/**
 * Sends the request on the origin's pooled dispatcher, `handler` reading the answer. Cancelling
 * the execution aborts it at any point; `fail` gets what went wrong before it could be sent.
 */
function dispatchRequest(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	stream: boolean,
	handler: Dispatcher.DispatchHandler,
	fail: (error: unknown) => void,
): void {
	const signal = policy.signal;
	if (signal?.aborted) return fail(abortReason(signal));
	// Undici may start a request more than once (a retried pipeline head): abort the latest.
	let controller: Dispatcher.DispatchController | undefined;
	const onAbort = () => controller?.abort(abortReason(signal));
	const settled = () => signal?.removeEventListener('abort', onAbort);
	const wired: Dispatcher.DispatchHandler = {
		onRequestStart(current, context) {
			controller = current;
			if (signal?.aborted) current.abort(abortReason(signal));
			handler.onRequestStart?.(current, context);
		},
		onResponseStart: handler.onResponseStart,
		onResponseData: handler.onResponseData,
		onResponseEnd(current, trailers) {
			settled();
			handler.onResponseEnd?.(current, trailers);
		},
		onResponseError(current, error) {
			settled();
			handler.onResponseError?.(current, error);
		},
	};
	try {
		const target = targetOf(apiRequest.baseUrl ?? connection.baseUrl, apiRequest.path);
		const dispatcher = dispatcherFor(target.origin, connection.allowUnauthorizedCerts === true);
		signal?.addEventListener('abort', onAbort, { once: true });
		dispatcher.dispatch(dispatchOptions(connection, apiRequest, policy, target, stream), wired);
	} catch (error) {
		settled();
		fail(error);
	}
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
		// ready, so undici's headersTimeout is all it needs; a stream's wait for its first event
		// gets one timer in startStream. No AbortController per request: with a timer each, they
		// cost more CPU than the rest of this client together.
		headersTimeout: attemptTimeoutMs(policy),
		bodyTimeout: policy.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
	};
}

/** What is left of the request's Timeout for this attempt (the retry engine sets it), or the whole Timeout. */
function attemptTimeoutMs(policy: RequestPolicy): number {
	return policy.attemptTimeoutMs ?? policy.timeoutMs ?? DEFAULT_TIMEOUT_MS;
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

/** The origin a request goes to; the base URL as it is when it cannot be parsed (the request then fails on its own). */
export function originOf(baseUrl: string, path: string): string {
	try {
		return targetOf(baseUrl, path).origin;
	} catch {
		return baseUrl;
	}
}

function joinUrl(baseUrl: string, path: string): string {
	return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export function failureFor(
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

export function parseJsonText(response: BufferedResponse, connection: Connection): unknown {
	const text = response.text;
	const parsed = parseJson(text);
	if (parsed.ok) return parsed.value;
	throw new NebulaBlockError({
		kind: 'invalidResponse',
		status: response.statusCode,
		message: redact(`The service sent a reply that is not JSON: ${text.slice(0, 200) || '(empty body)'}`, [connection.apiKey]),
		requestId: requestIdOf(response),
	});
}

function headerValue(value: string | string[] | undefined): string | undefined {
	return Array.isArray(value) ? value[0] : value;
}

export function requestIdOf(response: ResponseHead): string | undefined {
	return headerValue(response.headers['x-request-id']) ?? headerValue(response.headers['request-id']);
}

/** A number of seconds (or milliseconds) as HTTP writes it: digits, perhaps a fraction. */
const DELAY_NUMBER = /^\d+(?:\.\d+)?$/;
/** The three date forms of HTTP (RFC 9110 5.6.7); V8's Date.parse reads almost any text as some date. */
const HTTP_DATE = /^[A-Za-z]{3,9},? [\dA-Za-z -]+ \d{2}:\d{2}:\d{2}(?: GMT| \d{4})$/;

/**
 * The wait the service asks for, or undefined when it asks for none the client can read: an
 * empty or unparsable header then leaves the normal backoff in charge instead of meaning "now".
 */
export function retryAfterMs(headers: Dispatcher.ResponseData['headers']): number | undefined {
	const ms = headerValue(headers['retry-after-ms'])?.trim();
	if (ms !== undefined && DELAY_NUMBER.test(ms)) return Number(ms);
	const retryAfter = headerValue(headers['retry-after'])?.trim();
	if (retryAfter === undefined) return undefined;
	if (DELAY_NUMBER.test(retryAfter)) return Number(retryAfter) * 1000;
	if (!HTTP_DATE.test(retryAfter)) return undefined;
	const date = Date.parse(retryAfter);
	return Number.isNaN(date) ? undefined : Math.max(0, date - clock.wallNow());
}
