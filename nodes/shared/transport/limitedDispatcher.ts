/**
 * Puts a dispatcher's requests through Concurrency Auto's limiter (limiter.ts), for HTTP this
 * package does not send itself: the Chat Model's calls are made by LangChain's OpenAI client, which
 * only lets us choose its dispatcher. Each request waits for the limiter of its origin and API key
 * (the registry entry the nodes use for the same credential, limiters.ts) before it is sent, tells
 * it what came back (status, Retry-After, x-ratelimit-* headers, latency), and keeps its place
 * until its body has been read to the end or failed, so a streamed answer holds it while it streams.
 * Retrying stays the client's job.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Dispatcher } from 'undici';

import { retryAfterMs } from './exchange';
import { readQuota, type AdaptiveLimiter, type Outcome, type Permit } from './limiter';
import { limitersOf } from './limiters';

/**
 * `pool` with every request gated by the limiter of (its origin, `apiKey`). The key is only hashed
 * by the registry, once per dispatcher; closing or destroying the result closes `pool`.
 */
export function limitedDispatcher(pool: Dispatcher, apiKey: string): Dispatcher {
	const limiterFor = limitersOf(apiKey);
	return pool.compose((dispatch) => (options, handler) => {
		const origin = originOf(options.origin);
		if (origin === undefined) return dispatch(options, handler);
		new LimitedRequest(handler, limiterFor(origin)).send(dispatch, options);
		// The request is queued (or sent): the caller has nothing to wait for before its next one.
		return true;
	});
}

function originOf(origin: string | URL | undefined): string | undefined {
	if (origin === undefined) return undefined;
	try {
		return new URL(String(origin)).origin;
	} catch {
		return undefined;
	}
}

type Dispatch = (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean;

/** One request: waits for its permit, then goes to the pool with itself as the handler in between. */
class LimitedRequest implements Dispatcher.DispatchHandler {
	/** Cancels the wait in the limiter when the caller aborts before the request was sent. */
	private readonly cancelWait = new AbortController();
	/** The pool's controller, once the request was handed to it. */
	private sent: Dispatcher.DispatchController | undefined;
	private permit: Permit | undefined;
	private outcome: Outcome = {};
	/** What the caller controls the request with, from the start: it forwards to the pool's controller once there is one. */
	private readonly controller: Dispatcher.DispatchController;

	constructor(
		private readonly handler: Dispatcher.DispatchHandler,
		private readonly limiter: AdaptiveLimiter,
	) {
		const wait = this.cancelWait.signal;
		const sent = () => this.sent;
		this.controller = {
			get aborted() {
				return sent()?.aborted ?? wait.aborted;
			},
			get paused() {
				return sent()?.paused ?? false;
			},
			get reason() {
				return sent()?.reason ?? (wait.aborted ? (wait.reason as Error) : null);
			},
			abort: (reason: Error) => {
				if (this.sent) this.sent.abort(reason);
				else this.cancelWait.abort(reason);
			},
			pause: () => this.sent?.pause(),
			resume: () => this.sent?.resume(),
		};
	}

	send(dispatch: Dispatch, options: Dispatcher.DispatchOptions): void {
		// The caller gets its controller before the wait, so a request cancelled while it waits
		// (the client's timeout, an execution stopped) leaves the queue at once.
		this.handler.onRequestStart?.(this.controller, {});
		this.limiter.acquire(this.cancelWait.signal).then(
			(permit) => {
				this.permit = permit;
				try {
					dispatch(options, this);
				} catch (error) {
					this.onResponseError(this.controller, error as Error);
				}
			},
			(reason: Error) => this.handler.onResponseError?.(this.controller, reason),
		);
	}

	onRequestStart(controller: Dispatcher.DispatchController): void {
		this.sent = controller;
		if (this.cancelWait.signal.aborted) controller.abort(this.cancelWait.signal.reason as Error);
	}

	onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
		this.release();
		this.handler.onRequestUpgrade?.(this.controller, statusCode, headers, socket);
	}

	onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
		// 1xx heads are not the answer.
		if (statusCode >= 200) {
			this.outcome = { status: statusCode, answeredAt: this.limiter.clock.now(), quota: readQuota(headers) };
			if (statusCode === 429) this.outcome.retryAfterMs = retryAfterMs(headers);
		}
		this.handler.onResponseStart?.(this.controller, statusCode, headers, statusMessage);
	}

	onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
		this.handler.onResponseData?.(this.controller, chunk);
	}

	onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
		this.release();
		this.handler.onResponseEnd?.(this.controller, trailers);
	}

	onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
		this.release();
		this.handler.onResponseError?.(this.controller, error);
	}

	/** The body was read to its end or failed (no head: no status, which tells the limiter nothing but frees the place). */
	private release(): void {
		this.permit?.finish(this.outcome);
	}
}
