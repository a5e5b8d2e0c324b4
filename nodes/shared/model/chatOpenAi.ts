import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import type { ISupplyDataFunctions } from 'n8n-workflow';

import { modelFetch } from '../transport/modelFetch';
import type { ModelParts } from './aiSdk';
import type { ChatModelSetup, ClientTuning } from './config';
import { withoutThinking } from './thinking';

export interface BuiltModel {
	model: unknown;
	/** The model's own connection pool: the caller closes it when n8n is done with the model. */
	dispatcher: Dispatcher;
}

/**
 * The LangChain chat model the AI Agent and the chains get: n8n's own ChatOpenAI class (from the
 * running n8n, so LangChain's types match n8n's), built through its public constructor options,
 * with n8n's own tracing (each call logged on the Chat Model node) and failed-attempt handling.
 *
 * Every call goes through the package's own fetch (modelFetch.ts): the same retry engine and the
 * same limiter of this API key and origin as the Chat Completion and Text Generate nodes, so an
 * agent and a node on one key share one window, pace and pause, and Max Retries, the Timeout and
 * the 60 s cap on waits mean the same everywhere. The OpenAI client's and LangChain's own retries
 * are off (on n8n 2.8 LangChain's end at the first failure anyway: n8n's failed-attempt handler
 * reads a `retriesLeft` the retry library no longer puts on the error). `streaming` stays unset:
 * LangChain then streams only when the caller streams (an agent with Enable Streaming), asks for
 * usage in the stream, and never estimates tokens with a tokenizer it would download.
 */
export function buildChatModel(
	context: ISupplyDataFunctions,
	parts: ModelParts,
	setup: ChatModelSetup,
	onFailedAttempt: (error: unknown) => void,
): BuiltModel {
	const { config, tuning } = setup;
	const dispatcher = modelDispatcher(tuning);
	const connection = { baseUrl: config.baseUrl, apiKey: config.apiKey };
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
			maxRetries: 0,
			timeout: tuning.timeoutMs,
			fetch: modelFetch(connection, dispatcher, tuning),
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
