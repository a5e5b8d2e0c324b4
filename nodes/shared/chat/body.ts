import { parseStopSequences } from '../stopSequences';
import { isObject } from '../json';
import { ChatInputError } from './inputError';
import { numberOption } from './numberOption';
import { truncateMessages } from './truncate';
import type { ChatEndpoint, ChatMessage, ChatRequestBody } from './types';

/** The Options collection of the Chat Completion node, by field name, as n8n hands it over. */
export interface ChatFormOptions {
	maxTokens?: unknown;
	temperature?: unknown;
	topP?: unknown;
	stop?: unknown;
	presencePenalty?: unknown;
	frequencyPenalty?: unknown;
	seed?: unknown;
	numberOfChoices?: unknown;
	responseFormat?: unknown;
	jsonSchema?: unknown;
	jsonSchemaName?: unknown;
	tools?: unknown;
	toolChoice?: unknown;
	toolChoiceFunction?: unknown;
	promptTruncateLength?: unknown;
	endpoint?: unknown;
	additionalBodyFields?: unknown;
	[other: string]: unknown;
}

export interface ChatFormInput {
	model: string;
	/** Already validated, System Message first. */
	messages: ChatMessage[];
	options: ChatFormOptions;
}

export const CHAT_ENDPOINTS: Record<string, ChatEndpoint> = {
	chatCompletions: '/chat/completions',
	chatText: '/inference/chat_text',
};

/** Fields that say how the answer is delivered; the Stream option decides them, nothing else. */
const STREAM_FIELDS = ['stream', 'stream_options'];

export const DEFAULT_JSON_SCHEMA_NAME = 'response';

export function chatEndpointOf(options: ChatFormOptions): ChatEndpoint {
	const choice = options.endpoint;
	if (choice === undefined || choice === '') return '/chat/completions';
	const endpoint = CHAT_ENDPOINTS[String(choice)];
	if (!endpoint) {
		throw new ChatInputError(
			`Unknown endpoint ${JSON.stringify(choice)}`,
			`Endpoint must be one of: ${Object.keys(CHAT_ENDPOINTS).join(', ')}.`,
		);
	}
	return endpoint;
}

/**
 * The request body the form produces, without the stream fields. A pure function of the
 * fields: an option the user did not add sends nothing, so the model's own default applies.
 */
export function buildChatBody(input: ChatFormInput): ChatRequestBody {
	const { options } = input;
	const endpoint = chatEndpointOf(options);
	const body: ChatRequestBody = { model: input.model, messages: input.messages };

	const truncateLength = numberOption(options.promptTruncateLength, 'Prompt Truncate Length', { min: 1, integer: true });
	if (truncateLength !== undefined) {
		body.messages = truncateMessages(input.messages, truncateLength).messages;
		// Chat Text truncates on the server too, with the model's real tokenizer; the client-side
		// estimate runs first for both endpoints, so the result does not depend on which one is chosen.
		if (endpoint === '/inference/chat_text') body.prompt_truncate_len = truncateLength;
	}

	setIfDefined(body, 'max_tokens', numberOption(options.maxTokens, 'Max Tokens', { min: 1, integer: true }));
	setIfDefined(body, 'temperature', numberOption(options.temperature, 'Temperature'));
	setIfDefined(body, 'top_p', numberOption(options.topP, 'Top P'));
	const stop = parseStopSequences(options.stop);
	if (stop.length > 0) body.stop = stop;
	setIfDefined(body, 'presence_penalty', numberOption(options.presencePenalty, 'Presence Penalty'));
	setIfDefined(body, 'frequency_penalty', numberOption(options.frequencyPenalty, 'Frequency Penalty'));
	setIfDefined(body, 'seed', numberOption(options.seed, 'Seed', { integer: true }));
	setIfDefined(body, 'n', numberOption(options.numberOfChoices, 'Number of Choices', { min: 1, integer: true }));
	setIfDefined(body, 'response_format', responseFormat(options));
	const tools = toolDefinitions(options.tools);
	setIfDefined(body, 'tools', tools);
	setIfDefined(body, 'tool_choice', toolChoice(options, tools !== undefined));

	const extra = jsonObjectOption(options.additionalBodyFields, 'Additional Body Fields');
	if (extra) {
		// Last, so a field the form lacks (or one it sets differently) can be given exactly.
		for (const [key, value] of Object.entries(extra)) if (!STREAM_FIELDS.includes(key)) body[key] = value;
	}
	return body;
}

function setIfDefined(body: ChatRequestBody, key: string, value: unknown): void {
	if (value !== undefined) body[key] = value;
}

function isUnset(value: unknown): boolean {
	return value === undefined || value === null || value === '';
}

function parseJson(value: unknown, label: string): unknown {
	if (typeof value !== 'string') return value;
	try {
		return JSON.parse(value);
	} catch (error) {
		throw new ChatInputError(`${label} is not valid JSON: ${(error as Error).message}`, `Check the JSON in ${label}.`);
	}
}

function jsonObjectOption(value: unknown, label: string): Record<string, unknown> | undefined {
	if (isUnset(value) || (typeof value === 'string' && value.trim() === '')) return undefined;
	const parsed = parseJson(value, label);
	if (!isObject(parsed)) {
		throw new ChatInputError(`${label} must be a JSON object`, `Write ${label} as an object, e.g. {"key": "value"}.`);
	}
	return parsed;
}

function responseFormat(options: ChatFormOptions): Record<string, unknown> | undefined {
	const format = options.responseFormat;
	// "text" is every server's default; leaving it out also keeps servers that know no response_format working.
	if (isUnset(format) || format === 'text') return undefined;
	if (format === 'json_object') return { type: 'json_object' };
	if (format !== 'json_schema') {
		throw new ChatInputError(`Unknown response format ${JSON.stringify(format)}`, 'Response Format must be text, json_object or json_schema.');
	}
	const given = jsonObjectOption(options.jsonSchema, 'JSON Schema');
	if (!given) {
		throw new ChatInputError('Response Format is JSON Schema but the JSON Schema option is empty', 'Fill in the JSON Schema option with the schema the answer must follow (add it under Options if it is not there), or set Response Format to JSON Object.');
	}
	const name = isUnset(options.jsonSchemaName) ? DEFAULT_JSON_SCHEMA_NAME : String(options.jsonSchemaName);
	// A pasted OpenAI wrapper ({name, schema, strict}) is accepted as well as a bare schema.
	if (isObject(given.schema) && typeof given.type !== 'string') {
		return {
			type: 'json_schema',
			json_schema: { ...given, name: typeof given.name === 'string' && given.name !== '' ? given.name : name },
		};
	}
	return { type: 'json_schema', json_schema: { name, schema: given } };
}

const TOOLS_HINT =
	'Tools expects an array of function definitions, e.g. [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}].';

function toolDefinitions(value: unknown): unknown[] | undefined {
	if (isUnset(value) || (typeof value === 'string' && value.trim() === '')) return undefined;
	const parsed = parseJson(value, 'Tools');
	if (!Array.isArray(parsed)) throw new ChatInputError('Tools must be a JSON array', TOOLS_HINT);
	if (parsed.length === 0) return undefined;
	return parsed.map((tool, index) => {
		if (!isObject(tool)) throw new ChatInputError(`Tool at index ${index} is not an object`, TOOLS_HINT);
		if (isObject(tool.function)) {
			assertFunctionName(tool.function, index);
			return { ...tool, type: 'function' };
		}
		// A bare function definition ({name, parameters}, with or without type) is wrapped the way the API wants it.
		const { type, ...definition } = tool;
		if (type !== undefined && type !== 'function') {
			throw new ChatInputError(`Tool at index ${index} has type ${JSON.stringify(type)}; only function tools exist`, TOOLS_HINT);
		}
		assertFunctionName(definition, index);
		return { type: 'function', function: definition };
	});
}

function assertFunctionName(definition: Record<string, unknown>, index: number): void {
	if (typeof definition.name !== 'string' || definition.name === '') {
		throw new ChatInputError(`Tool at index ${index} has no function name`, TOOLS_HINT);
	}
}

function toolChoice(options: ChatFormOptions, hasTools: boolean): unknown {
	const choice = options.toolChoice;
	if (isUnset(choice)) return undefined;
	if (choice === 'function') {
		const name = String(options.toolChoiceFunction ?? '').trim();
		if (name === '') {
			throw new ChatInputError('Tool Choice is a specific function but no function name is set', 'Fill in the Tool Choice Function Name option with the name of one of the Tools (add it under Options if it is not there), or pick another Tool Choice.');
		}
		if (!hasTools) throw new ChatInputError(`Tool Choice names function "${name}" but Tools is empty`, TOOLS_HINT);
		return { type: 'function', function: { name } };
	}
	if (choice === 'required' && !hasTools) {
		throw new ChatInputError('Tool Choice is "required" but Tools is empty', TOOLS_HINT);
	}
	if (choice !== 'auto' && choice !== 'none' && choice !== 'required') {
		throw new ChatInputError(`Unknown tool choice ${JSON.stringify(choice)}`, 'Tool Choice must be auto, none, required or function.');
	}
	return choice;
}

