/**
 * Reading one answer, whatever sends the request: handlers fed the status line, the body chunk
 * by chunk and the end (or an error), that read a whole answer (readWhole) or a stream's events
 * as they come (readStream). The transport's adapter (exchange.ts) drives them from its HTTP
 * client; nothing here knows which one it is.
 */
import { clock, type Timer } from '../clock';
import { parseJsonOrText } from '../json';
import { AnswerCutShort, firstTokenTimeout, readServiceError } from './errors';
import { decodeBody, failureFor, headerValue, parseJsonText, requestIdOf, type BufferedResponse, type ResponseHead } from './response';
import { DEFAULT_TIMEOUT_MS } from './retryPolicy';
import { EventStreamReader, type StreamHandler } from './stream';
import type { ApiRequest, Connection, RequestPolicy, StreamResponse } from './types';

const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** What a reader may do to the request: stop it (enough read, or a failure of its own). */
export interface AnswerControl {
	abort(reason: Error): void;
}

/** The events of one answer, in undici's dispatch-handler shape (which the main edition's adapter passes them in). */
export interface AnswerHandler {
	onResponseStart(control: AnswerControl, statusCode: number, headers: ResponseHead['headers']): void;
	onResponseData(control: AnswerControl, chunk: Buffer): void;
	onResponseEnd(control: AnswerControl, trailers: unknown): void;
	onResponseError(control: AnswerControl, error: Error): void;
}

export interface StartedStream {
	/** The status line and headers (what the rate limiter reads). */
	head: ResponseHead;
	/** Settles when the answer has been read to its end (or failed). */
	finished: Promise<StreamResponse>;
}

/** Reads a whole answer (an error body at most 64 KiB of it); `result` settles when it is read. */
export function readWhole(): { handler: AnswerHandler; result: Promise<BufferedResponse> } {
	let handler!: AnswerHandler;
	const result = new Promise<BufferedResponse>((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let statusCode = 0;
		let headers: ResponseHead['headers'] = {};
		let errorBodyCut = false;
		handler = {
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
	});
	return { handler, result };
}

/**
 * Reads a streaming answer: every chunk goes straight to the event reader. `started` resolves
 * once a successful response starts (until then a failure may be retried); error statuses reject
 * it with their body read. What comes after the start settles `finished`.
 *
 * The timeout runs until the first event: servers like vLLM send the headers of a stream at
 * once and the first token only when the prompt is processed. From the first event on, only
 * the idle timeout applies, so a stream that keeps delivering is never cut.
 */
export function readStream(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	onPayload: StreamHandler,
): { handler: AnswerHandler; started: Promise<StartedStream> } {
	let handler!: AnswerHandler;
	const started = new Promise<StartedStream>((resolveStart, rejectStart) => {
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
		const stop = (current: AnswerControl, why: { failure: unknown } | 'enough') => {
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
		handler = {
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
	});
	return { handler, started };
}

/** What is left of the request's Timeout for this attempt (the retry engine sets it), or the whole Timeout. */
export function attemptTimeoutMs(policy: RequestPolicy): number {
	return policy.attemptTimeoutMs ?? policy.timeoutMs ?? DEFAULT_TIMEOUT_MS;
}

function asError(value: unknown): Error {
	return value instanceof Error ? value : new Error(String(value));
}

