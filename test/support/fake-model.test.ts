/**
 * The fake server's default answers (nothing scripted), seen over HTTP the way a client sees them,
 * non-streamed and streamed, plus the schema-to-value generator on its own.
 */
import { startFakeNebula, type FakeNebula } from './fake-nebula';
import { valueForSchema } from './fake-model';
import { schemaProblems } from './schema-check';

const MODEL = 'meta-llama/Llama-3.3-70B-Instruct';

let fake: FakeNebula;

beforeAll(async () => {
	fake = await startFakeNebula();
});

afterAll(async () => {
	await fake.close();
});

async function complete(body: Record<string, unknown>, key = fake.defaultKey): Promise<any> {
	const res = await fetch(`${fake.url}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: MODEL, ...body }),
	});
	expect(res.status).toBe(200);
	return res.json();
}

/** The streamed chunks (JSON events before [DONE]). */
async function completeStreamed(body: Record<string, unknown>): Promise<any[]> {
	const res = await fetch(`${fake.url}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${fake.defaultKey}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: MODEL, stream: true, stream_options: { include_usage: true }, ...body }),
	});
	expect(res.status).toBe(200);
	const data = (await res.text())
		.split('\n')
		.filter((line) => line.startsWith('data: '))
		.map((line) => line.slice(6));
	expect(data.at(-1)).toBe('[DONE]');
	return data.slice(0, -1).map((line) => JSON.parse(line));
}

function streamedContent(chunks: any[]): string {
	return chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
}

/** Tool calls put together from their deltas, as a client assembles them. */
function streamedToolCalls(chunks: any[]): Array<{ id: string; name: string; arguments: string }> {
	const calls: Array<{ id: string; name: string; arguments: string }> = [];
	for (const delta of chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])) {
		calls[delta.index] ??= { id: '', name: '', arguments: '' };
		if (delta.id) calls[delta.index].id = delta.id;
		if (delta.function?.name) calls[delta.index].name = delta.function.name;
		calls[delta.index].arguments += delta.function?.arguments ?? '';
	}
	return calls;
}

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

const TRIAGE_SCHEMA = {
	type: 'object',
	properties: {
		category: { type: 'string', enum: ['billing', 'bug', 'feature_request', 'account', 'other'] },
		urgency: { type: 'string', enum: ['low', 'medium', 'high'] },
	},
	required: ['category', 'urgency'],
	additionalProperties: false,
};

const WEATHER_TOOL = {
	type: 'function',
	function: {
		name: 'get_weather',
		description: 'Current weather for a city',
		parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['city'] },
	},
};

const CALCULATOR_TOOL = {
	type: 'function',
	function: {
		name: 'Calculator',
		description: 'Useful for getting the result of a math expression.',
		parameters: { type: 'object', properties: { input: { type: 'string' } }, additionalProperties: false },
	},
};

describe('response_format json_schema', () => {
	const body = (content: string) => ({
		messages: [
			{ role: 'system', content: 'Triage the ticket.' },
			{ role: 'user', content },
		],
		response_format: { type: 'json_schema', json_schema: { name: 'ticket_triage', schema: TRIAGE_SCHEMA } },
	});

	it('answers JSON that fits the schema, choosing the enum value the message names', async () => {
		const json = await complete(body('Something is wrong with my account, urgency is high'));
		const answer = JSON.parse(json.choices[0].message.content);
		expect(schemaProblems(answer, TRIAGE_SCHEMA)).toEqual([]);
		expect(answer).toEqual({ category: 'account', urgency: 'high' });
		expect(json.choices[0].finish_reason).toBe('stop');
		expect(json.usage).toMatchObject({ prompt_tokens: 3 + 9, completion_tokens: 1, total_tokens: 13 });
	});

	it('takes the first enum value when the message names none', async () => {
		const json = await complete(body('Nothing here matches.'));
		expect(JSON.parse(json.choices[0].message.content)).toEqual({ category: 'billing', urgency: 'low' });
	});

	it('streams the same JSON, with exact usage', async () => {
		const chunks = await completeStreamed(body('A bug: the export fails, medium urgency'));
		expect(JSON.parse(streamedContent(chunks))).toEqual({ category: 'bug', urgency: 'medium' });
		expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 3 + 7, completion_tokens: 1, total_tokens: 11 });
	});

	it('is not cut by max_tokens, which would break the JSON', async () => {
		const schema = { type: 'object', properties: { summary: { type: 'string' }, detail: { type: 'string' } } };
		const json = await complete({
			messages: [{ role: 'user', content: 'one two three four five six seven eight' }],
			max_tokens: 2,
			response_format: { type: 'json_schema', json_schema: { name: 's', schema } },
		});
		expect(JSON.parse(json.choices[0].message.content)).toEqual({
			summary: 'one two three four five six seven eight',
			detail: 'one two three four five six seven eight',
		});
	});
});

describe('response_format json_object', () => {
	it('answers a JSON object holding the message, streamed or not', async () => {
		const body = { messages: [{ role: 'user', content: 'Give me JSON' }], response_format: { type: 'json_object' } };
		const json = await complete(body);
		expect(JSON.parse(json.choices[0].message.content)).toEqual({ answer: 'Give me JSON' });
		expect(JSON.parse(streamedContent(await completeStreamed(body)))).toEqual({ answer: 'Give me JSON' });
	});
});

describe('tools', () => {
	const question = 'What is the weather in Lisbon?';

	it('calls the offered tool with arguments that fit its parameters, taken from the message', async () => {
		const json = await complete({ messages: [{ role: 'user', content: question }], tools: [WEATHER_TOOL] });
		const [choice] = json.choices;
		expect(choice.finish_reason).toBe('tool_calls');
		expect(choice.message.content).toBeNull();
		expect(choice.message.tool_calls).toEqual([
			{ id: 'call_get_weather_1', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city: question, days: 1 }) } },
		]);
		expect(json.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 0, total_tokens: 6 });
	});

	it('streams the tool call as deltas that add up to the same call', async () => {
		const chunks = await completeStreamed({ messages: [{ role: 'user', content: question }], tools: [WEATHER_TOOL] });
		expect(streamedToolCalls(chunks)).toEqual([{ id: 'call_get_weather_1', name: 'get_weather', arguments: JSON.stringify({ city: question, days: 1 }) }]);
		expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');
		expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 0 });
	});

	it('picks the tool whose name or description the message mentions, or the one tool_choice names', async () => {
		const messages = [{ role: 'user', content: 'Please calculate 6 * 7' }];
		const picked = await complete({ messages, tools: [WEATHER_TOOL, CALCULATOR_TOOL] });
		expect(picked.choices[0].message.tool_calls[0].function.name).toBe('Calculator');
		const forced = await complete({ messages, tools: [WEATHER_TOOL, CALCULATOR_TOOL], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
		expect(forced.choices[0].message.tool_calls[0].function.name).toBe('get_weather');
	});

	it('gives a calculator an expression: the one in the message, or the product of its numbers', async () => {
		const argumentsFor = async (content: string) =>
			JSON.parse((await complete({ messages: [{ role: 'user', content }], tools: [CALCULATOR_TOOL] })).choices[0].message.tool_calls[0].function.arguments);
		expect(await argumentsFor('Please calculate (12 + 3) * 4 for me')).toEqual({ input: '(12 + 3) * 4' });
		expect(await argumentsFor('37 boxes of 12 cookies a day: how many in a 6-day week?')).toEqual({ input: '37 * 12 * 6' });
	});

	it('answers in text with tool_choice none', async () => {
		const json = await complete({ messages: [{ role: 'user', content: question }], tools: [WEATHER_TOOL], tool_choice: 'none' });
		expect(json.choices[0].message).toMatchObject({ content: `Echo: ${question}`, tool_calls: null });
	});

	it('answers with the tool result once it is in the conversation, streamed or not', async () => {
		const messages = [
			{ role: 'user', content: question },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
			{ role: 'tool', tool_call_id: 'call_9', content: 'Sunny, 24 °C' },
		];
		const json = await complete({ messages, tools: [WEATHER_TOOL] });
		expect(json.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'The get_weather tool answered: Sunny, 24 °C', tool_calls: null } });
		expect(json.usage).toMatchObject({ prompt_tokens: 6 + 3, completion_tokens: 7, total_tokens: 16 });
		const chunks = await completeStreamed({ messages, tools: [WEATHER_TOOL] });
		expect(streamedContent(chunks)).toBe('The get_weather tool answered: Sunny, 24 °C');
		expect(streamedToolCalls(chunks)).toEqual([]);
	});

	it('gives the final answer in the requested JSON format, built from the tool result', async () => {
		const messages = [
			{ role: 'user', content: question },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
			{ role: 'tool', tool_call_id: 'call_9', content: 'Sunny' },
		];
		const schema = { type: 'object', properties: { forecast: { type: 'string' } }, required: ['forecast'] };
		const json = await complete({ messages, tools: [WEATHER_TOOL], response_format: { type: 'json_schema', json_schema: { name: 'f', schema } } });
		expect(JSON.parse(json.choices[0].message.content)).toEqual({ forecast: 'The get_weather tool answered: Sunny' });
	});

	it('quotes the text of a tool that answers with n8n items', async () => {
		const messages = [
			{ role: 'user', content: 'Write a tagline' },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'Copywriter', arguments: '{}' } }] },
			{ role: 'tool', tool_call_id: 'c1', content: JSON.stringify([{ content: '1. Fresh bread', role: 'assistant', usage: { totalTokens: 3 } }]) },
		];
		const json = await complete({ messages, tools: [WEATHER_TOOL] });
		expect(json.choices[0].message.content).toBe('The Copywriter tool answered: 1. Fresh bread');
	});

	it('quotes the texts of the content parts a tool hands back in an n8n item (a vector store as a tool)', async () => {
		const documents = ['{"pageContent":"Vacation: 25 days a year.","metadata":{"title":"Vacation"}}', '{"pageContent":"Expenses: within 30 days."}'];
		const messages = [
			{ role: 'user', content: 'How many vacation days?' },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'Company_Handbook', arguments: '{}' } }] },
			{ role: 'tool', tool_call_id: 'c1', content: JSON.stringify([{ response: documents.map((text) => ({ type: 'text', text })) }]) },
		];
		const json = await complete({ messages, tools: [WEATHER_TOOL] });
		expect(json.choices[0].message.content).toBe(`The Company_Handbook tool answered: ${documents.join('\n')}`);
	});

	it('calls the tool again for a new question after an earlier tool result', async () => {
		const messages = [
			{ role: 'user', content: 'Weather in Porto?' },
			{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
			{ role: 'tool', tool_call_id: 'c1', content: 'Rain' },
			{ role: 'assistant', content: 'It rains in Porto.' },
			{ role: 'user', content: question },
		];
		const json = await complete({ messages, tools: [WEATHER_TOOL] });
		expect(JSON.parse(json.choices[0].message.tool_calls[0].function.arguments)).toEqual({ city: question, days: 1 });
	});

	it('still gives a scripted reply instead of the default', async () => {
		const key = fake.newKey('scripted');
		fake.script(key, { kind: 'reply', content: 'scripted' });
		const json = await complete({ messages: [{ role: 'user', content: question }], tools: [WEATHER_TOOL] }, key);
		expect(json.choices[0].message).toMatchObject({ content: 'scripted', tool_calls: null });
	});
});

describe('plain text', () => {
	it('still echoes the last user message, cut at max_tokens', async () => {
		const json = await complete({ messages: [{ role: 'user', content: 'one two three' }], max_tokens: 2 });
		expect(json.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Echo: one' } });
	});
});

describe('images', () => {
	it('says what each image was (type and decoded size, or URL), then the question, also streamed', async () => {
		const png = Buffer.from('89504e470d0a1a0a', 'hex');
		const content = [
			{ type: 'text', text: 'What are these?' },
			{ type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
			{ type: 'image_url', image_url: { url: 'https://example.com/cat.webp', detail: 'low' } },
		];
		const expected = 'I received 2 images: an image/png image of 8 bytes; an image at https://example.com/cat.webp. You asked: What are these?';
		const json = await complete({ messages: [{ role: 'user', content }] });
		expect(json.choices[0].message.content).toBe(expected);
		expect(streamedContent(await completeStreamed({ messages: [{ role: 'user', content }] }))).toBe(expected);
	});
});

describe('valueForSchema', () => {
	it('fills nested objects, arrays, $refs, unions, numbers with bounds and string formats', () => {
		const schema = {
			type: 'object',
			$defs: { tag: { type: 'string', enum: ['red', 'green', 'blue'] } },
			properties: {
				title: { type: 'string', maxLength: 20 },
				tags: { type: 'array', items: { $ref: '#/$defs/tag' }, minItems: 2 },
				score: { type: 'integer', minimum: 3, maximum: 5 },
				ratio: { type: 'number', maximum: 0.5 },
				done: { type: 'boolean' },
				when: { type: 'string', format: 'date-time' },
				note: { type: ['string', 'null'] },
				either: { anyOf: [{ type: 'null' }, { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] }] },
				merged: { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { const: 7 } } }] },
				fixed: { const: 'v1' },
			},
			required: ['title', 'tags', 'score', 'extra'],
			additionalProperties: true,
		};
		const text = 'A green and blue release for everyone to see';
		const value = valueForSchema(schema, text) as Record<string, unknown>;
		expect(schemaProblems(value, schema)).toEqual([]);
		expect(value).toEqual({
			title: 'A green and blue rel',
			tags: ['green', 'green'],
			score: 3,
			ratio: 0.5,
			done: true,
			when: '2025-01-01T09:00:00Z',
			note: text,
			either: { id: 1 },
			merged: { a: text, b: 7 },
			fixed: 'v1',
			extra: text,
		});
		expect(words(value.title as string)).toBe(5);
	});

	it('stops at a recursive schema instead of looping', () => {
		const schema = { $ref: '#/$defs/node', $defs: { node: { type: 'object', properties: { child: { $ref: '#/$defs/node' } }, required: ['child'] } } };
		const value = JSON.stringify(valueForSchema(schema, 'x'));
		expect(value.startsWith('{"child":{"child":')).toBe(true);
		expect(value).toContain('null');
	});
});
