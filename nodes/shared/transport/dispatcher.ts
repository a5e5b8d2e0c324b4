import { EnvHttpProxyAgent, type Dispatcher } from 'undici';

/** Connections are reused across items and executions, so keep them open between bursts. */
const KEEP_ALIVE_MS = 30_000;
const KEEP_ALIVE_MAX_MS = 10 * 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

// The only module state of the package: one pooled dispatcher per origin and TLS setting.
const dispatchers = new Map<string, Dispatcher>();

/**
 * Returns the shared keep-alive dispatcher for an origin. EnvHttpProxyAgent behaves like a
 * plain Agent unless HTTP_PROXY, HTTPS_PROXY or NO_PROXY say otherwise.
 */
export function dispatcherFor(origin: string, allowUnauthorizedCerts: boolean): Dispatcher {
	const key = `${origin}|${allowUnauthorizedCerts ? 'insecure' : 'verified'}`;
	let dispatcher = dispatchers.get(key);
	if (!dispatcher) {
		const tls = { rejectUnauthorized: !allowUnauthorizedCerts };
		dispatcher = new EnvHttpProxyAgent({
			keepAliveTimeout: KEEP_ALIVE_MS,
			keepAliveMaxTimeout: KEEP_ALIVE_MAX_MS,
			connect: { ...tls, timeout: DEFAULT_CONNECT_TIMEOUT_MS },
			requestTls: tls,
		});
		dispatchers.set(key, dispatcher);
	}
	return dispatcher;
}

/** Closes every pooled connection; for tests and benchmarks that must leave no socket open. */
export async function closeDispatchers(): Promise<void> {
	const all = [...dispatchers.values()];
	dispatchers.clear();
	await Promise.all(all.map(async (dispatcher) => await dispatcher.close()));
}
