import type { RateLimitStats, RequestPolicy } from './transport/client';

/** How the runner has an item's requests paced: Concurrency Auto or Fixed, and where its stats go. */
export interface ItemPacing {
	signal: AbortSignal;
	/** Concurrency Auto: the requests go through the limiter shared per credential and origin. */
	adaptive?: boolean;
	stats?: RateLimitStats;
}

/** Turns the Timeout and Max Retries options into the transport's policy for one item. */
export function policyFromOptions(options: { timeout?: unknown; maxRetries?: unknown }, pacing: ItemPacing): RequestPolicy {
	const policy: RequestPolicy = { signal: pacing.signal, adaptive: pacing.adaptive === true, stats: pacing.stats };
	if (typeof options.timeout === 'number' && options.timeout > 0) policy.timeoutMs = options.timeout * 1000;
	if (typeof options.maxRetries === 'number' && options.maxRetries >= 0) policy.maxRetries = options.maxRetries;
	return policy;
}
