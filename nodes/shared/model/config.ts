import { ChatInputError } from '../chat/inputError';
import { numberOption } from '../chat/numberOption';
import type { Connection } from '../transport/client';
import type { OpenAiModelConfig } from './aiSdk';

/** The Options collection of the Chat Model node, by field name, as n8n hands it over. */
export interface ChatModelOptions {
	maxTokens?: unknown;
	temperature?: unknown;
	topP?: unknown;
	frequencyPenalty?: unknown;
	presencePenalty?: unknown;
	responseFormat?: unknown;
	/** Seconds. */
	timeout?: unknown;
	maxRetries?: unknown;
}

export const CHAT_MODEL_DEFAULTS = {
	timeoutSeconds: 600,
	maxRetries: 2,
} as const;

/** How the OpenAI client is set up beyond the model fields: see `buildChatModel` (chatOpenAi.ts). */
export interface ClientTuning {
	/** Retries of one request (429, 5xx, dropped connections), done by the OpenAI client. */
	maxRetries: number;
	timeoutMs: number;
	allowUnauthorizedCerts: boolean;
}

export interface ChatModelSetup {
	config: OpenAiModelConfig;
	tuning: ClientTuning;
}

/**
 * Turns the form into what n8n's `supplyModel` takes, plus the client tuning. Unset options
 * send nothing, so the service's own defaults apply. LangChain's own retries stay off
 * (`maxRetries: 0`): on n8n 2.8 its failed-attempt hook ends a call at the first failure, so
 * retries happen one level down, in the OpenAI client, which also honours Retry-After.
 */
export function chatModelSetup(connection: Connection, model: string, options: ChatModelOptions): ChatModelSetup {
	const timeoutSeconds = numberOption(options.timeout, 'Timeout', { min: 1 }) ?? CHAT_MODEL_DEFAULTS.timeoutSeconds;
	const config: OpenAiModelConfig = {
		type: 'openai',
		baseUrl: connection.baseUrl.replace(/\/+$/, ''),
		apiKey: connection.apiKey,
		model,
		timeout: timeoutSeconds * 1000,
		maxRetries: 0,
	};
	setIfDefined(config, 'maxTokens', numberOption(options.maxTokens, 'Max Tokens', { min: 1, integer: true }));
	setIfDefined(config, 'temperature', numberOption(options.temperature, 'Temperature'));
	setIfDefined(config, 'topP', numberOption(options.topP, 'Top P'));
	setIfDefined(config, 'frequencyPenalty', numberOption(options.frequencyPenalty, 'Frequency Penalty'));
	setIfDefined(config, 'presencePenalty', numberOption(options.presencePenalty, 'Presence Penalty'));
	const responseFormat = responseFormatBody(options.responseFormat);
	if (responseFormat) config.additionalParams = { response_format: responseFormat };
	const maxRetries =
		numberOption(options.maxRetries, 'Max Retries', { min: 0, integer: true }) ?? CHAT_MODEL_DEFAULTS.maxRetries;
	return {
		config,
		tuning: {
			maxRetries,
			timeoutMs: config.timeout as number,
			allowUnauthorizedCerts: connection.allowUnauthorizedCerts === true,
		},
	};
}

type NumericField = 'maxTokens' | 'temperature' | 'topP' | 'frequencyPenalty' | 'presencePenalty';

function setIfDefined(config: OpenAiModelConfig, field: NumericField, value: number | undefined): void {
	if (value !== undefined) config[field] = value;
}

/** 'text' is the service's default, so it sends nothing. */
function responseFormatBody(value: unknown): { type: 'json_object' } | undefined {
	if (value === undefined || value === null || value === '' || value === 'text') return undefined;
	if (value === 'json_object') return { type: 'json_object' };
	if (value === 'json_schema') {
		// The Chat Completion node takes a schema; here the chain or agent owns the output's shape.
		throw new ChatInputError(
			'The Chat Model has no JSON Schema response format',
			'Set Response Format to JSON Object and connect a Structured Output Parser to the chain or agent to enforce a schema.',
		);
	}
	throw new ChatInputError(
		`Unknown response format ${JSON.stringify(value)}`,
		'Set Response Format to Text or JSON Object, or remove the option.',
	);
}
