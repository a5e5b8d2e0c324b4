/**
 * The main edition's adapter: one HTTP exchange over undici's dispatch API on the shared pool
 * (dispatcher.ts), the answer read by answer.ts's handlers. undici.request() would wrap every
 * response in a Readable stream and an async resource; for answers read whole or fed chunk by
 * chunk to the event reader, that machinery cost about a quarter of the CPU time of a request.
 */
import type { Dispatcher } from 'undici';

import { readStream, readWhole, attemptTimeoutMs, type AnswerHandler, type StartedStream } from './answer';
import { dispatcherFor } from './dispatcher';
import { DEFAULT_IDLE_TIMEOUT_MS, targetOf, type BufferedResponse, type Target } from './response';
import type { StreamHandler } from './stream';
import type { ApiRequest, Connection, RequestPolicy } from './types';

/** Sends a request and reads its whole answer. */
export function sendBuffered(connection: Connection, apiRequest: ApiRequest, policy: RequestPolicy): Promise<BufferedResponse> {
	const { handler, result } = readWhole();
	let failed: Promise<never> | undefined;
	dispatchRequest(connection, apiRequest, policy, false, handler, (error) => (failed = Promise.reject(error)));
	return failed ?? result;
}

/** Sends a streaming request; resolves once a successful answer starts (see readStream). */
export function startStream(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	onPayload: StreamHandler,
): Promise<StartedStream> {
	const { handler, started } = readStream(connection, apiRequest, policy, onPayload);
	let failed: Promise<never> | undefined;
	dispatchRequest(connection, apiRequest, policy, true, handler, (error) => (failed = Promise.reject(error)));
	return failed ?? started;
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
	handler: AnswerHandler,
	fail: (error: unknown) => void,
): void {
	const signal = policy.signal;
	if (signal?.aborted) return fail(abortReason(signal));
	// Undici may start a request more than once (a retried pipeline head): abort the latest.
	let controller: Dispatcher.DispatchController | undefined;
	const onAbort = () => controller?.abort(abortReason(signal));
	const settled = () => signal?.removeEventListener('abort', onAbort);
	const wired: Dispatcher.DispatchHandler = {
		onRequestStart(current) {
			controller = current;
			if (signal?.aborted) current.abort(abortReason(signal));
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

function abortReason(signal: AbortSignal | undefined): Error {
	const reason: unknown = signal?.reason;
	return reason instanceof Error ? reason : new Error('The request was cancelled');
}

