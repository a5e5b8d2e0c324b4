import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import type { ISupplyDataFunctions } from 'n8n-workflow';

import { limitedDispatcher } from '../transport/limitedDispatcher';
import type { ModelParts } from './aiSdk';
import type { ChatModelSetup, ClientTuning } from './config';
import { withoutThinking } from './thinking';

export interface BuiltModel {
	model: unknown;
	/** The model's own connection pool, gated by the credential's limiter: the caller closes it when n8n is done with the model. */
	dispatcher: Dispatcher;
}

/**
 * The LangChain chat model the AI Agent and the chains get: n8n's own ChatOpenAI class (from the
 * running n8n, so LangChain's types match n8n's), built through its public constructor options,
 * with n8n's own tracing (each call logged on the Chat Model node) and failed-attempt handling.
 *
 * Retries, the deadline per attempt and "Ignore SSL Issues" go to the OpenAI client through
 * `configuration` (its public ClientOptions): n8n's `supplyModel` takes none of them, and on
 * n8n 2.8 LangChain's own retries end at the first failure (n8n's failed-attempt handler reads a
 * `retriesLeft` the retry library no longer puts on the error), so the client retries instead,
 * honouring Retry-After. `streaming` stays unset: LangChain then streams only when the caller
 * streams (an agent with Enable Streaming), asks for usage in the stream, and never estimates
 * tokens with a tokenizer it would download from the internet.
 *
 * Every request waits in Concurrency Auto's limiter of this credential and origin, the one the
 * Chat Completion and Text Generate nodes use (limitedDispatcher.ts): an agent and a node on the
 * same key share one window, pace and Retry-After pause. The client still retries a 429 itself,
 * after its own wait (Retry-After, or its backoff); that wait and the shared pause both start when
 * the 429 arrives and run side by side, so the retry leaves after the longer of the two, not their sum.
 */
export function buildChatModel(
	context: ISupplyDataFunctions,
	parts: ModelParts,
	setup: ChatModelSetup,
	onFailedAttempt: (error: unknown) => void,
): BuiltModel {
	const { config, tuning } = setup;
	const dispatcher = limitedDispatcher(modelDispatcher(tuning), config.apiKey);
	const fields: Record<string, unknown> = {
		model: config.model,
		apiKey: config.apiKey,
		temperature: config.temperature,
		topP: config.topP,
		frequencyPenalty: config.frequencyPenalty,
		presencePenalty: config.presencePenalty,
		maxTokens: config.maxTokens,
		modelKwargs: config.additionalParams,
		timeout: tuning.timeoutMs,
		maxRetries: 0,
		configuration: {
			baseURL: config.baseUrl,
			maxRetries: tuning.maxRetries,
			timeout: tuning.timeoutMs,
			fetchOptions: { dispatcher },
		},
		callbacks: [new parts.N8nLlmTracing(context)],
		onFailedAttempt: parts.makeN8nLlmFailedAttemptHandler(context, onFailedAttempt),
	};
	for (const [name, value] of Object.entries(fields)) if (value === undefined) delete fields[name];
	const NebulaChatModel = withoutThinking(parts.ChatOpenAI);
	return { model: new NebulaChatModel(fields), dispatcher };
}

/**
 * Like n8n's own dispatcher for models (same timeouts, same proxy variables), and when the
 * credential asks for it, one that accepts a self-hosted server's self-signed certificate.
 */
export function modelDispatcher(tuning: ClientTuning): Dispatcher {
	const tls = tuning.allowUnauthorizedCerts ? { rejectUnauthorized: false } : undefined;
	return new EnvHttpProxyAgent({
		headersTimeout: tuning.timeoutMs,
		bodyTimeout: tuning.timeoutMs,
		...(tls ? { connect: tls, requestTls: tls } : {}),
	});
}
