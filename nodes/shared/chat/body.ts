import { InputError } from '../inputError';
import { isObject } from '../json';
import { plainBodyFields, type OptionValues } from '../options/collection';
import { DEFAULT_JSON_SCHEMA_NAME } from '../options/table';
import { truncateMessages } from './truncate';
import type { ChatEndpoint, ChatMessage, ChatRequestBody } from './types';

export interface ChatFormInput {
	model: string;
	/** Already validated, System Message first. */
	messages: ChatMessage[];
	/** The Options collection, read and checked by `readOptions`. */
	options: OptionValues;
}

export interface ChatRequest {
	/** Without `stream` and `stream_options`: the request adds them when it streams. */
	body: ChatRequestBody;
	/** How many messages Prompt Truncate Length left out; absent when the option is not set. */
	droppedMessages?: number;
}

export const CHAT_ENDPOINTS: Record<string, ChatEndpoint> = {
	chatCompletions: '/chat/completions',
	chatText: '/inference/chat_text',
};

/** Fields that say how the answer is delivered: only the Stream option decides them. */
const STREAM_FIELDS = ['stream', 'stream_options'];

export function chatEndpointOf(options: OptionValues): ChatEndpoint {
	return CHAT_ENDPOINTS[options.endpoint ?? 'chatCompletions'];
}

/**
 * The request body the form produces. A pure function of the checked options: an option the
 * user did not add sends nothing, so the model's own default applies.
 */
export function buildChatBody(input: ChatFormInput): ChatRequest {
	const { options } = input;
	const body: ChatRequestBody = { model: input.model, messages: input.messages, ...plainBodyFields('chatCompletion', options) };
	let droppedMessages: number | undefined;

	const truncateLength = options.promptTruncateLength;
	if (truncateLength !== undefined) {
		const truncation = truncateMessages(input.messages, truncateLength);
		body.messages = truncation.messages;
		droppedMessages = truncation.evicted;
		// Chat Text truncates on the server too, with the model's real tokenizer; the client-side
		// estimate runs first for both endpoints, so the result does not depend on which one is chosen.
		if (chatEndpointOf(options) === '/inference/chat_text') body.prompt_truncate_len = truncateLength;
	}

	const format = responseFormat(options);
	if (format) body.response_format = format;
	const tools = toolDefinitions(options.tools);
	if (tools) body.tools = tools;
	const choice = toolChoice(options, tools !== undefined);
	if (choice !== undefined) body.tool_choice = choice;

	const extra = options.additionalBodyFields;
	if (extra) {
		// Last, so a field the form lacks (or one it sets differently) can be given exactly; the
		// stream fields are the Stream option's, so they are not taken from here.
		for (const [key, value] of Object.entries(extra)) if (!STREAM_FIELDS.includes(key)) body[key] = value;
	}
	return droppedMessages === undefined ? { body } : { body, droppedMessages };
}

function responseFormat(options: OptionValues): Record<string, unknown> | undefined {
	const format = options.responseFormat;
	// "text" is every server's default; leaving it out also keeps servers that know no response_format working.
	if (format === undefined || format === 'text') return undefined;
	if (format === 'json_object') return { type: 'json_object' };
	const given = options.jsonSchema;
	if (!given) {
		throw new InputError('Response Format is JSON Schema but the JSON Schema option is empty', 'Fill in the JSON Schema option with the schema the answer must follow (add it under Options if it is not there), or set Response Format to JSON Object.');
	}
	const name = options.jsonSchemaName ?? DEFAULT_JSON_SCHEMA_NAME;
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

function toolDefinitions(list: unknown[] | undefined): unknown[] | undefined {
	if (list === undefined || list.length === 0) return undefined;
	return list.map((tool, index) => {
		if (!isObject(tool)) throw new InputError(`Tool at index ${index} is not an object`, TOOLS_HINT);
		if (isObject(tool.function)) {
			assertFunctionName(tool.function, index);
			return { ...tool, type: 'function' };
		}
		// A bare function definition ({name, parameters}, with or without type) is wrapped the way the API wants it.
		const { type, ...definition } = tool;
		if (type !== undefined && type !== 'function') {
			throw new InputError(`Tool at index ${index} has type ${JSON.stringify(type)}; only function tools exist`, TOOLS_HINT);
		}
		assertFunctionName(definition, index);
		return { type: 'function', function: definition };
	});
}

function assertFunctionName(definition: Record<string, unknown>, index: number): void {
	if (typeof definition.name !== 'string' || definition.name === '') {
		throw new InputError(`Tool at index ${index} has no function name`, TOOLS_HINT);
	}
}

/**
 * tool_choice only goes with tools: servers like vLLM reject it alone ("When using `tool_choice`,
 * `tools` must be set"). Without tools, Auto and None both mean "answer in text", which is what
 * happens anyway, so nothing is sent; Required and a named function cannot be met, so they stop
 * the item.
 */
function toolChoice(options: OptionValues, hasTools: boolean): unknown {
	const choice = options.toolChoice;
	if (choice === undefined) return undefined;
	if (choice === 'function') {
		const name = (options.toolChoiceFunction ?? '').trim();
		if (name === '') {
			throw new InputError('Tool Choice is a specific function but no function name is set', 'Fill in the Tool Choice Function Name option with the name of one of the Tools (add it under Options if it is not there), or pick another Tool Choice.');
		}
		if (!hasTools) throw new InputError(`Tool Choice names function "${name}" but Tools is empty`, TOOLS_HINT);
		return { type: 'function', function: { name } };
	}
	if (choice === 'required' && !hasTools) {
		throw new InputError('Tool Choice is "required" but Tools is empty', TOOLS_HINT);
	}
	return hasTools ? choice : undefined;
}
