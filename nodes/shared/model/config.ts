import type { OptionValues } from '../options/collection';
import { OPTION_TABLE } from '../options/table';
import type { Connection } from '../transport/client';
import type { OpenAiModelConfig } from './sdkTypes';

export const CHAT_MODEL_DEFAULTS = {
	timeoutSeconds: OPTION_TABLE.timeout.field.default,
} as const;

/** How the OpenAI client is set up beyond the model fields: see `buildChatModel` (chatOpenAi.ts). */
export interface ClientTuning {
	/** Max Retries as the user set it (undefined: the engine's defaults), applied by the package's retry engine (modelFetch.ts). */
	maxRetries?: number;
	timeoutMs: number;
	allowUnauthorizedCerts: boolean;
}

export interface ChatModelSetup {
	config: OpenAiModelConfig;
	tuning: ClientTuning;
}

/**
 * The sampling options the model (n8n's ChatOpenAI, see chatOpenAi.ts) takes under the option's own
 * name; it sends each under the option's body key in the table (maxTokens as max_tokens, and so on).
 */
const SUPPLY_MODEL_FIELDS = ['maxTokens', 'temperature', 'topP', 'frequencyPenalty', 'presencePenalty'] as const;

/**
 * Turns the checked options (`readOptions(context, itemIndex, 'chatModel')`) into the model's
 * fields, plus the client tuning. Unset options send nothing, so the service's own
 * defaults apply. LangChain's and the OpenAI client's own retries stay off (`maxRetries: 0`):
 * retries happen in the package's retry engine, under the fetch the client is given (chatOpenAi.ts).
 */
export function chatModelSetup(connection: Connection, model: string, options: OptionValues): ChatModelSetup {
	const timeoutSeconds = options.timeout ?? CHAT_MODEL_DEFAULTS.timeoutSeconds;
	const config: OpenAiModelConfig = {
		type: 'openai',
		baseUrl: connection.baseUrl.replace(/\/+$/, ''),
		apiKey: connection.apiKey,
		model,
		timeout: timeoutSeconds * 1000,
		maxRetries: 0,
	};
	for (const field of SUPPLY_MODEL_FIELDS) {
		const value = options[field];
		if (value !== undefined) config[field] = value;
	}
	// 'text' is the service's default, so it sends nothing.
	if (options.responseFormat === 'json_object') config.additionalParams = { response_format: { type: 'json_object' } };
	return {
		config,
		tuning: {
			maxRetries: options.maxRetries,
			timeoutMs: timeoutSeconds * 1000,
			allowUnauthorizedCerts: connection.allowUnauthorizedCerts === true,
		},
	};
}
