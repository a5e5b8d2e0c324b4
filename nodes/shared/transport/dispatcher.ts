import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';

/** Connections are reused across items and executions, so keep them open between bursts. */
const KEEP_ALIVE_MS = 30_000;
const KEEP_ALIVE_MAX_MS = 10 * 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

// Module state: one pooled dispatcher per origin and TLS setting; beside it, limiters.ts keeps
// Concurrency Auto's limiter per credential and origin. The package has no other.
const verified = new Map<string, Dispatcher>();
const insecure = new Map<string, Dispatcher>();

/**
 * Returns the shared keep-alive dispatcher for an origin. With HTTP_PROXY or HTTPS_PROXY set it
 * is an EnvHttpProxyAgent (which also honours NO_PROXY); without, a plain Agent: that is what an
 * EnvHttpProxyAgent would use for every request anyway, since it reads the proxy variables only
 * when it is built, and it spares each request the proxy agent's URL parsing and env lookups.
 */
export function dispatcherFor(origin: string, allowUnauthorizedCerts: boolean): Dispatcher {
	const dispatchers = allowUnauthorizedCerts ? insecure : verified;
	let dispatcher = dispatchers.get(origin);
	if (!dispatcher) {
		const tls = { rejectUnauthorized: !allowUnauthorizedCerts };
		const options = {
			keepAliveTimeout: KEEP_ALIVE_MS,
			keepAliveMaxTimeout: KEEP_ALIVE_MAX_MS,
			connect: { ...tls, timeout: DEFAULT_CONNECT_TIMEOUT_MS },
		};
		dispatcher = proxyConfigured() ? new EnvHttpProxyAgent({ ...options, requestTls: tls }) : new Agent(options);
		dispatchers.set(origin, dispatcher);
	}
	return dispatcher;
}

/** The variables EnvHttpProxyAgent reads (NO_PROXY only narrows them down). */
function proxyConfigured(): boolean {
	const env = process.env;
	return Boolean(env.http_proxy || env.HTTP_PROXY || env.https_proxy || env.HTTPS_PROXY);
}

/** Closes every pooled connection; for tests and benchmarks that must leave no socket open. */
export async function closeDispatchers(): Promise<void> {
	const all = [...verified.values(), ...insecure.values()];
	verified.clear();
	insecure.clear();
	await Promise.all(all.map(async (dispatcher) => await dispatcher.close()));
}
