/**
 * The fetch the Chat Model's OpenAI client sends with. Its own retries are off: each call goes
 * through the package's one retry engine (retry.ts) and the limiter of its API key and origin
 * (limiters.ts), the ones the Chat Completion and Text Generate nodes use, so an agent and a node
 * on one key share one window, one pace and one pause, and obey the same Max Retries, caps and
 * Timeout. A streamed answer keeps its place in the window until its body has been read.
 */
import { fetch as undiciFetch, type Dispatcher } from 'undici';

import { parseJsonOrText } from '../json';
import { ModelRequestFailed, type NebulaBlockError } from './errors';
import { failureFor, type ResponseHead } from './response';
import { limitersOf } from './limiters';
import { withRetries, type AttemptTicket } from './retry';
import type { Connection } from './types';

export interface ModelFetchTuning {
	/** Max Retries as the user set it; undefined when not set. */
	maxRetries?: number;
	timeoutMs: number;
}

type FetchInput = Parameters<typeof undiciFetch>[0];
type FetchInit = NonNullable<Parameters<typeof undiciFetch>[1]>;

/** A fetch for the OpenAI client's `fetch` option: requests go on `pool`, through the limiter and the retry engine. */
export function modelFetch(connection: Connection, pool: Dispatcher, tuning: ModelFetchTuning) {
	// The key is hashed once per model, not once per request.
	const limiterOf = limitersOf(connection.apiKey);
	return async (input: FetchInput, init: FetchInit = {}): Promise<Response> => {
		const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
		const signal = init.signal ?? undefined;
		const policy = { timeoutMs: tuning.timeoutMs, maxRetries: tuning.maxRetries, signal };
		try {
			return await withRetries(connection, policy, async (ticket) => await attempt(url, init, pool, ticket, connection), limiterOf(url.origin));
		} catch (caught) {
			// This fetch's caller is the OpenAI client, not n8n: it must reject as a fetch does. A cancel
			// stays the client's own to report; anything else is carried to modelError.ts, which makes
			// the NodeApiError n8n shows.
			throw signal?.aborted ? caught : new ModelRequestFailed(caught as NebulaBlockError);
		}
	};
}

async function attempt(url: URL, init: FetchInit, pool: Dispatcher, ticket: AttemptTicket, connection: Connection): Promise<Response> {
	const response = await undiciFetch(url, { ...init, dispatcher: pool }).catch((error: unknown) => {
		throw unwrapped(error);
	});
	const head: ResponseHead = { statusCode: response.status, headers: Object.fromEntries(response.headers) as Record<string, string> };
	ticket.answered(head);
	if (response.status >= 400) {
		throw failureFor(head, parseJsonOrText(await response.text()), connection, { method: 'POST', path: url.pathname });
	}
	if (response.body === null) return response as unknown as Response;
	// The place in the window is held until the body has been read to its end (or dropped).
	let release: () => void = () => undefined;
	ticket.holdUntil(new Promise<void>((resolve) => (release = resolve)));
	const reader = response.body.getReader();
	const body = new ReadableStream<Uint8Array>({
		async pull(controller) {
			try {
				const { done, value } = await reader.read();
				if (done) {
					release();
					controller.close();
				} else {
					controller.enqueue(value);
				}
			} catch (error) {
				release();
				controller.error(error);
			}
		},
		async cancel(reason) {
			release();
			await reader.cancel(reason);
		},
	});
	return new Response(body, { status: response.status, statusText: response.statusText, headers: head.headers as Record<string, string> });
}

/**
 * undici's fetch hides what the socket or the TLS layer said ("self-signed certificate",
 * "connect ECONNREFUSED ...") under a TypeError "fetch failed"; the engine words its error from
 * the error it is given, as it gets it from undici's request for the nodes, so it gets the cause.
 */
function unwrapped(error: unknown): unknown {
	const { message, cause } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; cause?: unknown };
	return message === 'fetch failed' && cause !== undefined && cause !== null ? cause : error;
}
