/** The shapes the transport's callers pass in and get back. */
import type { IHttpRequestOptions } from 'n8n-workflow';

/** n8n's HTTP helper with the credential's authentication, bound to the node's context. */
export type N8nHttp = (options: IHttpRequestOptions) => Promise<unknown>;

/** Where to send requests and how to authenticate: what the credential holds. */
export interface Connection {
	baseUrl: string;
	apiKey: string;
	allowUnauthorizedCerts?: boolean;
	/** What the cloud edition's adapter sends with (exchange.cloud.ts); the main edition sends on its own pool. */
	http?: N8nHttp;
}

export interface RequestPolicy {
	/**
	 * How long the request may take until its answer starts (a stream's first event, a non-streamed
	 * answer's headers), every wait and retry included. Default 10 minutes.
	 */
	timeoutMs?: number;
	/** Set by the retry engine for each attempt: what is left of timeoutMs when it starts. */
	attemptTimeoutMs?: number;
	/** Longest silence allowed between two chunks of a response body. Default 5 minutes. */
	idleTimeoutMs?: number;
	/**
	 * Retries after 408, 409, 429, 5xx and connection failures, as the user set them: 0 is exactly
	 * one request, in both modes. Unset: 2, and under Concurrency Auto up to 8 after a 429 (retryPolicy.ts).
	 */
	maxRetries?: number;
	/** The first backoff step (500 ms), for tests that cannot wait for it. */
	retryBaseDelayMs?: number;
	/** The execution's cancel signal: aborting it aborts the request in flight and any wait. */
	signal?: AbortSignal;
	/**
	 * Concurrency Auto: every attempt waits for the limiter shared by this API key and origin
	 * (limiters.ts), and a 429 pauses all of them (retry.ts).
	 */
	adaptive?: boolean;
	/** Filled in as the request goes: the 429s it met and the time it waited (for Include Rate Limit Stats). */
	stats?: RateLimitStats;
}

export interface RateLimitStats {
	/** Answers with HTTP 429 (rate limit). */
	responses429: number;
	/** Time spent waiting for the limiter (its pace, pauses and window) and in retry backoff. */
	waitedMs: number;
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
