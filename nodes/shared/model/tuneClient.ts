import { EnvHttpProxyAgent, type Dispatcher } from 'undici';

import type { ClientTuning } from './config';

/**
 * What `supplyModel` hands the OpenAI client of a LangChain ChatOpenAI, as it keeps it:
 * `clientConfig` is spread into every request's options, and `fetchOptions` is one object
 * shared by the model and the Chat Completions and Responses models inside it.
 */
interface TunableModel {
	clientConfig?: { maxRetries?: number; timeout?: number; fetchOptions?: { dispatcher?: unknown } };
	completions?: TunableModel;
	responses?: TunableModel;
}

export interface TuneResult {
	/** How many client configurations took the settings; 0 means the model has another shape. */
	tuned: number;
	/** Set when an insecure dispatcher was made: the caller owns it and closes it at the end. */
	dispatcher?: Dispatcher;
}

/**
 * Sets what `supplyModel` cannot take: per-request retries of the OpenAI client (429, 5xx,
 * dropped connections, timeouts, with Retry-After), the client's own deadline per attempt, and,
 * when the credential asks for it, a connection that accepts self-signed certificates. Models of another shape are left as they are.
 */
export function tuneClient(model: unknown, tuning: ClientTuning): TuneResult {
	const configs = clientConfigs(model as TunableModel);
	if (configs.length === 0) return { tuned: 0 };
	const dispatcher = tuning.allowUnauthorizedCerts ? insecureDispatcher(tuning.timeoutMs) : undefined;
	for (const config of configs) {
		config.maxRetries = tuning.maxRetries;
		// Without it the client gives up after its own default of 10 minutes, whatever Timeout says.
		config.timeout = tuning.timeoutMs;
		if (dispatcher) config.fetchOptions = { ...config.fetchOptions, dispatcher };
	}
	return { tuned: configs.length, dispatcher };
}

function clientConfigs(model: TunableModel | undefined): NonNullable<TunableModel['clientConfig']>[] {
	if (typeof model !== 'object' || model === null) return [];
	const all = [model, model.completions, model.responses]
		.map((candidate) => candidate?.clientConfig)
		.filter((config): config is NonNullable<TunableModel['clientConfig']> => typeof config === 'object' && config !== null);
	return [...new Set(all)];
}

/**
 * Like n8n's own dispatcher (same timeouts, same proxy variables) but it skips certificate
 * checks, for a self-hosted server with a self-signed certificate.
 */
function insecureDispatcher(timeoutMs: number): Dispatcher {
	const tls = { rejectUnauthorized: false };
	return new EnvHttpProxyAgent({
		headersTimeout: timeoutMs,
		bodyTimeout: timeoutMs,
		connect: tls,
		requestTls: tls,
	});
}
