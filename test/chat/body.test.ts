import type { IDataObject } from 'n8n-workflow';

import { buildChatBody, chatEndpointOf } from '../../nodes/shared/chat/body';
import type { ChatMessage } from '../../nodes/shared/chat/types';
import { InputError } from '../../nodes/shared/inputError';
import { checkOptions, type OptionValues } from '../../nodes/shared/options/collection';

const messages: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

/** The form's options as the node checks them; a broken rule fails like the node's input errors. */
function checked(options: IDataObject): OptionValues {
	const result = checkOptions('chatCompletion', options);
	if (!result.ok) throw new InputError(result.message, result.fix);
	return result.values;
}

const build = (options: IDataObject) => buildChatBody({ model: 'm', messages, options: checked(options) }).body;

function failure(run: () => unknown): InputError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(InputError);
		return error as InputError;
	}
	throw new Error('expected an InputError');
}

describe('buildChatBody', () => {
	it('sends only model and messages when no option is set', () => {
		expect(build({})).toEqual({ model: 'm', messages });
		// Options that shape delivery or output are not body fields.
		expect(
			build({ stream: false, timeout: 5, maxRetries: 1, concurrency: 3, batchDelay: 10, reasoning: 'strip', parseJsonOutput: true, endpoint: 'chatCompletions' }),
		).toEqual({ model: 'm', messages });
	});

	it.each<[IDataObject, Record<string, unknown>]>([
		[{ maxTokens: 100 }, { max_tokens: 100 }],
		[{ temperature: 0 }, { temperature: 0 }],
		[{ topP: 0.5 }, { top_p: 0.5 }],
		[{ stop: 'END, ###,' }, { stop: ['END', '###'] }],
		[{ stop: ['a', 'b'] }, { stop: ['a', 'b'] }],
		[{ presencePenalty: -1.5 }, { presence_penalty: -1.5 }],
		[{ frequencyPenalty: 2 }, { frequency_penalty: 2 }],
		[{ seed: 7 }, { seed: 7 }],
		[{ numberOfChoices: 3 }, { n: 3 }],
		[{ responseFormat: 'text' }, {}],
		[{ responseFormat: 'json_object' }, { response_format: { type: 'json_object' } }],
		[{ toolChoice: 'auto', tools: [{ name: 'a' }] }, { tools: [{ type: 'function', function: { name: 'a' } }], tool_choice: 'auto' }],
	])('maps %j', (options, fields) => {
		expect(build(options)).toEqual({ model: 'm', messages, ...fields });
	});

	it('sends a JSON schema with its name, from an object or text, bare or wrapped', () => {
		const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
		expect(build({ responseFormat: 'json_schema', jsonSchema: JSON.stringify(schema) }).response_format).toEqual({
			type: 'json_schema',
			json_schema: { name: 'response', schema },
		});
		expect(build({ responseFormat: 'json_schema', jsonSchema: schema, jsonSchemaName: 'place' }).response_format).toEqual({
			type: 'json_schema',
			json_schema: { name: 'place', schema },
		});
		expect(build({ responseFormat: 'json_schema', jsonSchema: { name: 'w', strict: true, schema } }).response_format).toEqual({
			type: 'json_schema',
			json_schema: { name: 'w', strict: true, schema },
		});
		const noSchema = failure(() => build({ responseFormat: 'json_schema' }));
		expect(noSchema.message).toMatch(/JSON Schema option is empty/);
		// The option may be there and empty, so "add it" alone would not fit.
		expect(noSchema.description).toBe(
			'Fill in the JSON Schema option with the schema the answer must follow (add it under Options if it is not there), or set Response Format to JSON Object.',
		);
		expect(failure(() => build({ responseFormat: 'json_schema', jsonSchema: '  ' })).description).toBe(noSchema.description);
		expect(failure(() => build({ responseFormat: 'json_schema', jsonSchema: '{nope' })).message).toMatch(/^JSON Schema is not valid JSON/);
	});

	it('sends tools in the API shape, wrapping bare function definitions', () => {
		const parameters = { type: 'object', properties: {} };
		const body = build({
			tools: JSON.stringify([
				{ type: 'function', function: { name: 'a', parameters } },
				{ name: 'b', description: 'B', parameters },
				{ type: 'function', name: 'c' },
			]),
			toolChoice: 'function',
			toolChoiceFunction: 'b',
		});
		expect(body.tools).toEqual([
			{ type: 'function', function: { name: 'a', parameters } },
			{ type: 'function', function: { name: 'b', description: 'B', parameters } },
			{ type: 'function', function: { name: 'c' } },
		]);
		expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'b' } });
		expect(build({ tools: '[]' })).toEqual({ model: 'm', messages });
	});

	it.each<[string, IDataObject]>([
		['Auto and no Tools', { toolChoice: 'auto' }],
		['Auto and Tools "[]" (an expression that found none)', { toolChoice: 'auto', tools: '[]' }],
		['None and an empty list', { toolChoice: 'none', tools: [] }],
	])('sends neither tools nor tool_choice for %s: servers reject tool_choice alone', (_case, options) => {
		expect(build(options)).toEqual({ model: 'm', messages });
	});

	it('rejects tools that are not function definitions and a tool choice without tools', () => {
		expect(failure(() => build({ tools: '{}' })).message).toBe('Tools must be a JSON array, not an object');
		expect(failure(() => build({ tools: [{ type: 'function', function: {} }] })).message).toBe('Tool at index 0 has no function name');
		expect(failure(() => build({ tools: [{ name: 'a' }, 'x'] })).message).toBe('Tool at index 1 is not an object');
		expect(failure(() => build({ toolChoice: 'required' })).message).toMatch(/Tools is empty/);
		// The option may be there but empty (e.g. an expression that gave nothing), so "add it" alone would not fit.
		expect(failure(() => build({ tools: [{ name: 'a' }], toolChoice: 'function', toolChoiceFunction: ' ' })).description).toBe(
			'Fill in the Tool Choice Function Name option with the name of one of the Tools (add it under Options if it is not there), or pick another Tool Choice.',
		);
		expect(failure(() => build({ tools: [{ name: 'a' }], toolChoice: 'function' })).message).toMatch(/no function name is set/);
	});

	it('merges Additional Body Fields last, but never the stream fields', () => {
		expect(build({ temperature: 1, additionalBodyFields: '{"temperature": 0.1, "top_k": 40, "stream": false, "stream_options": {}}' })).toEqual({
			model: 'm',
			messages,
			temperature: 0.1,
			top_k: 40,
		});
		expect(build({ additionalBodyFields: { repetition_penalty: 1.1 } }).repetition_penalty).toBe(1.1);
		expect(failure(() => build({ additionalBodyFields: '[1]' })).message).toBe('Additional Body Fields must be a JSON object, not an array');
	});

	it('rejects numbers that are not numbers, with the field name', () => {
		expect(failure(() => build({ temperature: 'hot' })).message).toBe('Temperature must be a number from 0 to 2, not the text "hot"');
		expect(failure(() => build({ numberOfChoices: 0 })).message).toBe('Number of Choices must be a whole number from 1 to 10, not the number 0');
		expect(build({ maxTokens: '12' }).max_tokens).toBe(12);
	});

	describe('Prompt Truncate Length', () => {
		const long: ChatMessage[] = [
			{ role: 'system', content: 'S' },
			{ role: 'user', content: 'x'.repeat(400) },
			{ role: 'assistant', content: 'y'.repeat(400) },
			{ role: 'user', content: 'last' },
		];

		it('evicts the earliest messages on the client for Chat Completions, and says how many', () => {
			const { body, droppedMessages } = buildChatBody({ model: 'm', messages: long, options: checked({ promptTruncateLength: 120 }) });
			expect(body.messages.map((m) => m.role)).toEqual(['system', 'assistant', 'user']);
			expect(droppedMessages).toBe(1);
			expect(body.prompt_truncate_len).toBeUndefined();
		});

		it('also sends prompt_truncate_len for Chat Text', () => {
			const { body, droppedMessages } = buildChatBody({
				model: 'm',
				messages: long,
				options: checked({ promptTruncateLength: 120, endpoint: 'chatText' }),
			});
			expect(body.messages.map((m) => m.role)).toEqual(['system', 'assistant', 'user']);
			expect(droppedMessages).toBe(1);
			expect(body.prompt_truncate_len).toBe(120);
		});

		it('reports 0 when everything fits, and nothing when the option is not set', () => {
			expect(buildChatBody({ model: 'm', messages: long, options: checked({ promptTruncateLength: 5000 }) }).droppedMessages).toBe(0);
			expect(buildChatBody({ model: 'm', messages: long, options: {} })).not.toHaveProperty('droppedMessages');
		});
	});
});

describe('chatEndpointOf', () => {
	it('maps the Endpoint option to a path', () => {
		expect(chatEndpointOf({})).toBe('/chat/completions');
		expect(chatEndpointOf(checked({ endpoint: 'chatCompletions' }))).toBe('/chat/completions');
		expect(chatEndpointOf(checked({ endpoint: 'chatText' }))).toBe('/inference/chat_text');
		expect(failure(() => checked({ endpoint: 'x' })).message).toBe('Endpoint must be one of "chatCompletions", "chatText", not the text "x"');
	});
});
