/**
 * The Text Generate node through n8n-core's engine (the built package in dist/), talking HTTP
 * to the fake Nebula Block server. Run `npm run build` first.
 */
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeExecutionData, INodeParameters, StructuredChunk } from 'n8n-workflow';

import { useFakeNebula } from '../support/fake-for-node-tests';
import { runNode } from '../support/n8n-harness';
import { expectEachItemStreamed } from '../support/streamed-chunks';

const TYPE = 'n8n-nodes-nebula-block.nebulaBlockTextGenerate';
const MODEL = 'fake/text-model';

const fake = useFakeNebula();

interface Run {
	key?: string;
	parameters?: INodeParameters;
	options?: INodeParameters;
	inputItems?: IDataObject[];
	continueOnFail?: boolean;
	onChunk?: (chunk: StructuredChunk) => void;
	textGenerateUrl?: string;
}

/** Runs the node for a fresh API key (so its requests and script are its own). */
async function run(opts: Run = {}) {
	const key = opts.key ?? fake.newKey('text');
	const outcome = await runNode({
		type: TYPE,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			prompt: '={{ $json.prompt }}',
			options: opts.options ?? {},
			...opts.parameters,
		},
		credentials: {
			nebulaBlockApi: { apiKey: key, baseUrl: fake.url, textGenerateUrl: opts.textGenerateUrl ?? fake.url },
		},
		inputItems: opts.inputItems ?? [{ prompt: 'Hello there' }],
		continueOnFail: opts.continueOnFail,
		onChunk: opts.onChunk,
	});
	return { ...outcome, key, requests: fake.requests(key) };
}

function jsonOf(items: INodeExecutionData[]): IDataObject[] {
	return items.map((item) => item.json);
}

/** The error as n8n shows it must never carry the key. */
function expectNoKey(error: unknown, key: string): void {
	const shown = JSON.stringify({
		message: (error as Error).message,
		description: (error as { description?: unknown }).description,
		context: (error as { context?: unknown }).context,
		cause: (error as { cause?: unknown }).cause,
	});
	expect(shown).not.toContain(key);
}

describe('the Model field', () => {
	it('an item whose model expression gives nothing stops with how to fix it, and sends nothing', async () => {
		const { error, requests } = await run({
			parameters: { model: { __rl: true, mode: 'id', value: '={{ $json.model }}' } },
			inputItems: [{ prompt: 'Hello', model: '' }],
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
			inputItems: [{ prompt: 'Hello', model: '' }],
		});
		expect((error as NodeOperationError).description).toMatch(/^Model is an expression that gave no model ID for this item/);
		expect(requests).toHaveLength(0);
	});
});

describe('request body', () => {
	it('sends seed 003 defaults when no option is set, streamed, to {Text Generate URL}/text/generate', async () => {
		const { items, error, requests, key } = await run();
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(1);
		expect(requests[0].method).toBe('POST');
		expect(requests[0].path).toBe('/v1/text/generate');
		expect(requests[0].headers.authorization).toBe(`Bearer ${key}`);
		expect(requests[0].body).toEqual({
			model: MODEL,
			prompt: 'Hello there',
			max_tokens: 256,
			temperature: 0.7,
			top_p: 1,
			stream: true,
		});
		// The fake's stream carries no usage (as seed 003 documents), so none is shown.
		expect(jsonOf(items)).toEqual([{ text: 'Echo: Hello there', finishReason: 'stop', model: MODEL }]);
	});

	it('sends the values the user set; with Stream off, no stream field (not streaming is the service\'s default)', async () => {
		const { items, error, requests } = await run({
			options: { maxTokens: 3, temperature: 0.2, topP: 0.5, stop: 'END, ###', stream: false },
			inputItems: [{ prompt: 'one two three four' }],
		});
		expect(error).toBeUndefined();
		expect(requests[0].body).toEqual({
			model: MODEL,
			prompt: 'one two three four',
			max_tokens: 3,
			temperature: 0.2,
			top_p: 0.5,
			stop: ['END', '###'],
		});
		// The fake cuts its echo to max_tokens words and says so.
		expect(jsonOf(items)).toEqual([
			{
				text: 'Echo: one two',
				finishReason: 'length',
				usage: { promptTokens: 4, completionTokens: 3, totalTokens: 7 },
				model: MODEL,
			},
		]);
	});

	it('checks numbers from expressions as the chat does: text holding a number is that number, empty is the default, words stop the item', async () => {
		const { items, error, requests } = await run({
			options: { maxTokens: '={{ $json.maxTokens }}', topP: '={{ $json.topP }}', temperature: '={{ $json.temperature }}' },
			inputItems: [
				{ prompt: 'one two', maxTokens: '300', topP: '', temperature: '0.2' },
				{ prompt: 'three', maxTokens: '300', topP: '', temperature: 'abc' },
			],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		// Before, these went out as "max_tokens":"300", "top_p":"" and "temperature":"abc".
		expect(requests.map((request) => request.body)).toEqual([
			{ model: MODEL, prompt: 'one two', max_tokens: 300, temperature: 0.2, top_p: 1, stream: true },
		]);
		expect(items[0].json.text).toBe('Echo: one two');
		expect(items[1].json).toEqual({ error: 'Temperature must be a number from 0 to 2, not the text "abc"' });
		expect(items[1].error).toBeInstanceOf(NodeOperationError);
		expect((items[1].error as NodeOperationError).description).toBe(
			'Set Temperature to a number from 0 to 2, or remove the option; if it is an expression, check what it gives. (item 1)',
		);
	});

	it('sends the model typed By ID through an expression, per item', async () => {
		const { requests, error } = await run({
			parameters: { model: { __rl: true, mode: 'id', value: '={{ $json.model }}' } },
			inputItems: [{ prompt: 'a', model: 'fake/one' }],
		});
		expect(error).toBeUndefined();
		expect(requests[0].body.model).toBe('fake/one');
	});
});

describe('success', () => {
	it('returns the whole reply of a non-streamed call with Simplify Output off', async () => {
		const { items, error } = await run({ options: { stream: false }, parameters: { simplify: false } });
		expect(error).toBeUndefined();
		expect(jsonOf(items)).toEqual([
			{
				status: 'success',
				data: {
					text: 'Echo: Hello there',
					usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
					model: MODEL,
					finish_reason: 'stop',
				},
			},
		]);
	});

	it('returns a streamed answer as the equivalent reply with Simplify Output off', async () => {
		const { items, error } = await run({ parameters: { simplify: false } });
		expect(error).toBeUndefined();
		expect(jsonOf(items)).toEqual([{ status: 'success', data: { text: 'Echo: Hello there', finish_reason: 'stop' } }]);
	});

	it("assembles seed 003's example stream, with the last event's finish reason", async () => {
		const key = fake.newKey('seed-stream');
		const text = 'Here\'s a simple Hello World program:\n\nprint("Hello, World!")';
		fake.script(key, { kind: 'reply', content: text, finishReason: 'length' });
		const { items, error } = await run({ key });
		expect(error).toBeUndefined();
		expect(jsonOf(items)).toEqual([{ text, finishReason: 'length', model: MODEL }]);
	});

	it('gives the same item when the service ignores stream: true and sends JSON', async () => {
		const key = fake.newKey('json-for-stream');
		fake.script(key, { kind: 'jsonForStream' });
		const { items, error } = await run({ key });
		expect(error).toBeUndefined();
		expect(jsonOf(items)).toEqual([
			{
				text: 'Echo: Hello there',
				finishReason: 'stop',
				usage: { promptTokens: 2, completionTokens: 3, totalTokens: 5 },
				model: MODEL,
			},
		]);
	});

	it('copes with CRLF framing and events split into single bytes', async () => {
		const key = fake.newKey('framing');
		fake.script(key, [{ kind: 'crlf' }, { kind: 'splitWrites', bytes: 1 }, { kind: 'keepAlive' }]);
		const { items, error } = await run({ key, inputItems: [{ prompt: 'héllo wörld 🚀' }] });
		expect(error).toBeUndefined();
		expect(items[0].json.text).toBe('Echo: héllo wörld 🚀');
	});
});

describe('service errors', () => {
	const envelope = (code: string, message: string, details?: IDataObject) => ({
		status: 'error',
		error: { code, message, ...(details && { details }) },
	});

	it.each([
		['invalid_request', 400, /node parameters named in the details/],
		['model_not_found', 404, /Pick a model from the list/],
		['context_length_exceeded', 400, /Shorten the prompt/],
		['rate_limit_exceeded', 429, /rate limit/],
		['insufficient_quota', 402, /out of credits or quota/],
	])('%s (HTTP %i) becomes a NodeApiError with the code, message, details and hint', async (code, status, hint) => {
		const key = fake.newKey(code);
		const details = { prompt: `problem for ${code}` };
		fake.script(key, { kind: 'status', status, body: envelope(code, `Message for ${code}`, details) });
		// Fixed: with Auto a 429 is the shared limiter's to retry (test/runner/rateLimit.node.test.ts).
		const { error, items, requests, result } = await run({ key, options: { maxRetries: 0, concurrencyMode: 'fixed' } });
		expect(result.logs.join('\n')).not.toContain(key);
		expect(items).toEqual([]);
		expect(requests).toHaveLength(1);
		expect(error).toBeInstanceOf(NodeApiError);
		const apiError = error as NodeApiError;
		expect(apiError.message).toBe(`Message for ${code}`);
		expect(apiError.httpCode).toBe(String(status));
		expect(apiError.description).toMatch(hint);
		expect(apiError.description).toContain(`code ${code}`);
		expect(apiError.description).toContain(`Details: ${JSON.stringify(details)}`);
		expect(apiError.description).not.toContain('Chat Completions');
		expect(apiError.context.itemIndex).toBe(0);
		expectNoKey(error, key);
	});

	it('reports the error the same way when streaming is off', async () => {
		const key = fake.newKey('no-stream-error');
		fake.script(key, { kind: 'status', status: 400, body: envelope('context_length_exceeded', 'Input prompt is too long') });
		const { error } = await run({ key, options: { stream: false } });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('Input prompt is too long');
		expect((error as NodeApiError).description).toMatch(/Shorten the prompt/);
	});

	it('answers the real model_not_found of an unknown model with the model hint', async () => {
		const { error } = await run({ parameters: { model: { __rl: true, mode: 'id', value: 'nobody/unknown' } } });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('Invalid model specified');
		expect((error as NodeApiError).description).toMatch(/Pick a model from the list/);
	});

	it('suggests the Chat Completions endpoint when /text/generate itself is not there (404)', async () => {
		const { error, requests } = await run({ textGenerateUrl: `${fake.url}/missing` });
		expect(requests[0].path).toBe('/v1/missing/text/generate');
		expect(error).toBeInstanceOf(NodeApiError);
		const description = (error as NodeApiError).description ?? '';
		expect(description).toMatch(/set Endpoint to "Chat Completions"/);
		expect(description).toContain('HTTP 404');
		expect((error as NodeApiError).httpCode).toBe('404');
	});

	it('retries a rate limit when Max Retries allows it', async () => {
		const key = fake.newKey('retry');
		fake.script(key, {
			kind: 'status',
			status: 429,
			body: envelope('rate_limit_exceeded', 'Too many requests'),
			headers: { 'retry-after': '0' },
		});
		const { error, items, requests } = await run({ key, options: { maxRetries: 1 } });
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(2);
		expect(items[0].json.text).toBe('Echo: Hello there');
	});
});

describe('stream failures', () => {
	it('turns an error event in the middle of the stream into a NodeApiError with the service words', async () => {
		const key = fake.newKey('mid-stream');
		fake.script(key, {
			kind: 'errorMidStream',
			afterChunks: 1,
			error: { status: 'error', error: { code: 'context_length_exceeded', message: 'Ran out of context mid-way' } },
		});
		const chunks: StructuredChunk[] = [];
		const { error, items } = await run({ key, onChunk: (chunk) => chunks.push(chunk), inputItems: [{ prompt: 'a b c d' }] });
		expect(items).toEqual([]);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('Ran out of context mid-way');
		expect((error as NodeApiError).description).toContain('code context_length_exceeded');
		// The part that arrived before the error was streamed, then the item closed.
		expect(chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content)).toEqual(['Echo: ']);
		const ownTypes = chunks.filter((chunk) => chunk.metadata.itemIndex === 0).map((chunk) => chunk.type);
		expect(ownTypes.slice(0, 2)).toEqual(['begin', 'item']);
		expect(ownTypes).toContain('error');
		expect(ownTypes).toContain('end');
		expectNoKey(error, key);
	});

	it('reports a stream that ends without a finish reason as cut off', async () => {
		const key = fake.newKey('cut');
		fake.script(key, { kind: 'cutStream', afterChunks: 2 });
		const { error } = await run({ key, inputItems: [{ prompt: 'a b c d' }] });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toMatch(/ended before the answer was complete/);
		expect((error as NodeApiError).description).toMatch(/try again/i);
	});
});

describe('Chat Completions endpoint', () => {
	it('sends the prompt as one user message to {Base URL}/chat/completions, streamed, same output shape', async () => {
		const { items, error, requests } = await run({ parameters: { endpoint: 'chatCompletions' } });
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(1);
		expect(requests[0].path).toBe('/v1/chat/completions');
		expect(requests[0].body).toEqual({
			model: MODEL,
			messages: [{ role: 'user', content: 'Hello there' }],
			max_tokens: 256,
			temperature: 0.7,
			top_p: 1,
			stream: true,
			stream_options: { include_usage: true },
		});
		expect(jsonOf(items)).toEqual([
			{
				text: 'Echo: Hello there',
				finishReason: 'stop',
				usage: { promptTokens: 2, completionTokens: 3, totalTokens: 5 },
				model: MODEL,
			},
		]);
	});

	it('without streaming, returns the chat completion itself with Simplify Output off', async () => {
		const { items, error, requests } = await run({
			parameters: { endpoint: 'chatCompletions', simplify: false },
			options: { stream: false, stop: 'END' },
		});
		expect(error).toBeUndefined();
		expect(requests[0].body).toEqual({
			model: MODEL,
			messages: [{ role: 'user', content: 'Hello there' }],
			max_tokens: 256,
			temperature: 0.7,
			top_p: 1,
			stop: ['END'],
		});
		const completion = items[0].json as IDataObject & { choices: IDataObject[] };
		expect(completion.object).toBe('chat.completion');
		expect(completion.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Echo: Hello there' }, finish_reason: 'stop' });
	});

	it('streams the chat answer to n8n as well', async () => {
		const chunks: StructuredChunk[] = [];
		const { error } = await run({ parameters: { endpoint: 'chatCompletions' }, onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		const text = chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content).join('');
		expect(text).toBe('Echo: Hello there');
	});

	it.each(['textGenerate', 'chatCompletions'])('with Stream off, gives the chat the whole answer in one piece (%s)', async (endpoint) => {
		const chunks: StructuredChunk[] = [];
		const { error, requests } = await run({ parameters: { endpoint }, options: { stream: false }, onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		expect(requests[0].body.stream).not.toBe(true);
		expect(chunks.map((chunk) => [chunk.type, chunk.content])).toEqual([
			['begin', undefined],
			['item', 'Echo: Hello there'],
			['end', undefined],
		]);
	});

	it('sends nothing to the chat with Enable Streaming off', async () => {
		const chunks: StructuredChunk[] = [];
		const { error, items } = await run({ options: { enableStreaming: false }, onChunk: (chunk) => chunks.push(chunk) });
		expect(error).toBeUndefined();
		expect(items[0].json.text).toBe('Echo: Hello there');
		expect(chunks).toEqual([]);
	});
});

describe('items', () => {
	it('keeps input order and pairs each output with its input item', async () => {
		const prompts = ['first', 'second', 'third', 'fourth'];
		const { items, error } = await run({ inputItems: prompts.map((prompt) => ({ prompt })), options: { concurrency: 4 } });
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json.text)).toEqual(prompts.map((prompt) => `Echo: ${prompt}`));
		expect(items.map((item) => item.pairedItem)).toEqual(prompts.map((_, index) => ({ item: index })));
	});

	it('names the item with an empty prompt and sends nothing for it', async () => {
		const { error, requests } = await run({ inputItems: [{ prompt: '   ' }] });
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe('The prompt is empty');
		expect((error as NodeOperationError).description).toMatch(/Prompt of item 0 is empty/);
		expect((error as NodeOperationError).context.itemIndex).toBe(0);
		expect(requests).toHaveLength(0);
	});

	it('sends a number from an expression as text, and refuses an object', async () => {
		const { items, error } = await run({ inputItems: [{ prompt: 42 }] });
		expect(error).toBeUndefined();
		expect(items[0].json.text).toBe('Echo: 42');
		const refused = await run({ inputItems: [{ prompt: { nested: true } }] });
		expect(refused.error).toBeInstanceOf(NodeOperationError);
		expect(refused.error?.message).toBe('The prompt is not text');
		expect(refused.requests).toHaveLength(0);
	});

	it('with Continue On Fail, puts each failure in its own item and carries on', async () => {
		const { items, error } = await run({
			continueOnFail: true,
			parameters: { model: { __rl: true, mode: 'id', value: '={{ $json.model }}' } },
			inputItems: [
				{ prompt: 'good', model: MODEL },
				{ prompt: '', model: MODEL },
				{ prompt: 'unknown model', model: 'nobody/unknown' },
				{ prompt: 'also good', model: MODEL },
			],
		});
		expect(error).toBeUndefined();
		expect(items).toHaveLength(4);
		expect(items.map((item) => item.pairedItem)).toEqual([0, 1, 2, 3].map((index) => ({ item: index })));
		expect(items[0].json.text).toBe('Echo: good');
		// n8n-core shows a failed item as {error: message}; the error itself rides along on the item.
		expect(items[1].json).toEqual({ error: 'The prompt is empty' });
		expect(items[1].error).toBeInstanceOf(NodeOperationError);
		expect((items[1].error as NodeOperationError).description).toMatch(/Prompt of item 1 is empty/);
		expect(items[2].json).toEqual({ error: 'Invalid model specified' });
		expect(items[2].error).toBeInstanceOf(NodeApiError);
		expect((items[2].error as NodeApiError).httpCode).toBe('404');
		expect((items[2].error as NodeApiError).description).toContain('code model_not_found');
		expect(items[3].json.text).toBe('Echo: also good');
	});
});

describe('streaming to n8n', () => {
	it('sends begin, the text as it arrives, and end for each item', async () => {
		const chunks: StructuredChunk[] = [];
		const { items, error } = await run({
			inputItems: [{ prompt: 'one two' }, { prompt: 'three' }],
			options: { concurrency: 1 },
			onChunk: (chunk) => chunks.push(chunk),
		});
		expect(error).toBeUndefined();
		expect(items).toHaveLength(2);
		expectEachItemStreamed(chunks, items, 'text');
	});

	it('sends the whole text as one piece when the service answered with JSON', async () => {
		const key = fake.newKey('json-chunks');
		fake.script(key, { kind: 'jsonForStream' });
		const chunks: StructuredChunk[] = [];
		await run({ key, onChunk: (chunk) => chunks.push(chunk) });
		expect(chunks.map((chunk) => [chunk.type, chunk.content])).toEqual([
			['begin', undefined],
			['item', 'Echo: Hello there'],
			['end', undefined],
		]);
	});
});
