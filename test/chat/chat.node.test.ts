/**
 * The Chat Completion node through n8n-core's engine (the built package in dist/), talking HTTP
 * to the fake Nebula Block server. Run `npm run build` first.
 */
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeExecutionData, INodeParameters, StructuredChunk } from 'n8n-workflow';

import { useFakeNebula } from '../support/fake-for-node-tests';
import type { Step } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';
import { expectEachItemStreamed } from '../support/streamed-chunks';

const TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
const MODEL = 'fake/chat-model';
const STREAM_FIELDS = { stream: true, stream_options: { include_usage: true } };

const fake = useFakeNebula();

interface Run {
	key?: string;
	script?: Array<Step | Step[]>;
	parameters?: INodeParameters;
	options?: INodeParameters;
	inputItems?: IDataObject[];
	continueOnFail?: boolean;
	onChunk?: (chunk: StructuredChunk) => void;
	signal?: AbortSignal;
}

/** Runs the node for a fresh API key, so its requests and script are its own. */
async function run(opts: Run = {}) {
	const key = opts.key ?? fake.newKey('chat');
	if (opts.script) fake.script(key, ...opts.script);
	const outcome = await runNode({
		type: TYPE,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: '={{ $json.question }}' }] },
			options: opts.options ?? {},
			...opts.parameters,
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url } },
		inputItems: opts.inputItems ?? [{ question: 'Hello there' }],
		continueOnFail: opts.continueOnFail,
		onChunk: opts.onChunk,
		signal: opts.signal,
	});
	return { ...outcome, key, requests: fake.requests(key) };
}

function jsonOf(items: INodeExecutionData[]): IDataObject[] {
	return items.map((item) => item.json);
}

/** Completion ids count up per request on the fake; everything else must match. */
function withoutId(items: INodeExecutionData[]): IDataObject[] {
	return jsonOf(items).map(({ id, ...rest }) => {
		expect(id).toMatch(/^chatcmpl-\d+$/);
		return rest;
	});
}

/** Runs the same scripted answer streamed and not streamed and returns both outputs. */
async function bothModes(opts: Run & { reply?: Step }) {
	const script = opts.reply ? [opts.reply] : undefined;
	const streamed = await run({ ...opts, script, options: { ...opts.options, stream: true } });
	const plain = await run({ ...opts, script, options: { ...opts.options, stream: false } });
	expect(streamed.error).toBeUndefined();
	expect(plain.error).toBeUndefined();
	expect(streamed.requests[0].body.stream).toBe(true);
	expect(plain.requests[0].body).not.toHaveProperty('stream');
	return { streamed, plain };
}

function expectNoKey(value: unknown, key: string): void {
	const error = value as { message?: unknown; description?: unknown; context?: unknown; cause?: unknown };
	const shown = JSON.stringify({ message: error.message, description: error.description, context: error.context, cause: error.cause });
	expect(shown).not.toContain(key);
}

const usage = (prompt: number, completion: number) => ({ promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion });

describe('the Model field', () => {
	it('an item whose model expression gives nothing stops with how to fix it, and sends nothing', async () => {
		const { error, requests } = await run({
			parameters: { model: { __rl: true, mode: 'id', value: '={{ $json.model }}' } },
			inputItems: [{ question: 'Hello', model: '  ' }],
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe('No model selected');
		// Model is already "By ID" with an expression: the hint is about the expression, not about switching to "By ID".
		expect((error as NodeOperationError).description).toBe(
			'Model is an expression that gave no model ID for this item: make it return one, e.g. meta-llama/Llama-3.3-70B-Instruct, or check the field it reads.',
		);
		expect((error as NodeOperationError).context.itemIndex).toBe(0);
		expect(requests).toHaveLength(0);
	});

	it('the same hint for an expression in "From List" mode that gives nothing', async () => {
		const { error, requests } = await run({
			parameters: { model: { __rl: true, mode: 'list', value: '={{ $json.model }}' } },
			inputItems: [{ question: 'Hello', model: '' }],
		});
		expect((error as NodeOperationError).description).toMatch(/^Model is an expression that gave no model ID for this item/);
		expect(requests).toHaveLength(0);
	});

	it('with Continue On Fail, only that item fails; the others are answered with their own model', async () => {
		const { items, error, requests } = await run({
			parameters: { model: { __rl: true, mode: 'id', value: '={{ $json.model }}' } },
			inputItems: [
				{ question: 'one', model: MODEL },
				{ question: 'two', model: '' },
			],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		expect(items[0].json.content).toBe('Echo: one');
		expect(items[1].json).toEqual({ error: 'No model selected' });
		expect(items[1].pairedItem).toEqual({ item: 1 });
		expect(requests.map((request) => request.body.model)).toEqual([MODEL]);
	});
});

describe('request body', () => {
	it('sends only model, messages and the stream fields by default, to {Base URL}/chat/completions', async () => {
		const { items, error, requests, key } = await run();
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(1);
		expect(requests[0].method).toBe('POST');
		expect(requests[0].path).toBe('/v1/chat/completions');
		expect(requests[0].headers.authorization).toBe(`Bearer ${key}`);
		expect(requests[0].body).toEqual({ model: MODEL, messages: [{ role: 'user', content: 'Hello there' }], ...STREAM_FIELDS });
		expect(jsonOf(items)).toEqual([
			{ content: 'Echo: Hello there', role: 'assistant', finishReason: 'stop', usage: usage(2, 3), model: MODEL, id: expect.stringMatching(/^chatcmpl-/) },
		]);
		expect(items[0].pairedItem).toEqual({ item: 0 });
		expect(JSON.stringify(items)).not.toContain(key);
	});

	it('sends every option the form has, exactly, and leaves the stream fields out when Stream is off', async () => {
		const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
		const { error, requests } = await run({
			parameters: {
				systemMessage: 'Be brief.',
				messages: {
					values: [
						{ role: 'user', content: 'Hi' },
						{ role: 'assistant', content: 'Hello!' },
						{ role: 'user', content: '={{ $json.question }}' },
					],
				},
			},
			options: {
				stream: false,
				maxTokens: 50,
				temperature: 0.2,
				topP: 0.9,
				stop: 'END, STOP',
				presencePenalty: 0.5,
				frequencyPenalty: -0.5,
				seed: 42,
				numberOfChoices: 1,
				responseFormat: 'json_object',
				tools: JSON.stringify(tools),
				toolChoice: 'auto',
				additionalBodyFields: '{"top_k": 40, "stream": true}',
				timeout: 30,
				maxRetries: 0,
				concurrency: 2,
				reasoning: 'strip',
			},
		});
		expect(error).toBeUndefined();
		expect(requests[0].body).toEqual({
			model: MODEL,
			messages: [
				{ role: 'system', content: 'Be brief.' },
				{ role: 'user', content: 'Hi' },
				{ role: 'assistant', content: 'Hello!' },
				{ role: 'user', content: 'Hello there' },
			],
			max_tokens: 50,
			temperature: 0.2,
			top_p: 0.9,
			stop: ['END', 'STOP'],
			presence_penalty: 0.5,
			frequency_penalty: -0.5,
			seed: 42,
			n: 1,
			response_format: { type: 'json_object' },
			tools,
			tool_choice: 'auto',
			top_k: 40,
		});
	});

	it.each([
		['no Tools', {}],
		['Tools from an expression that gives []', { tools: '={{ [] }}' }],
	])('Tool Choice Auto with %s sends neither tools nor tool_choice (servers reject tool_choice alone)', async (_case, tools) => {
		const { error, requests } = await run({ options: { toolChoice: 'auto', stream: false, ...tools } });
		expect(error).toBeUndefined();
		expect(requests[0].body).toEqual({ model: MODEL, messages: [{ role: 'user', content: 'Hello there' }] });
	});

	it('Tool Choice Required with Tools "[]" stops the item: no tool can be called', async () => {
		const { error, requests } = await run({ options: { toolChoice: 'required', tools: '[]' } });
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe('Tool Choice is "required" but Tools is empty');
		expect((error as NodeOperationError).description).toMatch(/\(item 0\)$/);
		expect(requests).toHaveLength(0);
	});

	it('names a bad option and sends nothing', async () => {
		const { error, requests } = await run({ options: { tools: '{"name": "x"}' } });
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe('Tools must be a JSON array, not an object');
		expect((error as NodeOperationError).description).toMatch(/^Write Tools as a JSON array, e\.g\. \[\{"type": "function".*\(item 0\)$/);
		expect((error as NodeOperationError).context.itemIndex).toBe(0);
		expect(requests).toHaveLength(0);
	});
});

describe('streamed and plain calls give the same output', () => {
	it('for a plain answer, with usage on every item', async () => {
		const inputItems = [{ question: 'one two three' }, { question: 'four' }];
		const { streamed, plain } = await bothModes({ inputItems });
		expect(withoutId(streamed.items)).toEqual(withoutId(plain.items));
		expect(jsonOf(streamed.items).map((json) => json.usage)).toEqual([usage(3, 4), usage(1, 2)]);
	});

	it('for Simplify Output off: the stream is assembled into the chat.completion a plain call returns', async () => {
		const { streamed, plain } = await bothModes({ parameters: { simplify: false } });
		const assembled = streamed.items[0].json as IDataObject & { choices: IDataObject[] };
		const returned = plain.items[0].json as IDataObject & { choices: IDataObject[] };
		expect(assembled.object).toBe('chat.completion');
		for (const completion of [assembled, returned]) {
			expect(completion).toMatchObject({ object: 'chat.completion', model: MODEL, system_fingerprint: 'fp_fake_nebula' });
			expect(completion.choices).toHaveLength(1);
			expect(completion.choices[0]).toMatchObject({ index: 0, message: { role: 'assistant', content: 'Echo: Hello there' }, finish_reason: 'stop' });
			expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
		}
	});

	it('for tool calls, assembled from their deltas', async () => {
		const reply: Step = {
			kind: 'reply',
			toolCalls: [
				{ id: 'call_1', name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' },
				{ id: 'call_2', name: 'get_time', arguments: '{"zone": "Europe/Paris"}' },
			],
			usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 },
		};
		const { streamed, plain } = await bothModes({ reply, options: { tools: '[{"name": "get_weather"}, {"name": "get_time"}]' } });
		expect(withoutId(streamed.items)).toEqual(withoutId(plain.items));
		expect(streamed.items[0].json).toMatchObject({
			content: '',
			finishReason: 'tool_calls',
			toolCalls: [
				{ id: 'call_1', type: 'function', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
				{ id: 'call_2', type: 'function', name: 'get_time', arguments: { zone: 'Europe/Paris' } },
			],
			usage: usage(20, 12),
		});
		// The fake sent the arguments in several pieces; the raw assembled form has them whole.
		const raw = await run({ script: [reply], parameters: { simplify: false } });
		const message = (raw.items[0].json.choices as IDataObject[])[0].message as IDataObject;
		expect(message.content).toBeNull();
		expect(message.tool_calls).toEqual([
			{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' } },
			{ id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"zone": "Europe/Paris"}' } },
		]);
	});

	it('for several choices: one item per choice, with its index, the usage and the input pairing', async () => {
		const { streamed, plain } = await bothModes({ options: { numberOfChoices: 3 } });
		expect(withoutId(streamed.items)).toEqual(withoutId(plain.items));
		expect(streamed.requests[0].body.n).toBe(3);
		expect(jsonOf(streamed.items).map((json) => [json.index, json.content, json.finishReason])).toEqual([
			[0, 'Echo: Hello there', 'stop'],
			[1, 'Echo[1]: Hello there', 'stop'],
			[2, 'Echo[2]: Hello there', 'stop'],
		]);
		for (const item of streamed.items) {
			expect(item.pairedItem).toEqual({ item: 0 });
			expect(item.json.usage).toEqual(usage(2, 9));
		}
	});

	it('pairs the choices of every input item with that item', async () => {
		const { items, error } = await run({ inputItems: [{ question: 'a' }, { question: 'b' }], options: { numberOfChoices: 2 } });
		expect(error).toBeUndefined();
		expect(items.map((item) => [item.pairedItem, item.json.index, item.json.content])).toEqual([
			[{ item: 0 }, 0, 'Echo: a'],
			[{ item: 0 }, 1, 'Echo[1]: a'],
			[{ item: 1 }, 0, 'Echo: b'],
			[{ item: 1 }, 1, 'Echo[1]: b'],
		]);
	});
});

describe('reasoning', () => {
	const fromField = (field: 'reasoning_content' | 'reasoning'): Step => ({
		kind: 'reply',
		reasoningContent: 'First I add two and two.',
		reasoningField: field,
		content: 'Four.',
	});
	const inline: Step = { kind: 'reply', content: '<think>\nFirst I add two and two.\n</think>\n\nFour.' };

	it.each([
		['reasoning_content', fromField('reasoning_content')],
		['reasoning', fromField('reasoning')],
		['inline <think>', inline],
	])('separates reasoning sent as %s, streamed or not', async (_form, reply) => {
		const { streamed, plain } = await bothModes({ reply });
		expect(withoutId(streamed.items)).toEqual(withoutId(plain.items));
		expect(streamed.items[0].json).toMatchObject({ content: 'Four.', reasoning: 'First I add two and two.' });
	});

	it.each([
		['reasoning_content', fromField('reasoning_content')],
		['inline <think>', inline],
	])('strips reasoning sent as %s', async (_form, reply) => {
		const { items, error } = await run({ script: [reply], options: { reasoning: 'strip' } });
		expect(error).toBeUndefined();
		expect(items[0].json.content).toBe('Four.');
		expect(items[0].json).not.toHaveProperty('reasoning');
	});

	it('leaves reasoning inline, moving a field into a <think> block', async () => {
		const fromInline = await run({ script: [inline], options: { reasoning: 'inline' } });
		expect(fromInline.items[0].json.content).toBe('<think>\nFirst I add two and two.\n</think>\n\nFour.');
		const fromFieldRun = await run({ script: [fromField('reasoning_content')], options: { reasoning: 'inline' } });
		expect(fromFieldRun.items[0].json.content).toBe('<think>\nFirst I add two and two.\n</think>\n\nFour.');
		expect(fromFieldRun.items[0].json).not.toHaveProperty('reasoning');
	});

	it('keeps the reasoning out of what it streams to a chat, and out of the content', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error } = await run({ script: [inline], onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		const pieces = chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content);
		expect(pieces.join('')).toBe('Four.');
		expect(items[0].json.content).toBe('Four.');
	});
});

describe('JSON answers', () => {
	const schema = { type: 'object', properties: { city: { type: 'string' }, population: { type: 'number' } }, required: ['city'] };

	it('sends a JSON schema and parses the answer into an object, streamed or not', async () => {
		const reply: Step = { kind: 'reply', content: '{"city": "Paris", "population": 2100000}' };
		const options = { responseFormat: 'json_schema', jsonSchema: JSON.stringify(schema), jsonSchemaName: 'place', parseJsonOutput: true };
		const { streamed, plain } = await bothModes({ reply, options });
		expect(streamed.requests[0].body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'place', schema } });
		expect(plain.requests[0].body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'place', schema } });
		expect(withoutId(streamed.items)).toEqual(withoutId(plain.items));
		expect(streamed.items[0].json.content).toEqual({ city: 'Paris', population: 2100000 });
	});

	it('stops the item with a clear error when the answer is not JSON', async () => {
		const { error, items } = await run({ script: [{ kind: 'reply', content: 'Paris, I think.' }], options: { parseJsonOutput: true } });
		expect(items).toEqual([]);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toMatch(/^The answer is not valid JSON, so Parse JSON Output cannot turn it into an object/);
		expect((error as NodeOperationError).description).toMatch(/It begins "Paris, I think\."\. Set Response Format to JSON Object or JSON Schema/);
		expect((error as NodeOperationError).context.itemIndex).toBe(0);
	});

	it('says the model did not follow a JSON Schema Response Format instead of asking to set it', async () => {
		const options = { responseFormat: 'json_schema', jsonSchema: JSON.stringify(schema), parseJsonOutput: true, temperature: 0 };
		const { error, requests } = await run({ script: [{ kind: 'reply', content: 'Paris, I think.' }], options });
		expect(requests[0].body.response_format).toMatchObject({ type: 'json_schema' });
		const description = (error as NodeOperationError).description;
		expect(description).toMatch(/^It begins "Paris, I think\."\. Response Format is already JSON Schema, but the model did not follow it\. Try a model that supports JSON mode/);
		expect(description).toContain('a system message that asks for JSON only');
		expect(description).not.toMatch(/Set Response Format|Temperature/);
	});
});

describe('messages from JSON', () => {
	const history = [
		{ role: 'system', content: 'You answer in French.' },
		{ role: 'user', content: 'Hi' },
		{ role: 'assistant', content: 'Salut !' },
		{ role: 'user', content: 'How are you?' },
	];

	it('sends the array an expression gives, after the System Message', async () => {
		const { items, error, requests } = await run({
			parameters: { messagesSource: 'json', messagesJson: '={{ $json.history }}', systemMessage: 'Be kind.' },
			inputItems: [{ history }],
		});
		expect(error).toBeUndefined();
		expect(requests[0].body.messages).toEqual([{ role: 'system', content: 'Be kind.' }, ...history]);
		expect(items[0].json.content).toBe('Echo: How are you?');
	});

	it('accepts JSON text as well', async () => {
		const { error, requests } = await run({ parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history) } });
		expect(error).toBeUndefined();
		expect(requests[0].body.messages).toEqual(history);
	});

	it.each([
		[[{ role: 'user', content: 'ok' }, { role: 'robot', content: 'x' }], 'Message at index 1 has role "robot": expected one of system, user, assistant, tool'],
		[[{ role: 'user', content: 'ok' }, { role: 'user', content: 'ok' }, { content: 'x' }], 'Message at index 2 has no role: expected one of system, user, assistant, tool'],
		[[{ role: 'user', content: { text: 'x' } }], 'Message at index 0 has content that is an object, not text'],
		[[{ role: 'user', content: 'ok' }, 'hello'], 'Message at index 1 is the text "hello", not an object with role and content'],
		['not an array', `Messages (From JSON) is not valid JSON: Unexpected token 'o', "not an array" is not valid JSON`],
		[42, 'Messages (From JSON) must be an array, not the number 42'],
		[[{ role: 'system', content: 'Only a system prompt' }], 'There is no message to answer'],
	])('names the element and the problem: %j', async (value, message) => {
		const { error, requests } = await run({
			parameters: { messagesSource: 'json', messagesJson: '={{ $json.history }}' },
			inputItems: [{ history: value }],
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe(message);
		expect((error as NodeOperationError).context.itemIndex).toBe(0);
		expect(requests).toHaveLength(0);
	});
});

describe('Prompt Truncate Length and the Chat Text endpoint', () => {
	const long = (word: string) => `${word} `.repeat(200).trim();
	const history = [
		{ role: 'system', content: 'Be brief.' },
		{ role: 'user', content: long('alpha') },
		{ role: 'assistant', content: long('beta') },
		{ role: 'user', content: 'What now?' },
	];

	it('evicts the earliest non-system messages on the client to fit the budget', async () => {
		const { error, requests, items } = await run({
			parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history) },
			options: { promptTruncateLength: 400 },
		});
		expect(error).toBeUndefined();
		expect(requests[0].body.messages).toEqual([history[0], history[2], history[3]]);
		expect(requests[0].body).not.toHaveProperty('prompt_truncate_len');
		expect(items[0].json.content).toBe('Echo: What now?');
		// Left out without a word before: the simplified output now says how many messages went.
		expect(items[0].json.droppedMessages).toBe(1);
	});

	it('says 0 when everything fits, and nothing when the option is not set', async () => {
		const fits = await run({ parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history) }, options: { promptTruncateLength: 5000 } });
		expect(fits.requests[0].body.messages).toEqual(history);
		expect(fits.items[0].json.droppedMessages).toBe(0);
		const unset = await run({ parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history) } });
		expect(unset.items[0].json).not.toHaveProperty('droppedMessages');
	});

	it('leaves the raw output as the service sent it: the count is in the simplified output only', async () => {
		const { items } = await run({
			parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history), simplify: false },
			options: { promptTruncateLength: 400 },
		});
		expect(items[0].json.object).toBe('chat.completion');
		expect(items[0].json).not.toHaveProperty('droppedMessages');
	});

	it('sends to /inference/chat_text with prompt_truncate_len, and gives the same output shape', async () => {
		const { error, requests, items } = await run({
			parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history) },
			options: { endpoint: 'chatText', promptTruncateLength: 400, maxTokens: 64 },
		});
		expect(error).toBeUndefined();
		expect(requests[0].path).toBe('/v1/inference/chat_text');
		expect(requests[0].body).toEqual({
			model: MODEL,
			messages: [history[0], history[2], history[3]],
			prompt_truncate_len: 400,
			max_tokens: 64,
			...STREAM_FIELDS,
		});
		expect(jsonOf(items)).toEqual([
			expect.objectContaining({ content: 'Echo: What now?', finishReason: 'stop', usage: expect.objectContaining({ completionTokens: 3 }), model: MODEL }),
		]);
	});

	it('works on Chat Text without streaming too', async () => {
		const { error, requests, items } = await run({ options: { endpoint: 'chatText', stream: false } });
		expect(error).toBeUndefined();
		expect(requests[0].path).toBe('/v1/inference/chat_text');
		expect(requests[0].body).toEqual({ model: MODEL, messages: [{ role: 'user', content: 'Hello there' }] });
		expect(items[0].json).toMatchObject({ content: 'Echo: Hello there', usage: usage(2, 3) });
	});
});

describe('items and concurrency', () => {
	it('has several requests in flight under Concurrency and keeps input order when later items answer first', async () => {
		const key = fake.newKey('concurrency');
		// Steps go to requests in arrival order: whichever arrives first answers last.
		const script: Step[] = [
			{ kind: 'delayHeaders', ms: 800 },
			{ kind: 'delayHeaders', ms: 400 },
			{ kind: 'delayHeaders', ms: 0 },
		];
		const questions = ['first', 'second', 'third'];
		const finished: number[] = [];
		const { items, error, requests } = await run({
			key,
			script,
			inputItems: questions.map((question) => ({ question })),
			options: { concurrency: 3 },
			onChunk: (chunk) => {
				if (chunk.type === 'end') finished.push(chunk.metadata.itemIndex);
			},
		});
		expect(error).toBeUndefined();
		// All three were in flight at once: sent before any answer came back.
		expect(fake.maxInFlight(key)).toBe(3);
		const arrived = requests.map((request) => questions.indexOf(request.body.messages[0].content));
		expect([...arrived].sort()).toEqual([0, 1, 2]);
		// The answers came back in reverse arrival order, yet the chat got them in input order.
		expect(finished).toEqual([0, 1, 2]);
		expect(items.map((item) => item.json.content)).toEqual(questions.map((question) => `Echo: ${question}`));
		expect(items.map((item) => item.pairedItem)).toEqual([0, 1, 2].map((item) => ({ item })));
	});

	it('sends one request at a time with Concurrency 1', async () => {
		const key = fake.newKey('serial');
		const { error } = await run({ key, inputItems: [{ question: 'a' }, { question: 'b' }, { question: 'c' }], options: { concurrency: 1 } });
		expect(error).toBeUndefined();
		expect(fake.maxInFlight(key)).toBe(1);
	});

	it('with Continue On Fail, gives each failed item an error item with its pairing and carries on', async () => {
		const { items, error, key } = await run({
			continueOnFail: true,
			parameters: {
				model: { __rl: true, mode: 'id', value: '={{ $json.model }}' },
				messagesSource: 'json',
				messagesJson: '={{ $json.history }}',
			},
			inputItems: [
				{ model: MODEL, history: [{ role: 'user', content: 'good' }] },
				{ model: MODEL, history: [{ role: 'user' }] },
				{ model: 'nobody/unknown', history: [{ role: 'user', content: 'x' }] },
				{ model: MODEL, history: [{ role: 'user', content: 'also good' }] },
			],
		});
		expect(error).toBeUndefined();
		expect(items).toHaveLength(4);
		expect(items.map((item) => item.pairedItem)).toEqual([0, 1, 2, 3].map((item) => ({ item })));
		expect(items[0].json.content).toBe('Echo: good');
		expect(items[1].json).toEqual({ error: 'Message at index 0 has no content' });
		expect(items[1].error).toBeInstanceOf(NodeOperationError);
		expect(items[2].json.error).toBe('The model `nobody/unknown` does not exist.');
		expect(items[2].error).toBeInstanceOf(NodeApiError);
		expect((items[2].error as NodeApiError).httpCode).toBe('404');
		expectNoKey(items[2].error, key);
		expect(items[3].json.content).toBe('Echo: also good');
	});

	it('without Continue On Fail, stops with a NodeApiError that names the item and carries no key', async () => {
		const { error, key } = await run({
			script: [{ kind: 'status', status: 400, body: { error: { message: 'max_tokens is too large', type: 'BadRequestError', param: 'max_tokens', code: 400 } } }],
			options: { maxRetries: 0 },
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('max_tokens is too large');
		expect((error as NodeApiError).httpCode).toBe('400');
		expect((error as NodeApiError).context.itemIndex).toBe(0);
		expectNoKey(error, key);
	});
});

describe('streams', () => {
	it('sends begin, the text as it arrives, and end for each item when n8n streams the answer', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error } = await run({
			inputItems: [{ question: 'one two three' }, { question: 'four' }],
			options: { concurrency: 1 },
			onChunk: (chunk) => chunks.push(chunk),
		});
		expect(error).toBeUndefined();
		expect(items).toHaveLength(2);
		expectEachItemStreamed(chunks, items, 'content');
	});

	it('gives the chat each item whole and in input order under Concurrency, the later answers held back', async () => {
		const key = fake.newKey('ordered');
		// Item 0 answers slowest, item 2 fastest: their tokens would interleave in the chat.
		fake.script(key, [{ kind: 'drip', intervalMs: 30 }], [{ kind: 'drip', intervalMs: 20 }], [{ kind: 'drip', intervalMs: 10 }]);
		const chunks: StructuredChunk[] = [];
		const questions = ['a1 a2 a3 a4', 'b1 b2 b3 b4', 'c1 c2 c3 c4'];
		const { items, error } = await run({
			key,
			inputItems: questions.map((question) => ({ question })),
			options: { concurrency: 3 },
			onChunk: (chunk) => chunks.push(chunk),
		});
		expect(error).toBeUndefined();
		expect(fake.maxInFlight(key)).toBe(3);
		const order = chunks.map((chunk) => chunk.metadata.itemIndex);
		// Never back to an earlier item: 0...0 1...1 2...2.
		expect(order).toEqual([...order].sort());
		expectEachItemStreamed(chunks, items, 'content');
		expect(items.map((item) => item.json.content)).toEqual(questions.map((question) => `Echo: ${question}`));
	});

	it('with Continue On Fail, a failed item sends begin, error and end in its turn', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error } = await run({
			continueOnFail: true,
			parameters: { model: { __rl: true, mode: 'id', value: '={{ $json.model }}' } },
			inputItems: [
				{ model: MODEL, question: 'first' },
				{ model: 'nobody/unknown', question: 'second' },
				{ model: MODEL, question: 'third' },
			],
			options: { concurrency: 3 },
			onChunk: (chunk) => chunks.push(chunk),
		});
		expect(error).toBeUndefined();
		expect(items).toHaveLength(3);
		expect(chunks.map((chunk) => `${chunk.metadata.itemIndex}:${chunk.type}`)).toEqual([
			'0:begin', '0:item', '0:item', '0:end',
			'1:begin', '1:error', '1:end',
			'2:begin', '2:item', '2:item', '2:end',
		]);
		expect(chunks.find((chunk) => chunk.type === 'error')?.content).toBe('The model `nobody/unknown` does not exist.');
	});

	it('sends nothing to the chat with Enable Streaming off, and still streams the request', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error, requests } = await run({ options: { enableStreaming: false }, onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		expect(items[0].json.content).toBe('Echo: Hello there');
		expect(requests[0].body.stream).toBe(true);
		expect(chunks).toEqual([]);
	});

	it('with Stream off, gives the chat the whole answer as one piece', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error, requests } = await run({ options: { stream: false }, onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		expect(requests[0].body).not.toHaveProperty('stream');
		expect(items[0].json.content).toBe('Echo: Hello there');
		expect(chunks.map((chunk) => [chunk.type, chunk.content])).toEqual([
			['begin', undefined],
			['item', 'Echo: Hello there'],
			['end', undefined],
		]);
	});

	it('reads a JSON answer to a stream request, and streams it in one piece', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error } = await run({ script: [{ kind: 'jsonForStream' }], onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		expect(items[0].json).toMatchObject({ content: 'Echo: Hello there', usage: usage(2, 3) });
		expect(chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content)).toEqual(['Echo: Hello there']);
	});

	it('reports a stream that ends with neither [DONE] nor a finish reason as cut off', async () => {
		const { error, items } = await run({ script: [{ kind: 'cutStream', afterChunks: 2 }], options: { maxRetries: 0 } });
		expect(items).toEqual([]);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('The stream ended before the answer was complete (no finish reason and no [DONE])');
		expect((error as NodeApiError).description).toMatch(/try again/i);
	});

	it('turns an error event in the middle of a stream into a NodeApiError with the service words', async () => {
		const { error } = await run({ script: [{ kind: 'errorMidStream', afterChunks: 2, error: 'The model crashed' }] });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('The model crashed');
	});
});

describe('cancellation', () => {
	it('aborts the request in flight: the run ends at once and the next item is never sent', async () => {
		const key = fake.newKey('cancel');
		const words = Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ');
		// 40 words at 50 ms: the answer would take about 2 s to stream.
		fake.script(key, [{ kind: 'drip', intervalMs: 50 }, { kind: 'reply', content: words }]);
		const controller = new AbortController();
		const chunks: StructuredChunk[] = [];
		const outcome = run({
			key,
			inputItems: [{ question: 'first' }, { question: 'second' }],
			options: { concurrency: 1 },
			signal: controller.signal,
			onChunk: (chunk) => {
				chunks.push(chunk);
				// Cancel once the answer is streaming.
				if (chunk.type === 'item' && !controller.signal.aborted) setTimeout(() => controller.abort(), 100);
			},
		});
		const { error, items } = await outcome;
		// The engine stops the run with the error the node threw when its request was aborted.
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('The request was cancelled');
		expect((error as NodeApiError).description).toBe('The execution was stopped.');
		expect(items).toEqual([]);
		const streamedPieces = chunks.filter((chunk) => chunk.type === 'item').length;
		expect(streamedPieces).toBeGreaterThan(0);
		expect(streamedPieces).toBeLessThan(40);
		// Had the first request gone on, it would have finished by now and the second item been sent.
		await new Promise((resolve) => setTimeout(resolve, 2500));
		expect(fake.requests(key)).toHaveLength(1);
		const after = chunks.filter((chunk) => chunk.type === 'item').length;
		expect(after).toBe(streamedPieces);
	});
});
