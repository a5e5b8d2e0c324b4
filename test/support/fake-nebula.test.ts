import * as http from 'node:http';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startFakeNebula, type FakeNebula } from './fake-nebula';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

let fake: FakeNebula;

beforeAll(async () => {
	fake = await startFakeNebula();
});

afterAll(async () => {
	await fake.close();
});

// ---------------------------------------------------------------------------
// Helpers: plain fetch and node:http only, never the project's transport
// ---------------------------------------------------------------------------

function post(route: string, key: string | undefined, body: unknown, server: FakeNebula = fake): Promise<Response> {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (key !== undefined) headers.authorization = `Bearer ${key}`;
	return fetch(`${server.url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

function get(route: string, key: string, server: FakeNebula = fake): Promise<Response> {
	return fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${key}` } });
}

function readJson(res: Response): Promise<any> {
	return res.json();
}

function chatBody(content: string, extra: Record<string, unknown> = {}) {
	return { model: MODEL, messages: [{ role: 'user', content }], ...extra };
}

/** Minimal SSE parser that accepts \n, \r\n and \r line endings. */
function sseEvents(text: string): Array<{ event?: string; data: string }> {
	const events: Array<{ event?: string; data: string }> = [];
	let data: string[] = [];
	let event: string | undefined;
	for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
		if (line === '') {
			if (data.length > 0) events.push({ event, data: data.join('\n') });
			data = [];
			event = undefined;
		} else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
		else if (line.startsWith('event:')) event = line.slice(6).trim();
	}
	return events;
}

function jsonEvents(text: string): any[] {
	return sseEvents(text)
		.filter((event) => event.data !== '[DONE]')
		.map((event) => JSON.parse(event.data));
}

function contentOf(chunks: any[], index = 0): string {
	return chunks
		.flatMap((chunk) => chunk.choices ?? [])
		.filter((choice: any) => choice.index === index)
		.map((choice: any) => choice.delta?.content ?? '')
		.join('');
}

interface RawResponse {
	status: number;
	headers: http.IncomingHttpHeaders;
	chunks: Buffer[];
	body: Buffer;
}

function rawRequest(
	server: FakeNebula,
	route: string,
	options: { key?: string; body?: unknown; agent?: http.Agent; method?: string } = {},
): Promise<RawResponse> {
	const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
	return new Promise((resolve, reject) => {
		const req = http.request(
			`${server.url}${route}`,
			{
				method: options.method ?? (payload ? 'POST' : 'GET'),
				agent: options.agent,
				headers: {
					...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
					...(payload ? { 'content-type': 'application/json' } : {}),
				},
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks, body: Buffer.concat(chunks) }));
				res.on('error', reject);
			},
		);
		req.on('error', reject);
		req.end(payload);
	});
}

// ---------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------

describe('auth', () => {
	it('answers an unknown key with an OpenAI 401 that does not contain the key', async () => {
		const badKey = 'nb-not-a-real-key-4711';
		const res = await post('/chat/completions', badKey, chatBody('hi'));
		const text = await res.text();
		expect(res.status).toBe(401);
		expect(JSON.parse(text)).toEqual({
			error: { message: 'Invalid API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
		});
		expect(text).not.toContain(badKey);
	});

	it('answers a missing Authorization header with 401', async () => {
		const res = await post('/chat/completions', undefined, chatBody('hi'));
		expect(res.status).toBe(401);
		expect((await readJson(res)).error.code).toBe('invalid_api_key');
	});

	it('uses the Nebula envelope for /text/generate', async () => {
		const badKey = 'nb-wrong-9000';
		const res = await post('/text/generate', badKey, { model: MODEL, prompt: 'hi' });
		const text = await res.text();
		expect(res.status).toBe(401);
		expect(JSON.parse(text)).toEqual({ status: 'error', error: { code: 'invalid_request', message: 'Invalid API key' } });
		expect(text).not.toContain(badKey);
	});

	it('accepts the default key and minted keys, which are unique', async () => {
		const a = fake.newKey('alpha');
		const b = fake.newKey('alpha');
		expect(a).not.toBe(b);
		expect((await get('/models', a)).status).toBe(200);
		expect((await get('/models', fake.defaultKey)).status).toBe(200);
		expect(fake.defaultKey).toBe('test-key');
	});
});

// ---------------------------------------------------------------------------
// Model lists
// ---------------------------------------------------------------------------

describe('model lists', () => {
	it('lists only text models on /models, with context_length', async () => {
		const res = await get('/models', fake.newKey());
		const body = await readJson(res);
		expect(res.status).toBe(200);
		expect(body.object).toBe('list');
		const ids = body.data.map((model: any) => model.id);
		expect(ids).toEqual([
			'deepseek-ai/DeepSeek-V3-0324',
			'deepseek-ai/DeepSeek-R1-0528',
			'meta-llama/Llama-3.3-70B-Instruct',
			'meta-llama/Llama-3.1-8B-Instruct',
			'Qwen/QwQ-32B',
			'Qwen/Qwen2.5-Coder-32B-Instruct',
			'Qwen/Qwen2.5-VL-7B-Instruct',
		]);
		expect(body.data[0]).toEqual({
			id: 'deepseek-ai/DeepSeek-V3-0324',
			object: 'model',
			created: expect.any(Number),
			owned_by: 'nebula-block',
			context_length: 131072,
		});
	});

	it('lists every model on /serverless/models with its type', async () => {
		const body = await readJson(await get('/serverless/models', fake.newKey()));
		expect(body.status).toBe('success');
		const models = body.data.models;
		expect(models).toHaveLength(10);
		expect(models.find((m: any) => m.model_name === 'Qwen/QwQ-32B')).toEqual({
			model_name: 'Qwen/QwQ-32B',
			model_alias: 'QwQ-32B',
			model_type: 'Text',
			context_length: 32768,
			max_completion_tokens: expect.any(Number),
		});
		expect(models.find((m: any) => m.model_type === 'Image').model_name).toBe('black-forest-labs/FLUX.1-schnell');
		expect(models.find((m: any) => m.model_type === 'Embedding').model_name).toBe('BAAI/bge-large-en-v1.5');
	});

	it('switches routes on and off with setModelsMode', async () => {
		const own = await startFakeNebula({ models: [{ id: 'fake/only', contextLength: 1000 }] });
		const key = own.defaultKey;
		const statuses = async () => [(await get('/models', key, own)).status, (await get('/serverless/models', key, own)).status];
		try {
			expect(await statuses()).toEqual([200, 200]);
			own.setModelsMode('openai');
			expect(await statuses()).toEqual([200, 404]);
			own.setModelsMode('serverless');
			expect(await statuses()).toEqual([404, 200]);
			own.setModelsMode('down');
			expect(await statuses()).toEqual([503, 503]);
			own.setModelsMode('both');
			const body = await readJson(await get('/models', key, own));
			expect(body.data).toEqual([expect.objectContaining({ id: 'fake/only', context_length: 1000 })]);
		} finally {
			await own.close();
		}
	});
});

// ---------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------

describe('POST /chat/completions', () => {
	it('answers with a chat.completion object shaped like seed 001', async () => {
		const res = await post('/chat/completions', fake.newKey(), {
			model: MODEL,
			messages: [
				{ role: 'system', content: 'be brief' },
				{ role: 'user', content: 'hello big world' },
			],
		});
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toContain('application/json');
		expect(await readJson(res)).toEqual({
			id: expect.stringMatching(/^chatcmpl-\d+$/),
			object: 'chat.completion',
			created: expect.any(Number),
			model: MODEL,
			system_fingerprint: expect.any(String),
			service_tier: null,
			prompt_logprobs: null,
			choices: [
				{
					index: 0,
					message: { role: 'assistant', content: 'Echo: hello big world', tool_calls: null },
					finish_reason: 'stop',
					logprobs: null,
				},
			],
			usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9, completion_tokens_details: null, prompt_tokens_details: null },
		});
	});

	it('joins the text parts of array content', async () => {
		const body = {
			model: MODEL,
			messages: [{ role: 'user', content: [{ type: 'text', text: 'first' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'second' }] }],
		};
		const json = await readJson(await post('/chat/completions', fake.newKey(), body));
		// With an image among the parts, the fake answers like a vision model: what it received, then the question.
		expect(json.choices[0].message.content).toBe('I received one image: an image at x. You asked: first second');
		const textOnly = { model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'second' }] }] };
		const plain = await readJson(await post('/chat/completions', fake.newKey(), textOnly));
		expect(plain.choices[0].message.content).toBe('Echo: first second');
	});

	it('cuts the answer at max_tokens with finish_reason length', async () => {
		const json = await readJson(await post('/chat/completions', fake.newKey(), chatBody('one two three four', { max_tokens: 3 })));
		expect(json.choices[0].message.content).toBe('Echo: one two');
		expect(json.choices[0].finish_reason).toBe('length');
		expect(json.usage.completion_tokens).toBe(3);
	});

	it('rejects bad bodies with 400 and unknown models with 404, but accepts fake/ models', async () => {
		const key = fake.newKey();
		const noMessages = await post('/chat/completions', key, { model: MODEL, messages: [] });
		expect(noMessages.status).toBe(400);
		expect((await readJson(noMessages)).error).toEqual(expect.objectContaining({ type: 'BadRequestError', param: 'messages' }));

		const noModel = await post('/chat/completions', key, { messages: [{ role: 'user', content: 'x' }] });
		expect(noModel.status).toBe(400);

		const unknown = await post('/chat/completions', key, chatBody('x', { model: 'nope/none' }));
		expect(unknown.status).toBe(404);
		expect(await readJson(unknown)).toEqual({
			error: { message: 'The model `nope/none` does not exist.', type: 'NotFoundError', param: null, code: 404 },
		});

		const fakeModel = await post('/chat/completions', key, chatBody('x', { model: 'fake/anything' }));
		expect(fakeModel.status).toBe(200);
		expect((await readJson(fakeModel)).model).toBe('fake/anything');
	});

	it('streams chunks whose deltas concatenate to the content, then usage and [DONE]', async () => {
		const res = await post('/chat/completions', fake.newKey(), chatBody('  spaced   out\nwords ', { stream: true, stream_options: { include_usage: true } }));
		expect(res.headers.get('content-type')).toBe('text/event-stream');
		const text = await res.text();
		const events = sseEvents(text);
		expect(events[events.length - 1].data).toBe('[DONE]');
		expect(text.endsWith('data: [DONE]\n\n')).toBe(true);

		const chunks = jsonEvents(text);
		expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
		expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
		expect(contentOf(chunks)).toBe('Echo:   spaced   out\nwords ');

		const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
		expect(finish.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
		const usageChunk = chunks[chunks.length - 1];
		expect(usageChunk.choices).toEqual([]);
		expect(usageChunk.usage).toEqual(expect.objectContaining({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }));
	});

	it('sends no usage chunk without include_usage', async () => {
		const chunks = jsonEvents(await (await post('/chat/completions', fake.newKey(), chatBody('hi', { stream: true }))).text());
		expect(chunks.some((chunk) => chunk.usage)).toBe(false);
		expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('stop');
	});

	it('answers n=2 with two choices, interleaved when streamed', async () => {
		const key = fake.newKey();
		const json = await readJson(await post('/chat/completions', key, chatBody('a b', { n: 2 })));
		expect(json.choices.map((choice: any) => choice.message.content)).toEqual(['Echo: a b', 'Echo[1]: a b']);

		const chunks = jsonEvents(await (await post('/chat/completions', key, chatBody('a b', { n: 2, stream: true }))).text());
		expect(contentOf(chunks, 0)).toBe('Echo: a b');
		expect(contentOf(chunks, 1)).toBe('Echo[1]: a b');
		expect(chunks.slice(0, 4).map((chunk) => chunk.choices[0].index)).toEqual([0, 1, 0, 1]);
	});
});

// ---------------------------------------------------------------------------
// Scripted replies
// ---------------------------------------------------------------------------

describe('reply step', () => {
	const toolCalls = [
		{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
		{ id: 'call_2', name: 'get_time', arguments: '{}' },
	];

	it('returns tool calls in a non-streamed answer', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'reply', toolCalls });
		const json = await readJson(await post('/chat/completions', key, chatBody('weather?')));
		expect(json.choices[0].finish_reason).toBe('tool_calls');
		expect(json.choices[0].message).toEqual({
			role: 'assistant',
			content: null,
			tool_calls: [
				{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } },
				{ id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
			],
		});
	});

	it('streams tool calls as a header delta and arguments in several pieces', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'reply', toolCalls });
		const chunks = jsonEvents(await (await post('/chat/completions', key, chatBody('weather?', { stream: true }))).text());
		const toolDeltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
		const first = toolDeltas.filter((delta: any) => delta.index === 0);
		expect(first[0]).toEqual({ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } });
		expect(first.length).toBeGreaterThanOrEqual(3);
		expect(first.map((delta: any) => delta.function.arguments).join('')).toBe(toolCalls[0].arguments);
		expect(toolDeltas.filter((delta: any) => delta.index === 1).map((delta: any) => delta.function.arguments).join('')).toBe('{}');
		expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('tool_calls');
	});

	it('streams reasoning before content, in either field', async () => {
		const key = fake.newKey();
		fake.script(
			key,
			{ kind: 'reply', content: 'The answer is 4.', reasoningContent: 'two plus two' },
			{ kind: 'reply', content: 'ok', reasoningContent: 'hmm', reasoningField: 'reasoning' },
		);
		const chunks = jsonEvents(await (await post('/chat/completions', key, chatBody('2+2?', { stream: true }))).text());
		const deltas = chunks.map((chunk) => chunk.choices[0]?.delta ?? {});
		const reasoning = deltas.map((delta) => delta.reasoning_content ?? '').join('');
		expect(reasoning).toBe('two plus two');
		const lastReasoning = deltas.map((delta) => 'reasoning_content' in delta).lastIndexOf(true);
		const firstContent = deltas.findIndex((delta) => delta.content);
		expect(lastReasoning).toBeLessThan(firstContent);
		expect(contentOf(chunks)).toBe('The answer is 4.');

		const json = await readJson(await post('/chat/completions', key, chatBody('again')));
		expect(json.choices[0].message).toEqual({ role: 'assistant', content: 'ok', tool_calls: null, reasoning: 'hmm' });
	});

	it('uses scripted finishReason and usage', async () => {
		const key = fake.newKey();
		const usage = { prompt_tokens: 11, completion_tokens: 22, total_tokens: 33 };
		fake.script(key, { kind: 'reply', content: 'cut', finishReason: 'length', usage });
		const json = await readJson(await post('/chat/completions', key, chatBody('x')));
		expect(json.choices[0].finish_reason).toBe('length');
		expect(json.usage).toEqual(expect.objectContaining(usage));
	});
});

// ---------------------------------------------------------------------------
// /inference/chat_text and /text/generate
// ---------------------------------------------------------------------------

describe('POST /inference/chat_text', () => {
	it('answers like chat completions and accepts prompt_truncate_len', async () => {
		const res = await post('/inference/chat_text', fake.newKey(), chatBody('hello there', { prompt_truncate_len: 1500 }));
		const json = await readJson(res);
		expect(res.status).toBe(200);
		expect(json.object).toBe('chat.completion');
		expect(json.choices[0].message.content).toBe('Echo: hello there');
	});

	it('defaults max_tokens to 200', async () => {
		const longPrompt = Array.from({ length: 250 }, (_, i) => `w${i}`).join(' ');
		const json = await readJson(await post('/inference/chat_text', fake.newKey(), chatBody(longPrompt)));
		expect(json.choices[0].finish_reason).toBe('length');
		expect(json.usage.completion_tokens).toBe(200);
	});

	it('streams with usage in the last chunk before [DONE]', async () => {
		const text = await (await post('/inference/chat_text', fake.newKey(), chatBody('hi you', { stream: true }))).text();
		const chunks = jsonEvents(text);
		expect(contentOf(chunks)).toBe('Echo: hi you');
		expect(chunks[chunks.length - 1].usage.total_tokens).toBe(5);
		expect(sseEvents(text).pop()?.data).toBe('[DONE]');
	});
});

describe('POST /text/generate', () => {
	it('answers with the success envelope', async () => {
		const res = await post('/text/generate', fake.newKey(), { model: MODEL, prompt: 'write hello world' });
		expect(res.status).toBe(200);
		expect(await readJson(res)).toEqual({
			status: 'success',
			data: {
				text: 'Echo: write hello world',
				usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
				model: MODEL,
				finish_reason: 'stop',
			},
		});
	});

	it('streams text events in the seed format with no [DONE]', async () => {
		const res = await post('/text/generate', fake.newKey(), { model: MODEL, prompt: 'a b c', stream: true, max_tokens: 3 });
		const text = await res.text();
		expect(text.startsWith('data: {"text": "Echo: ", "finish_reason": null}\n\n')).toBe(true);
		expect(text).not.toContain('[DONE]');
		const events = jsonEvents(text);
		expect(events.map((event) => event.text).join('')).toBe('Echo: a b');
		expect(events.map((event) => event.finish_reason)).toEqual([null, null, 'length']);
	});

	it('uses the error envelope for a missing prompt and an unknown model', async () => {
		const key = fake.newKey();
		const empty = await post('/text/generate', key, { model: MODEL, prompt: '' });
		expect(empty.status).toBe(400);
		const emptyBody = await readJson(empty);
		expect(emptyBody.status).toBe('error');
		expect(emptyBody.error.code).toBe('invalid_request');
		expect(emptyBody.error.details).toHaveProperty('prompt');

		const unknown = await post('/text/generate', key, { model: 'gpt-4', prompt: 'hi' });
		expect(unknown.status).toBe(404);
		expect(await readJson(unknown)).toEqual({
			status: 'error',
			error: { code: 'model_not_found', message: expect.any(String), details: { model: "Model 'gpt-4' not found" } },
		});
	});

	it('gives scripted statuses the envelope too', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'status', status: 429 }, { kind: 'status', status: 402 });
		expect((await readJson(await post('/text/generate', key, { model: MODEL, prompt: 'x' }))).error.code).toBe('rate_limit_exceeded');
		expect((await readJson(await post('/text/generate', key, { model: MODEL, prompt: 'x' }))).error.code).toBe('insufficient_quota');
	});
});

// ---------------------------------------------------------------------------
// Fault steps
// ---------------------------------------------------------------------------

describe('fault steps', () => {
	it('status: 429 with Retry-After and the default body, then answers normally', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
		const limited = await post('/chat/completions', key, chatBody('x'));
		expect(limited.status).toBe(429);
		expect(limited.headers.get('retry-after')).toBe('1');
		expect((await readJson(limited)).error).toEqual(expect.objectContaining({ code: 'rate_limit_exceeded' }));
		expect((await post('/chat/completions', key, chatBody('x'))).status).toBe(200);
	});

	it('status: sends string bodies as they are, e.g. an HTML 502 page', async () => {
		const key = fake.newKey();
		const html = '<html><body><h1>502 Bad Gateway</h1></body></html>';
		fake.script(key, { kind: 'status', status: 502, body: html }, { kind: 'status', status: 500, body: { detail: 'boom' } });
		const res = await post('/chat/completions', key, chatBody('x'));
		expect(res.status).toBe(502);
		expect(res.headers.get('content-type')).toContain('text/html');
		expect(await res.text()).toBe(html);
		const second = await post('/chat/completions', key, chatBody('x'));
		expect(second.status).toBe(500);
		expect(await readJson(second)).toEqual({ detail: 'boom' });
	});

	it('delayHeaders: waits before the headers', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'delayHeaders', ms: 150 });
		const started = Date.now();
		const res = await post('/chat/completions', key, chatBody('x'));
		expect(Date.now() - started).toBeGreaterThanOrEqual(140);
		expect(res.status).toBe(200);
	});

	it('drip: spaces the chunks out', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'drip', intervalMs: 40 });
		const started = Date.now();
		const text = await (await post('/chat/completions', key, chatBody('a b c', { stream: true }))).text();
		const elapsed = Date.now() - started;
		const eventCount = sseEvents(text).length;
		expect(eventCount).toBe(7);
		expect(elapsed).toBeGreaterThanOrEqual((eventCount - 1) * 40 * 0.8);
	});

	it('errorMidStream: sends an error event after N chunks and ends', async () => {
		const key = fake.newKey();
		fake.script(
			key,
			{ kind: 'errorMidStream', afterChunks: 2 },
			{ kind: 'errorMidStream', afterChunks: 1, eventName: 'error', error: 'overloaded' },
		);
		const events = sseEvents(await (await post('/chat/completions', key, chatBody('a b c', { stream: true }))).text());
		expect(events).toHaveLength(3);
		expect(JSON.parse(events[2].data)).toEqual({ error: { message: expect.any(String), type: 'server_error', code: 500 } });

		const named = await (await post('/chat/completions', key, chatBody('a b c', { stream: true }))).text();
		expect(named).toContain('event: error\ndata: {"error":{"message":"overloaded"');
		expect(sseEvents(named)).toHaveLength(2);
	});

	it('cutStream: ends cleanly without finish_reason or [DONE]', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'cutStream', afterChunks: 3 }, { kind: 'cutStream', afterChunks: 99 });
		const text = await (await post('/chat/completions', key, chatBody('a b c d', { stream: true }))).text();
		expect(sseEvents(text)).toHaveLength(3);
		expect(text).not.toContain('[DONE]');
		expect(text).not.toContain('"finish_reason":"stop"');

		const clamped = await (await post('/chat/completions', key, chatBody('a b', { stream: true }))).text();
		expect(contentOf(jsonEvents(clamped))).toBe('Echo: a b');
		expect(clamped).not.toContain('finish_reason":"stop');
		expect(clamped).not.toContain('[DONE]');
	});

	it('destroy: resets the connection before the headers', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'destroy' });
		await expect(post('/chat/completions', key, chatBody('x'))).rejects.toThrow();
		expect((await post('/chat/completions', key, chatBody('x'))).status).toBe(200);
	});

	it('destroy: kills the socket after N chunks', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'destroy', afterChunks: 2 });
		const res = await post('/chat/completions', key, chatBody('a b c', { stream: true }));
		expect(res.status).toBe(200);
		const reader = res.body!.getReader();
		let received = '';
		const readAll = async () => {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) return;
				received += Buffer.from(value).toString('utf8');
			}
		};
		await expect(readAll()).rejects.toThrow();
		expect(sseEvents(received).length).toBeLessThanOrEqual(2);
	});

	it('crlf: frames every line with \\r\\n', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'crlf' });
		const text = await (await post('/chat/completions', key, chatBody('a b', { stream: true }))).text();
		expect(text).toContain('\r\n\r\n');
		expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
		expect(contentOf(jsonEvents(text))).toBe('Echo: a b');
	});

	it('cr: frames every line with a lone \\r', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'cr' });
		const text = await (await post('/chat/completions', key, chatBody('a b', { stream: true }))).text();
		expect(text).not.toContain('\n');
		expect(text).toContain('\r\r');
		expect(contentOf(jsonEvents(text))).toBe('Echo: a b');
		expect(sseEvents(text).pop()?.data).toBe('[DONE]');
	});

	it('keepAlive: a leading ping and keep-alive comments between chunks', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'keepAlive' });
		const text = await (await post('/chat/completions', key, chatBody('a b', { stream: true }))).text();
		expect(text.startsWith(': ping\n\n')).toBe(true);
		const events = sseEvents(text);
		expect(text.split(': keep-alive\n\n')).toHaveLength(events.length);
		expect(contentOf(jsonEvents(text))).toBe('Echo: a b');
	});

	it('jsonForStream: answers a streaming request with plain JSON', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'jsonForStream' }, { kind: 'jsonForStream' });
		const res = await post('/chat/completions', key, chatBody('a b', { stream: true }));
		expect(res.headers.get('content-type')).toContain('application/json');
		expect((await readJson(res)).choices[0].message.content).toBe('Echo: a b');
		const generated = await readJson(await post('/text/generate', key, { model: MODEL, prompt: 'p', stream: true }));
		expect(generated.data.text).toBe('Echo: p');
	});

	it('splitWrites: sends small pieces that split UTF-8 characters', async () => {
		const key = fake.newKey();
		const content = 'héllo wörld ✓';
		fake.script(key, [{ kind: 'reply', content }, { kind: 'splitWrites', bytes: 3 }]);
		const res = await rawRequest(fake, '/chat/completions', { key, body: chatBody('x', { stream: true }) });
		expect(res.chunks.length).toBeGreaterThan(20);
		expect(Math.max(...res.chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(3);
		const decoder = new TextDecoder('utf-8', { fatal: true });
		const splitsACharacter = res.chunks.some((chunk) => {
			try {
				decoder.decode(chunk);
				return false;
			} catch {
				return true;
			}
		});
		expect(splitsACharacter).toBe(true);
		expect(contentOf(jsonEvents(res.body.toString('utf8')))).toBe(content);
	});

	it('bom: starts the stream with a UTF-8 BOM', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'bom' });
		const res = await rawRequest(fake, '/chat/completions', { key, body: chatBody('a', { stream: true }) });
		expect([...res.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		expect(res.body.subarray(3, 9).toString()).toBe('data: ');
	});

	it('combines steps given as an array for one request', async () => {
		const key = fake.newKey();
		fake.script(key, [{ kind: 'crlf' }, { kind: 'splitWrites', bytes: 5 }, { kind: 'reply', content: 'combo ok' }], { kind: 'status', status: 500 });
		const res = await rawRequest(fake, '/chat/completions', { key, body: chatBody('x', { stream: true }) });
		const text = res.body.toString('utf8');
		expect(Math.max(...res.chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(5);
		expect(text).toContain('\r\n');
		expect(contentOf(jsonEvents(text))).toBe('combo ok');
		const second = await post('/chat/completions', key, chatBody('x'));
		expect(second.status).toBe(500);
		expect((await readJson(second)).error).toEqual(expect.objectContaining({ type: 'server_error', code: 500 }));
		expect((await post('/chat/completions', key, chatBody('x'))).status).toBe(200);
	});
});

// ---------------------------------------------------------------------------
// Keys, recording, counters, lifecycle
// ---------------------------------------------------------------------------

describe('per-key scripts and recording', () => {
	it('keeps scripts per key and records requests in order', async () => {
		const a = fake.newKey('a');
		const b = fake.newKey('b');
		fake.script(a, { kind: 'status', status: 503 });
		expect((await post('/chat/completions', b, chatBody('from b'))).status).toBe(200);
		expect((await post('/chat/completions', a, chatBody('from a'))).status).toBe(503);
		expect((await get('/models', a)).status).toBe(200);

		const recordedA = fake.requests(a);
		expect(recordedA.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/chat/completions', 'GET /v1/models']);
		expect(recordedA[0].body).toEqual(chatBody('from a'));
		expect(recordedA[0].key).toBe(a);
		expect(recordedA[0].headers.authorization).toBe(`Bearer ${a}`);
		expect(recordedA[1].body).toBeUndefined();
		expect(recordedA[0].at).toBeLessThanOrEqual(recordedA[1].at);
		expect(fake.requests(b)).toHaveLength(1);
		const all = fake.requests();
		expect(all.indexOf(fake.requests(b)[0])).toBeLessThan(all.indexOf(recordedA[0]));
	});

	it('records rejected requests too, and raw bodies that are not JSON', async () => {
		const res = await fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer nb-unknown-1' }, body: 'not json' });
		expect(res.status).toBe(401);
		const [recorded] = fake.requests('nb-unknown-1');
		expect(recorded.body).toBe('not json');
	});
});

describe('counters', () => {
	it('counts TCP connections', async () => {
		const own = await startFakeNebula();
		const fresh = new http.Agent({ keepAlive: false });
		const reused = new http.Agent({ keepAlive: true, maxSockets: 1 });
		try {
			await rawRequest(own, '/models', { key: own.defaultKey, agent: fresh });
			await rawRequest(own, '/models', { key: own.defaultKey, agent: fresh });
			expect(own.connectionCount()).toBe(2);
			for (let i = 0; i < 3; i++) await rawRequest(own, '/models', { key: own.defaultKey, agent: reused });
			expect(own.connectionCount()).toBe(3);
		} finally {
			fresh.destroy();
			reused.destroy();
			await own.close();
		}
	});

	it('tracks the highest number of concurrent requests per key', async () => {
		const own = await startFakeNebula({ latencyMs: 300 });
		const agent = new http.Agent({ keepAlive: false });
		const busy = own.newKey('busy');
		const calm = own.newKey('calm');
		try {
			await Promise.all([1, 2, 3].map(() => rawRequest(own, '/models', { key: busy, agent })));
			await rawRequest(own, '/models', { key: calm, agent });
			await rawRequest(own, '/models', { key: calm, agent });
			expect(own.maxInFlight(busy)).toBe(3);
			expect(own.maxInFlight(calm)).toBe(1);
			expect(own.maxInFlight()).toBe(3);
			expect(own.maxInFlight('never-used')).toBe(0);
		} finally {
			agent.destroy();
			await own.close();
		}
	});
});

describe('lifecycle', () => {
	it('survives a client abort in the middle of a drip and keeps serving', async () => {
		const own = await startFakeNebula({ tokenIntervalMs: 30 });
		try {
			const res = await post('/chat/completions', own.defaultKey, chatBody('a b c d e f g h', { stream: true }));
			const reader = res.body!.getReader();
			await reader.read();
			await reader.cancel();
			await new Promise((resolve) => setTimeout(resolve, 100));
			const next = await post('/chat/completions', own.defaultKey, chatBody('still here'));
			expect((await readJson(next)).choices[0].message.content).toBe('Echo: still here');
		} finally {
			await own.close();
		}
	});

	it('closes with a stream still open and runs several servers side by side', async () => {
		const one = await startFakeNebula({ tokenIntervalMs: 50 });
		const two = await startFakeNebula();
		try {
			expect(one.port).not.toBe(two.port);
			const key = one.newKey();
			expect((await get('/models', key, two)).status).toBe(401);
			const res = await post('/chat/completions', key, chatBody('a b c d e f g h i j', { stream: true }), one);
			const reading = res.text();
			await one.close();
			await expect(reading).rejects.toThrow();
			expect((await get('/models', two.defaultKey, two)).status).toBe(200);
		} finally {
			await Promise.all([one.close(), two.close()]);
		}
	});

	it('runs from the command line and stops on SIGTERM', async () => {
		const tsxCli = path.join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
		const child = spawn(process.execPath, [tsxCli, path.join(__dirname, 'fake-nebula.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
		try {
			const [firstOutput] = (await once(child.stdout, 'data')) as [Buffer];
			const line = JSON.parse(firstOutput.toString('utf8').split('\n')[0]);
			expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
			expect(line.key).toBe('test-key');
			const res = await fetch(`${line.url}/models`, { headers: { authorization: `Bearer ${line.key}` } });
			expect(res.status).toBe(200);
			const exited = once(child, 'exit');
			child.kill('SIGTERM');
			const [code] = await exited;
			expect(code).toBe(0);
		} finally {
			if (child.exitCode === null) child.kill('SIGKILL');
		}
	});
});
