import { getEventListeners } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { requestJson, requestStream, type Connection, type RequestPolicy } from '../../nodes/shared/transport/client';
import { closeDispatchers } from '../../nodes/shared/transport/dispatcher';
import { NebulaBlockError } from '../../nodes/shared/transport/errors';
import { startFakeNebula, type FakeNebula, type Step } from '../support/fake-nebula';
import { startTunnelProxy } from '../support/tunnel-proxy';

let fake: FakeNebula;

beforeAll(async () => {
	fake = await startFakeNebula();
});

afterAll(async () => {
	await closeDispatchers();
	await fake.close();
});

/** A fresh key per test keeps the fake server's scripts and records apart. */
function connect(...steps: Array<Step | Step[]>): { connection: Connection; key: string } {
	const key = fake.newKey();
	if (steps.length > 0) fake.script(key, ...steps);
	return { connection: { baseUrl: fake.url, apiKey: key }, key };
}

const fastRetries: RequestPolicy = { retryBaseDelayMs: 5, maxRetries: 2 };
const chatBody = (content = 'hello there') => ({
	model: 'fake/model',
	messages: [{ role: 'user', content }],
});

/** Resolves once `condition` holds, checking every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function failure(promise: Promise<unknown>): Promise<NebulaBlockError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(NebulaBlockError);
		return error as NebulaBlockError;
	}
	throw new Error('expected the request to fail');
}

async function collectStream(connection: Connection, policy: RequestPolicy = {}, body: unknown = { ...chatBody(), stream: true }) {
	const payloads: Array<Record<string, unknown>> = [];
	const result = await requestStream(connection, { method: 'POST', path: '/chat/completions', body }, policy, (payload) =>
		payloads.push(payload),
	);
	const text = payloads
		.map((payload) => (payload.choices as Array<{ delta?: { content?: string } }>)?.[0]?.delta?.content ?? '')
		.join('');
	return { result, payloads, text };
}

describe('requestJson', () => {
	it('sends the body as JSON with the bearer token and returns the parsed reply', async () => {
		const { connection, key } = connect();
		const response = await requestJson<{ choices: Array<{ message: { content: string } }> }>(connection, {
			method: 'POST',
			path: '/chat/completions',
			body: chatBody(),
		});
		expect(response.status).toBe(200);
		expect(response.body.choices[0].message.content).toBe('Echo: hello there');
		const [recorded] = fake.requests(key);
		expect(recorded.headers.authorization).toBe(`Bearer ${key}`);
		expect(recorded.headers['content-type']).toBe('application/json');
		expect(recorded.body).toEqual(chatBody());
	});

	it('joins the base URL and path whatever their slashes', async () => {
		const { connection, key } = connect();
		await requestJson({ ...connection, baseUrl: `${fake.url}/` }, { method: 'GET', path: 'models' });
		expect(fake.requests(key).map((request) => request.path)).toEqual(['/v1/models']);
	});

	it('sends each request to its own base URL when several share a path, also on repeat', async () => {
		const other = await startFakeNebula();
		try {
			const { connection, key } = connect();
			const elsewhere = { baseUrl: `${other.url}/`, apiKey: other.defaultKey };
			for (let i = 0; i < 3; i++) {
				await requestJson(connection, { method: 'GET', path: '/models' });
				await requestJson(elsewhere, { method: 'GET', path: 'models' });
				// A per-request base URL (Text Generate has its own) wins over the connection's.
				await requestJson({ ...elsewhere, baseUrl: fake.url }, { method: 'GET', path: '/models', baseUrl: other.url });
			}
			expect(fake.requests(key).map((request) => request.path)).toEqual(['/v1/models', '/v1/models', '/v1/models']);
			expect(other.requests()).toHaveLength(6);
		} finally {
			await other.close();
		}
	});

	it('refuses a base URL that is not http or https, without retrying', async () => {
		const { connection } = connect();
		const error = await failure(requestJson({ ...connection, baseUrl: 'ftp://127.0.0.1:1/v1' }, { method: 'GET', path: '/models' }));
		expect(error.kind).toBe('network');
		expect(error.code).toBe('ERR_INVALID_URL_SCHEME');
		expect(error.message).toContain('Invalid URL protocol');
	});

	it('retries a 429, honouring retry-after-ms, then succeeds', async () => {
		const { connection, key } = connect({ kind: 'status', status: 429, headers: { 'retry-after-ms': '120' } });
		const started = Date.now();
		const response = await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries);
		expect(response.status).toBe(200);
		expect(fake.requests(key)).toHaveLength(2);
		const [first, second] = fake.requests(key);
		expect(second.at - first.at).toBeGreaterThanOrEqual(100);
		expect(Date.now() - started).toBeGreaterThanOrEqual(100);
	});

	it('fails at once, with the wait it asked for and until when, when Retry-After is longer than 60 s', async () => {
		const body = { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } };
		const { connection, key } = connect({ kind: 'status', status: 429, body, headers: { 'retry-after': '90' } });
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries),
		);
		const until = new Date(Date.now() + 90_000);
		// A retry after the 60 s cap would come 30 s too early and almost surely fail again.
		expect(fake.requests(key)).toHaveLength(1);
		expect(error.status).toBe(429);
		expect(error.code).toBe('rate_limit_exceeded');
		expect(error.retryAfterMs).toBe(90_000);
		expect(error.message).toMatch(/^Rate limit reached for requests \(the service asked to wait 90 s, until (\d\d:\d\d:\d\d) UTC\)$/);
		// The time named is 90 s from now, to the second (give or take the test's own run).
		const [hours, minutes, seconds] = (/until (\d\d):(\d\d):(\d\d)/.exec(error.message) ?? []).slice(1).map(Number);
		const namedSeconds = hours * 3600 + minutes * 60 + seconds;
		const expectedSeconds = until.getUTCHours() * 3600 + until.getUTCMinutes() * 60 + until.getUTCSeconds();
		expect(Math.abs(namedSeconds - expectedSeconds) % 86_399).toBeLessThanOrEqual(2);
		expect(error.hint).toMatch(/^A request waits at most 60 s for a rate limit, so it was not sent: run the item again after that time\./);
		expect(error.hint).not.toMatch(/Concurrency Mode Auto/);
	});

	it('honours a Retry-After given as an HTTP date', async () => {
		const { connection, key } = connect({ kind: 'status', status: 429, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } });
		await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries);
		const [first, second] = fake.requests(key);
		// The date has whole seconds: the wait is between 1 and 2 s.
		expect(second.at - first.at).toBeGreaterThanOrEqual(1000);
	});

	it.each<[string, Record<string, string>]>([
		['an empty Retry-After', { 'retry-after': '' }],
		['an empty retry-after-ms', { 'retry-after-ms': '' }],
		['a Retry-After that is no number or HTTP date', { 'retry-after': 'soon' }],
		['a Retry-After that Date.parse would misread as a past date', { 'retry-after': 'abc 1' }],
		['a negative Retry-After', { 'retry-after': '-5' }],
	])('falls back to the normal backoff for %s', async (_name, headers) => {
		const tooMany: Step = { kind: 'status', status: 429, headers };
		const { connection, key } = connect(tooMany, tooMany);
		await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { retryBaseDelayMs: 200, maxRetries: 2 });
		const at = fake.requests(key).map((request) => request.at);
		expect(at).toHaveLength(3);
		// Backoff with jitter waits 0.5 to 1 times 200 ms, then 400 ms; read as "0" it waited nothing.
		expect(at[1] - at[0]).toBeGreaterThanOrEqual(100);
		expect(at[2] - at[1]).toBeGreaterThanOrEqual(200);
	});

	it.each([408, 409, 500, 502, 503])('retries HTTP %i', async (status) => {
		const { connection, key } = connect({ kind: 'status', status });
		await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries);
		expect(fake.requests(key)).toHaveLength(2);
	});

	it('gives up after maxRetries and reports the last failure with its hint', async () => {
		const rateLimited: Step = { kind: 'status', status: 429, headers: { 'retry-after-ms': '1' } };
		const { connection, key } = connect(rateLimited, rateLimited, rateLimited, rateLimited);
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { ...fastRetries, maxRetries: 2 }),
		);
		expect(fake.requests(key)).toHaveLength(3);
		expect(error.status).toBe(429);
		expect(error.kind).toBe('http');
		expect(error.hint).toMatch(/Max Retries/);
	});

	it.each<[number, string]>([
		[400, 'The service rejected the request: check the parameters named in the message.'],
		// The fake sends the codes the real service does with these two: the code's hint wins.
		[401, 'Check the API key in the Nebula Block API credential.'],
		[402, 'Your Nebula Block account is out of credits or quota: top up or upgrade the plan.'],
		[403, 'The API key is not allowed to use this model or endpoint: check your plan and the model ID.'],
		[404, 'The endpoint or model was not found: check the Base URL in the credential and the model ID.'],
	])('never retries HTTP %i, and gives its own hint', async (status, hint) => {
		const { connection, key } = connect({ kind: 'status', status });
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries),
		);
		expect(error.status).toBe(status);
		expect(error.hint).toBe(hint);
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('retries a connection reset before any response', async () => {
		const { connection, key } = connect({ kind: 'destroy' });
		const response = await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries);
		expect(response.status).toBe(200);
		expect(fake.requests(key)).toHaveLength(2);
	});

	it('does not resend a non-streamed request whose answer was cut off after it began', async () => {
		// Headers and half the JSON, then the socket is destroyed: the answer was generated already.
		const { connection, key } = connect({ kind: 'destroy', afterChunks: 1 });
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, fastRetries),
		);
		expect(error.kind).toBe('truncated');
		expect(error.message).toBe('The connection ended before the answer was complete (other side closed)');
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('reports an unreachable server as a network failure with a hint', async () => {
		const closed = http.createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const port = (closed.address() as AddressInfo).port;
		await new Promise<void>((resolve) => closed.close(() => resolve()));
		const error = await failure(
			requestJson({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'k-unreachable' }, { method: 'GET', path: '/models' }, { ...fastRetries, maxRetries: 1 }),
		);
		expect(error.kind).toBe('network');
		expect(error.code).toBe('ECONNREFUSED');
		expect(error.message).toBe(`Could not reach the service: connect ECONNREFUSED 127.0.0.1:${port}`);
		expect(error.hint).toMatch(/Base URL/);
	});

	it('times out when the answer does not start within timeoutMs', async () => {
		const { connection } = connect({ kind: 'delayHeaders', ms: 2000 });
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { timeoutMs: 200, maxRetries: 0 }),
		);
		expect(error.kind).toBe('timeout');
		expect(error.hint).toMatch(/Timeout/);
	});

	it('aborts the request in flight when the execution is cancelled', async () => {
		// The answer would take a minute: only the abort can end the request within the test's time.
		const { connection, key } = connect({ kind: 'delayHeaders', ms: 60_000 });
		const controller = new AbortController();
		const pending = failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { signal: controller.signal }),
		);
		await until(() => fake.requests(key).length === 1);
		controller.abort();
		expect((await pending).kind).toBe('aborted');
	});

	it('cancels a retry backoff when the execution is cancelled', async () => {
		const { connection, key } = connect({ kind: 'status', status: 429, headers: { 'retry-after': '20' } });
		const controller = new AbortController();
		const pending = failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { signal: controller.signal }),
		);
		// The 429 is answered at once; a little later the client is in its 20 s wait.
		await until(() => fake.requests(key).length === 1);
		await new Promise((resolve) => setTimeout(resolve, 100));
		controller.abort();
		expect((await pending).kind).toBe('aborted');
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('reuses one keep-alive connection for many sequential requests to one origin', async () => {
		const server = await startFakeNebula();
		try {
			const connection = { baseUrl: server.url, apiKey: server.defaultKey };
			for (let i = 0; i < 25; i++) {
				await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody(`n${i}`) });
			}
			expect(server.requests()).toHaveLength(25);
			expect(server.connectionCount()).toBe(1);
		} finally {
			await server.close();
		}
	});
});

describe('connection reuse for streams', () => {
	it('reuses one connection for sequential streamed requests, reading past [DONE] to the end', async () => {
		const server = await startFakeNebula();
		try {
			const connection = { baseUrl: server.url, apiKey: server.defaultKey };
			for (let i = 0; i < 20; i++) {
				const { text } = await collectStream(connection, {}, { ...chatBody(`s${i}`), stream: true });
				expect(text).toBe(`Echo: s${i}`);
			}
			expect(server.connectionCount()).toBe(1);
		} finally {
			await server.close();
		}
	});
});

describe('error bodies keep the service\'s own words', () => {
	const cases: Array<[string, Step, Partial<NebulaBlockError>]> = [
		[
			'OpenAI error with a string code',
			{ kind: 'status', status: 400, body: { error: { message: 'max_tokens is too large', type: 'invalid_request_error', param: 'max_tokens', code: 'invalid_value' } } },
			{ message: 'max_tokens is too large', code: 'invalid_value', type: 'invalid_request_error', status: 400 },
		],
		[
			'OpenAI error with a numeric code',
			{ kind: 'status', status: 404, body: { error: { message: 'The model `x` does not exist.', type: 'NotFoundError', param: null, code: 404 } } },
			{ message: 'The model `x` does not exist.', code: '404', status: 404 },
		],
		[
			'flat vLLM error',
			{ kind: 'status', status: 400, body: { object: 'error', message: 'This model\'s maximum context length is 8192 tokens', type: 'BadRequestError', code: 400 } },
			{ message: 'This model\'s maximum context length is 8192 tokens', type: 'BadRequestError', status: 400 },
		],
		[
			'Nebula envelope',
			{ kind: 'status', status: 400, body: { status: 'error', error: { code: 'context_length_exceeded', message: 'Input prompt is too long', details: { limit: 8192 } } } },
			{ message: 'Input prompt is too long', code: 'context_length_exceeded', details: { limit: 8192 } },
		],
		[
			'plain text',
			{ kind: 'status', status: 503, body: 'upstream overloaded', contentType: 'text/plain' },
			{ message: 'upstream overloaded', status: 503 },
		],
	];

	it.each(cases)('%s', async (_name, step, expected) => {
		const { connection } = connect(step);
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { maxRetries: 0 }),
		);
		expect(error).toMatchObject(expected);
		expect(error.hint).toBeTruthy();
	});

	it('shortens an HTML error page to its text', async () => {
		const html = `<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>${'<p>filler</p>'.repeat(200)}</body></html>`;
		const { connection } = connect({ kind: 'status', status: 502, body: html, contentType: 'text/html' });
		const error = await failure(
			requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { maxRetries: 0 }),
		);
		expect(error.message).toMatch(/^502 Bad Gateway 502 Bad Gateway/);
		expect(error.message).not.toContain('<');
		expect(error.message.length).toBeLessThanOrEqual(301);
	});

	it('gives each Nebula error code its own hint', async () => {
		const codes = ['invalid_request', 'model_not_found', 'context_length_exceeded', 'rate_limit_exceeded', 'insufficient_quota'];
		const hints = new Set<string>();
		for (const code of codes) {
			const { connection } = connect({ kind: 'status', status: 400, body: { status: 'error', error: { code, message: code } } });
			const error = await failure(
				requestJson(connection, { method: 'POST', path: '/text/generate', body: { model: 'fake/m', prompt: 'x' } }, { maxRetries: 0 }),
			);
			expect(error.code).toBe(code);
			hints.add(error.hint ?? '');
		}
		expect(hints.size).toBe(codes.length);
	});

	it('treats an error body sent with status 200 as an error', async () => {
		const { connection } = connect({ kind: 'status', status: 200, body: { status: 'error', error: { code: 'insufficient_quota', message: 'No credits left' } } });
		const error = await failure(requestJson(connection, { method: 'POST', path: '/text/generate', body: { model: 'fake/m', prompt: 'x' } }));
		expect(error.message).toBe('No credits left');
		expect(error.code).toBe('insufficient_quota');
	});

	it('never repeats the API key, even when the service echoes it', async () => {
		const key = fake.newKey();
		fake.script(key, { kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${key}`, code: 'invalid_api_key' } } });
		const error = await failure(
			requestJson({ baseUrl: fake.url, apiKey: key }, { method: 'POST', path: '/chat/completions', body: chatBody() }),
		);
		expect(error.message).toBe('Incorrect API key provided: ***');
		expect(JSON.stringify({ ...error, message: error.message, hint: error.hint })).not.toContain(key);
	});
});

describe('requestStream', () => {
	it('delivers every payload of a streamed completion and notes [DONE]', async () => {
		const { connection, key } = connect();
		const { result, payloads, text } = await collectStream(connection, {}, { ...chatBody('one two three'), stream: true, stream_options: { include_usage: true } });
		expect(result).toMatchObject({ kind: 'events', sawDone: true });
		expect(text).toBe('Echo: one two three');
		expect(payloads.at(-1)?.usage).toBeTruthy();
		expect(fake.requests(key)[0].headers.accept).toBe('text/event-stream');
	});

	it.each<[string, Step[]]>([
		['CRLF framing', [{ kind: 'crlf' }]],
		['CR framing', [{ kind: 'cr' }]],
		['keep-alive comments', [{ kind: 'keepAlive' }]],
		['a leading BOM', [{ kind: 'bom' }]],
		['writes of 3 bytes with CRLF', [{ kind: 'crlf' }, { kind: 'splitWrites', bytes: 3 }]],
	])('reads the same answer through %s', async (_name, steps) => {
		const plain = await collectStream(connect().connection, {}, { ...chatBody('héllo wörld ✓'), stream: true });
		const odd = await collectStream(connect(steps).connection, {}, { ...chatBody('héllo wörld ✓'), stream: true });
		expect(odd.text).toBe('Echo: héllo wörld ✓');
		expect(odd.payloads).toHaveLength(plain.payloads.length);
		expect(odd.result).toMatchObject({ kind: 'events', sawDone: true });
	});

	it('parses a JSON reply to a streaming request instead of failing', async () => {
		const { connection } = connect({ kind: 'jsonForStream' });
		const { result, payloads } = await collectStream(connection);
		expect(payloads).toHaveLength(0);
		expect(result.kind).toBe('json');
		expect((result as { body: { object: string } }).body.object).toBe('chat.completion');
	});

	it('reports a stream cut short as not done', async () => {
		const { connection } = connect({ kind: 'cutStream', afterChunks: 2 });
		const { result, payloads } = await collectStream(connection);
		expect(result).toMatchObject({ kind: 'events', sawDone: false });
		expect(payloads).toHaveLength(2);
	});

	it('ignores whatever follows [DONE]', async () => {
		const body = 'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\ndata: not json at all\n\n';
		const { connection } = connect({ kind: 'status', status: 200, body, contentType: 'text/event-stream' });
		const { result, text } = await collectStream(connection);
		expect(text).toBe('ok');
		expect(result).toMatchObject({ kind: 'events', sawDone: true });
	});

	it.each<[string, Step]>([
		['an error payload', { kind: 'errorMidStream', afterChunks: 2, error: 'GPU worker crashed' }],
		['an error event', { kind: 'errorMidStream', afterChunks: 2, error: 'GPU worker crashed', eventName: 'error' }],
	])('throws the service\'s message for %s in the middle of a stream, without retrying', async (_name, step) => {
		const { connection, key } = connect(step);
		const seen: unknown[] = [];
		const error = await failure(
			requestStream(connection, { method: 'POST', path: '/chat/completions', body: { ...chatBody(), stream: true } }, fastRetries, (payload) => seen.push(payload)),
		);
		expect(error.kind).toBe('stream');
		expect(error.message).toBe('GPU worker crashed');
		expect(seen).toHaveLength(2);
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('reports a stream whose connection drops after it began as an answer cut short, not resent', async () => {
		const { connection, key } = connect({ kind: 'destroy', afterChunks: 2 });
		const error = await failure(collectStream(connection, fastRetries));
		expect(error.kind).toBe('truncated');
		expect(error.message).toBe('The connection ended before the answer was complete (other side closed)');
		expect(error.code).toBe('UND_ERR_SOCKET');
		expect(error.hint).toMatch(/^The service was reached, but the answer was cut off \(.*\): try again\./);
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('never cuts a stream while tokens still arrive, however long it takes in total', async () => {
		const { connection } = connect({ kind: 'drip', intervalMs: 60 });
		const started = Date.now();
		const { text, result } = await collectStream(connection, { timeoutMs: 150, idleTimeoutMs: 1000 }, { ...chatBody('a b c d e f g'), stream: true });
		expect(Date.now() - started).toBeGreaterThan(300);
		expect(text).toBe('Echo: a b c d e f g');
		expect(result).toMatchObject({ sawDone: true });
	});

	it('times out a stream that opens at once but sends no token within timeoutMs, without retrying', async () => {
		// Headers at once, the first token 3 s later: how vLLM and OpenAI behave while the prompt is processed.
		const { connection, key } = connect({ kind: 'firstTokenDelay', ms: 3000 });
		const payloads: unknown[] = [];
		const error = await failure(
			requestStream(connection, { method: 'POST', path: '/chat/completions', body: { ...chatBody(), stream: true } }, { ...fastRetries, timeoutMs: 300 }, (payload) => payloads.push(payload)),
		);
		expect(error.kind).toBe('timeout');
		expect(error.message).toBe('The service did not start the answer within the timeout (0.3 s): the stream opened, but no token came');
		expect(error.hint).toMatch(/raise the Timeout option/);
		expect(payloads).toEqual([]);
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('does not count keep-alive comments as the first token', async () => {
		const { connection } = connect([{ kind: 'keepAlive' }, { kind: 'firstTokenDelay', ms: 3000 }]);
		const error = await failure(collectStream(connection, { timeoutMs: 300, maxRetries: 0 }));
		expect(error.kind).toBe('timeout');
		expect(error.message).toMatch(/^The service did not start the answer within the timeout/);
	});

	it('lets a stream whose first token comes within timeoutMs run on past it', async () => {
		const { connection } = connect([{ kind: 'firstTokenDelay', ms: 100 }, { kind: 'drip', intervalMs: 100 }]);
		const started = Date.now();
		const { text, result } = await collectStream(connection, { timeoutMs: 400, idleTimeoutMs: 2000, maxRetries: 0 }, { ...chatBody('a b c d e f g'), stream: true });
		expect(Date.now() - started).toBeGreaterThan(400);
		expect(text).toBe('Echo: a b c d e f g');
		expect(result).toMatchObject({ sawDone: true });
	});

	it('fails a stream that goes silent for longer than the idle timeout', async () => {
		// undici checks body timeouts on a coarse (about one second) timer, so the silence must be longer.
		const { connection } = connect({ kind: 'drip', intervalMs: 3000 });
		const error = await failure(collectStream(connection, { idleTimeoutMs: 200, maxRetries: 0 }));
		expect(error.kind).toBe('timeout');
		expect(error.message).toMatch(/stopped sending data/);
	});

	it('stops a stream when the execution is cancelled', async () => {
		const { connection } = connect({ kind: 'drip', intervalMs: 100 });
		const controller = new AbortController();
		const payloads: unknown[] = [];
		const error = await failure(
			requestStream(connection, { method: 'POST', path: '/chat/completions', body: { ...chatBody('a b c d e f g h i j'), stream: true } }, { signal: controller.signal }, (payload) => {
				payloads.push(payload);
				// Cancel once the stream is delivering, whatever the machine's speed.
				if (payloads.length === 2) controller.abort();
			}),
		);
		expect(error.kind).toBe('aborted');
		expect(payloads.length).toBeGreaterThanOrEqual(2);
		expect(payloads.length).toBeLessThan(8);
	});
});

/** A bare HTTP server whose handler writes whatever the test needs, byte for byte. */
async function startRawServer(handle: http.RequestListener): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
	let hits = 0;
	const server = http.createServer((req, res) => {
		hits++;
		handle(req, res);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	return {
		url: `http://127.0.0.1:${port}/v1`,
		hits: () => hits,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

describe('reading a whole answer (requestJson)', () => {
	it('reads a large error page only in part and still reports the status', async () => {
		const page = `<html><body><h1>Upstream failure</h1>${'<p>filler</p>'.repeat(200_000)}</body></html>`;
		const server = await startRawServer((_req, res) => res.writeHead(500, { 'content-type': 'text/html' }).end(page));
		try {
			const connection = { baseUrl: server.url, apiKey: 'nb-raw' };
			const error = await failure(requestJson(connection, { method: 'GET', path: '/models' }, { maxRetries: 0 }));
			expect(error.kind).toBe('http');
			expect(error.status).toBe(500);
			expect(error.message).toMatch(/^Upstream failure/);
		} finally {
			await server.close();
		}
	});

	it('drops a byte order mark before the JSON, as a body reader does', async () => {
		const server = await startRawServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-bom' });
			res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"data":[{"id":"ü"}]}')]));
		});
		try {
			const response = await requestJson({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'GET', path: '/models' });
			expect(response).toEqual({ status: 200, body: { data: [{ id: 'ü' }] }, requestId: 'req-bom' });
		} finally {
			await server.close();
		}
	});

	it('joins a body that arrives in many pieces, multi-byte characters split between them', async () => {
		const json = Buffer.from(JSON.stringify({ text: 'héllo 東京 🚀 '.repeat(2000) }));
		const server = await startRawServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'application/json' });
			for (let offset = 0; offset < json.length; offset += 1001) res.write(json.subarray(offset, offset + 1001));
			res.end();
		});
		try {
			const response = await requestJson<{ text: string }>({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'GET', path: '/models' });
			expect(response.body.text).toBe('héllo 東京 🚀 '.repeat(2000));
		} finally {
			await server.close();
		}
	});

	it('aborts while the body is still arriving, and does not send at all when already cancelled', async () => {
		const server = await startRawServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.write('{"choices":[');
		});
		try {
			const connection = { baseUrl: server.url, apiKey: 'nb-raw' };
			const controller = new AbortController();
			const pending = failure(requestJson(connection, { method: 'GET', path: '/models' }, { signal: controller.signal }));
			// Abort only once the server has the request: on a loaded machine a fixed delay could abort before it was sent.
			await until(() => server.hits() === 1);
			controller.abort();
			expect((await pending).kind).toBe('aborted');
			expect(server.hits()).toBe(1);
			const error = await failure(requestJson(connection, { method: 'GET', path: '/models' }, { signal: controller.signal }));
			expect(error.kind).toBe('aborted');
			expect(server.hits()).toBe(1);
		} finally {
			await server.close();
		}
	});

	it('reports a reply that is not JSON with the start of its text', async () => {
		const server = await startRawServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words'));
		try {
			const error = await failure(requestJson({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'GET', path: '/models' }));
			expect(error.kind).toBe('invalidResponse');
			expect(error.message).toContain('plain words');
		} finally {
			await server.close();
		}
	});
});

describe('requestStream, read chunk by chunk', () => {
	const event = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

	it('stops the request and passes on an error thrown by the payload handler, without retrying', async () => {
		const server = await startRawServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'text/event-stream' });
			res.write(event('one'));
			const timer = setInterval(() => res.write(event('more')), 20);
			res.on('close', () => clearInterval(timer));
		});
		try {
			const connection = { baseUrl: server.url, apiKey: 'nb-raw' };
			let seen = 0;
			const outcome = requestStream(connection, { method: 'POST', path: '/chat/completions', body: {} }, { maxRetries: 2 }, () => {
				seen++;
				if (seen === 3) throw new Error('handler gave up');
			});
			await expect(outcome).rejects.toThrow('handler gave up');
			expect(seen).toBe(3);
			expect(server.hits()).toBe(1);
		} finally {
			await server.close();
		}
	});

	it('stops reading 64 KiB past [DONE] and still reports the stream as done', async () => {
		const server = await startRawServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'text/event-stream' });
			res.write(`${event('all')}data: [DONE]\n\n`);
			const timer = setInterval(() => res.write(`: ${'x'.repeat(16 * 1024)}\n`), 5);
			res.on('close', () => clearInterval(timer));
		});
		try {
			const texts: string[] = [];
			const result = await requestStream({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'POST', path: '/chat/completions', body: {} }, {}, (payload) => {
				texts.push((payload.choices as Array<{ delta: { content: string } }>)[0].delta.content);
			});
			expect(result).toEqual({ kind: 'events', sawDone: true, requestId: undefined });
			expect(texts).toEqual(['all']);
		} finally {
			await server.close();
		}
	});

	it('reads only the start of a large error page sent to a streaming request, and retries a 503', async () => {
		const page = `<html><body><h1>Overloaded</h1>${'<p>filler</p>'.repeat(200_000)}</body></html>`;
		const server = await startRawServer((_req, res) => res.writeHead(503, { 'content-type': 'text/html', 'x-request-id': 'req-503' }).end(page));
		try {
			const error = await failure(
				requestStream({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'POST', path: '/chat/completions', body: {} }, fastRetries, () => undefined),
			);
			expect(error.kind).toBe('http');
			expect(error.status).toBe(503);
			expect(error.requestId).toBe('req-503');
			expect(error.message).toMatch(/^Overloaded/);
			expect(server.hits()).toBe(3);
		} finally {
			await server.close();
		}
	});

	it('takes the request id from the headers and delivers payloads split across many small writes', async () => {
		const body = `${event('héllo ')}${event('東京 🚀')}data: [DONE]\n\n`;
		const bytes = Buffer.from(body);
		const server = await startRawServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req-stream' });
			let offset = 0;
			const timer = setInterval(() => {
				res.write(bytes.subarray(offset, offset + 7));
				offset += 7;
				if (offset >= bytes.length) {
					clearInterval(timer);
					res.end();
				}
			}, 1);
		});
		try {
			const texts: string[] = [];
			const result = await requestStream({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'POST', path: '/chat/completions', body: {} }, {}, (payload) => {
				texts.push((payload.choices as Array<{ delta: { content: string } }>)[0].delta.content);
			});
			expect(result).toEqual({ kind: 'events', sawDone: true, requestId: 'req-stream' });
			expect(texts.join('')).toBe('héllo 東京 🚀');
		} finally {
			await server.close();
		}
	});

	it('does not send a streaming request when the execution is already cancelled', async () => {
		const server = await startRawServer((_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: [DONE]\n\n'));
		try {
			const controller = new AbortController();
			controller.abort();
			const error = await failure(
				requestStream({ baseUrl: server.url, apiKey: 'nb-raw' }, { method: 'POST', path: '/chat/completions', body: {} }, { signal: controller.signal }, () => undefined),
			);
			expect(error.kind).toBe('aborted');
			expect(server.hits()).toBe(0);
		} finally {
			await server.close();
		}
	});
});

describe('proxy settings', () => {
	const saved = { ...process.env };
	afterEach(async () => {
		process.env = { ...saved };
		await closeDispatchers();
	});

	it('sends requests through HTTP_PROXY, and straight to hosts in NO_PROXY', async () => {
		const proxy = await startTunnelProxy();
		try {
			await closeDispatchers();
			process.env.HTTP_PROXY = proxy.url;
			delete process.env.NO_PROXY;
			delete process.env.no_proxy;
			const { connection } = connect();
			await requestJson(connection, { method: 'GET', path: '/models' });
			expect(proxy.seen).toEqual([`127.0.0.1:${fake.port}`]);

			await closeDispatchers();
			process.env.NO_PROXY = '127.0.0.1';
			await requestJson(connection, { method: 'GET', path: '/models' });
			expect(proxy.seen).toHaveLength(1);
		} finally {
			await proxy.close();
		}
	});
});

describe('listeners on the item\'s signal', () => {
	// The runner hands a finished item's signal to the next item (itemSignals.ts): nothing a request
	// added to it may stay behind, or a later cancel would reach a request long done.
	it('none are left after requests that waited in the limiter, backed off, streamed or failed', async () => {
		const signal = new AbortController().signal;
		const rateLimited: Step = { kind: 'status', status: 429, headers: { 'retry-after-ms': '20' } };
		const { connection } = connect(rateLimited, { kind: 'status', status: 503 });
		await requestJson(connection, { method: 'POST', path: '/chat/completions', body: chatBody() }, { ...fastRetries, signal, adaptive: true });
		await requestStream(connection, { method: 'POST', path: '/chat/completions', body: { ...chatBody(), stream: true } }, { signal, adaptive: true }, () => undefined);
		const { connection: failing } = connect({ kind: 'status', status: 400 });
		await expect(requestJson(failing, { method: 'POST', path: '/chat/completions', body: chatBody() }, { signal, adaptive: true })).rejects.toBeInstanceOf(NebulaBlockError);
		expect(getEventListeners(signal, 'abort')).toHaveLength(0);
	});
});
