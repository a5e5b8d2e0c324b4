/** The shapes the transport's callers pass in and get back. */

/** Where to send requests and how to authenticate: what the credential holds. */
export interface Connection {
	baseUrl: string;
	apiKey: string;
	allowUnauthorizedCerts?: boolean;
}

export interface RequestPolicy {
	/** Until the answer starts: a stream's first event, a non-streamed answer's headers (sent when it is complete). Default 10 minutes. */
	timeoutMs?: number;
	/** Longest silence allowed between two chunks of a response body. Default 5 minutes. */
	idleTimeoutMs?: number;
	/** Retries after 408, 409, 429, 5xx and connection failures. Default 2. */
	maxRetries?: number;
	/** First backoff step; doubles each retry, with jitter. Default 500 ms. */
	retryBaseDelayMs?: number;
	/** Upper bound for any single wait; a Retry-After asking for more fails at once, not retried. Default 60 s. */
	maxRetryDelayMs?: number;
	/** The execution's cancel signal: aborting it aborts the request in flight and any backoff. */
	signal?: AbortSignal;
	/**
	 * Concurrency Auto: every attempt waits for the limiter shared by this credential and origin
	 * (limiters.ts), and a 429 is the limiter's to handle: it pauses everyone and the request goes
	 * again without using a retry, up to MAX_LIMITER_RETRIES times; past that, 429s count as retries.
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
