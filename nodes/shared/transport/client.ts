/**
 * The transport's API: the only functions the nodes call to speak HTTP. A request is sent on a
 * shared keep-alive pool (dispatcher.ts), read by exchange.ts, retried by retry.ts; errors are
 * built in errors.ts only.
 */
import { clock } from '../clock';
import { AnswerCutShort, readServiceError } from './errors';
import { parseJsonOrText } from '../json';
import { sendBuffered, startStream } from './exchange';
import { failureFor, originOf, parseJsonText, requestIdOf } from './response';
import type { AdaptiveLimiter } from './limiter';
import { limitersOf } from './limiters';
import { normalise, withRetries } from './retry';
import type { StreamHandler } from './stream';
import type { ApiRequest, Connection, JsonResponse, RequestPolicy, StreamResponse } from './types';

export type { ApiRequest, Connection, JsonResponse, RateLimitStats, RequestPolicy, StreamResponse } from './types';
export { DEFAULT_IDLE_TIMEOUT_MS } from './response';
export { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from './retryPolicy';

/** Sends a request and returns its parsed JSON body; error statuses and error bodies throw. */
export async function requestJson<T = unknown>(
	connection: Connection,
	apiRequest: ApiRequest,
	policy: RequestPolicy = {},
): Promise<JsonResponse<T>> {
	return await withRetries(connection, policy, async (ticket) => {
		const response = await sendBuffered(connection, apiRequest, { ...policy, attemptTimeoutMs: ticket.timeoutMs });
		ticket.answered(response);
		if (response.statusCode >= 400) throw failureFor(response, parseJsonOrText(response.text), connection, apiRequest);
		const body = parseJsonText(response, connection);
		if (readServiceError(body)) throw failureFor(response, body, connection, apiRequest);
		await connectionReleased();
		return { status: response.statusCode, body: body as T, requestId: requestIdOf(response) };
	}, limiterOf(connection, apiRequest, policy));
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
	// The timeout is the limit until the first event (headers, then the first token); then only
	// the idle timeout (bodyTimeout) applies: tokens that keep coming keep it alive.
	const started = await withRetries(
		connection,
		policy,
		async (ticket) => {
			const stream = await startStream(connection, apiRequest, { ...policy, attemptTimeoutMs: ticket.timeoutMs }, onPayload);
			ticket.answered(stream.head);
			// A stream being read still occupies the service: it keeps its place in the window.
			ticket.holdUntil(stream.finished);
			return stream;
		},
		limiterOf(connection, apiRequest, policy),
	);
	try {
		const outcome = await started.finished;
		await connectionReleased();
		return outcome;
	} catch (caught) {
		throw normalise(new AnswerCutShort(caught), connection, policy.signal);
	}
}

/**
 * Each connection's limiter lookup, its API key hashed once (limitersOf): hashing it per request
 * cost a hash object, a digest and its strings for every item. Weak, so an execution's connection
 * takes its entry with it; the key is checked, should a connection's key ever change.
 */
const lookups = new WeakMap<Connection, { apiKey: string; limiterAt: (origin: string) => AdaptiveLimiter }>();

/** With Concurrency Auto, the limiter of this credential and the origin the request goes to. */
function limiterOf(connection: Connection, apiRequest: ApiRequest, policy: RequestPolicy): AdaptiveLimiter | undefined {
	if (policy.adaptive !== true) return undefined;
	let lookup = lookups.get(connection);
	if (lookup === undefined || lookup.apiKey !== connection.apiKey) {
		lookup = { apiKey: connection.apiKey, limiterAt: limitersOf(connection.apiKey) };
		lookups.set(connection, lookup);
	}
	return lookup.limiterAt(originOf(apiRequest.baseUrl ?? connection.baseUrl, apiRequest.path));
}

/**
 * undici hands a finished connection back to its pool one event-loop turn after the body ends;
 * a caller that sends its next request sooner would open a second connection for nothing.
 */
async function connectionReleased(): Promise<void> {
	await clock.nextTurn();
}
