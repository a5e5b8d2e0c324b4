import type { RequestPolicy } from './transport/client';

/** Turns the Timeout and Max Retries options into the transport's policy for one item. */
export function policyFromOptions(options: { timeout?: unknown; maxRetries?: unknown }, signal: AbortSignal): RequestPolicy {
	const policy: RequestPolicy = { signal };
	if (typeof options.timeout === 'number' && options.timeout > 0) policy.timeoutMs = options.timeout * 1000;
	if (typeof options.maxRetries === 'number' && options.maxRetries >= 0) policy.maxRetries = options.maxRetries;
	return policy;
}
