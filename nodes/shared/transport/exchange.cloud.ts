/**
 * The cloud edition's adapter (it replaces exchange.ts there): one HTTP exchange through n8n's own
 * helper, `httpRequestWithAuthentication` (which adds the credential's Authorization header), the
 * answer read as a stream by the same handlers as the main edition's (answer.ts), so parsing,
 * streaming and error texts are the same code.
 *
 * What n8n's helper does not allow, against the main edition:
 * - It sends every request on a new connection (no keep-alive pool shared across items).
 * - It replaces the request's abort signal with the execution's: cancelling the execution stops a
 *   request, but nothing can stop one request alone before its answer starts; once it answers, the
 *   item's signal stops it (its body is destroyed).
 * - Its `timeout` is one socket-idle timeout. A non-streamed answer gets the Timeout as that idle
 *   limit (it sends nothing until it is complete); a stream gets the idle limit between two chunks
 *   (5 minutes) for its headers too, and the Timeout for its first event after them.
 */
import { readStream, readWhole, attemptTimeoutMs, type AnswerControl, type AnswerHandler, type StartedStream } from './answer';
import { DEFAULT_IDLE_TIMEOUT_MS, targetOf, type BufferedResponse, type ResponseHead } from './response';
import type { StreamHandler } from './stream';
import type { ApiRequest, Connection, RequestPolicy } from './types';

/** Sends a request and reads its whole answer. */
export async function sendBuffered(connection: Connection, apiRequest: ApiRequest, policy: RequestPolicy): Promise<BufferedResponse> {
	const { handler, result } = readWhole();
	void exchange(connection, apiRequest, policy, false, handler);
	return await result;
}

/** Sends a streaming request; resolves once a successful answer starts (see readStream). */
export async function startStream(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy,
	onPayload: StreamHandler,
): Promise<StartedStream> {
	const { handler, started } = readStream(connection, apiRequest, policy, onPayload);
	void exchange(connection, apiRequest, policy, true, handler);
	return await started;
}

/** The body of an answer n8n's helper streams: Node's response stream, read chunk by chunk. */
interface BodyStream extends AsyncIterable<Buffer> {
	destroy(error?: Error): void;
}

/** What n8n's helper resolves with, given `returnFullResponse` and `encoding: 'stream'`. */
interface FullResponse {
	body: BodyStream;
	headers: Record<string, string | string[] | undefined>;
	statusCode: number;
}

/** Sends the request through n8n's helper and feeds its answer, chunk by chunk, to `handler`. */
async function exchange(connection: Connection, apiRequest: ApiRequest, policy: RequestPolicy, stream: boolean, handler: AnswerHandler): Promise<void> {
	let body: BodyStream | undefined;
	const control: AnswerControl = { abort: (reason) => body?.destroy(reason) };
	let response: FullResponse;
	try {
		if (policy.signal?.aborted) throw policy.signal.reason ?? new Error('The request was cancelled');
		if (connection.http === undefined) throw new Error('No n8n HTTP helper for this request');
		const target = targetOf(apiRequest.baseUrl ?? connection.baseUrl, apiRequest.path);
		response = (await connection.http({
			url: `${target.origin}${target.path}`,
			method: apiRequest.method,
			headers: {
				accept: stream ? 'text/event-stream' : 'application/json',
				...(apiRequest.body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: apiRequest.body === undefined ? undefined : JSON.stringify(apiRequest.body),
			json: false,
			encoding: 'stream',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			skipSslCertificateValidation: connection.allowUnauthorizedCerts === true,
			timeout: stream ? (policy.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) : attemptTimeoutMs(policy),
		})) as FullResponse;
	} catch (error) {
		handler.onResponseError(control, whatFailed(error));
		return;
	}
	body = response.body;
	// Once the answer flows, the item's own signal can stop it (another item failed, the run stopped).
	const signal = policy.signal;
	const onAbort = () => control.abort(signal?.reason instanceof Error ? signal.reason : new Error('The request was cancelled'));
	signal?.addEventListener('abort', onAbort, { once: true });
	handler.onResponseStart(control, response.statusCode, plainHeaders(response.headers));
	try {
		if (signal?.aborted) onAbort();
		for await (const chunk of body) handler.onResponseData(control, chunk);
		handler.onResponseEnd(control, {});
	} catch (error) {
		handler.onResponseError(control, whatFailed(error));
	} finally {
		signal?.removeEventListener('abort', onAbort);
	}
}

function plainHeaders(headers: FullResponse['headers']): ResponseHead['headers'] {
	return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value as string | string[] | undefined]));
}

/**
 * What the HTTP client said, as the transport reads it (errors.ts makes the text): n8n's helper
 * wraps it in a NodeApiError that keeps the client's code in `httpCode` and its words in
 * `messages`. No instanceof: errors from Node's own modules can come from another realm.
 */
function whatFailed(error: unknown): Error {
	const wrapped = error as { name?: unknown; message?: unknown; code?: unknown; httpCode?: unknown; messages?: unknown };
	if (wrapped.name === 'NodeApiError') {
		const code = typeof wrapped.httpCode === 'string' && /^[A-Z_]+$/.test(wrapped.httpCode) ? wrapped.httpCode : undefined;
		const said = Array.isArray(wrapped.messages) ? wrapped.messages.find((line): line is string => typeof line === 'string' && line !== '') : undefined;
		return Object.assign(new Error(said ?? String(wrapped.message)), { code });
	}
	// A body cut off by the other side: the words undici uses for it, so both editions say the same.
	if (wrapped.message === 'aborted' && wrapped.code === 'ECONNRESET') return Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
	return typeof wrapped.message === 'string' ? (error as Error) : new Error(String(error));
}
