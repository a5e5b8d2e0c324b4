/**
 * The Chat Model's dispatcher goes through the limiter of its credential and origin, the one the
 * Chat Completion node uses, against the fake server over a socket. Requests are sent as n8n's
 * OpenAI client sends them: Node's fetch with the dispatcher from `fetchOptions`, and (where a test
 * needs it) the client's retry of a 429 after its Retry-After. Proofs come from what the server
 * saw and from the limiter's state at gates, never from wall-clock upper bounds.
 * Run `npm run build` first: the model and the node load from dist/, so they share one registry.
 */
import type { ISupplyDataFunctions } from 'n8n-workflow';
import type { Dispatcher } from 'undici';

import { buildChatModel, modelDispatcher } from '../../dist/nodes/shared/model/chatOpenAi';
import { chatModelSetup } from '../../dist/nodes/shared/model/config';
import { limiterFor } from '../../dist/nodes/shared/transport/limiters';
import type { ModelParts } from '../../nodes/shared/model/aiSdk';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { createGate, type Step } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';
import { startTunnelProxy } from '../support/tunnel-proxy';

const MODEL = 'fake/limit-model';
const fake = useFakeNebula();

/** n8n's ChatOpenAI and tracing stand-ins: only the dispatcher the model is built with is used here. */
const parts = {
	ChatOpenAI: class {
		constructor(readonly fields: unknown) {}
	},
	N8nLlmTracing: class {},
	makeN8nLlmFailedAttemptHandler: () => () => undefined,
	files: [],
} as unknown as ModelParts;

const dispatchers: Dispatcher[] = [];
afterAll(async () => {
	await Promise.all(dispatchers.map(async (dispatcher) => await dispatcher.close()));
});

function chatModelDispatcher(apiKey: string): Dispatcher {
	const setup = chatModelSetup({ apiKey, baseUrl: fake.url, allowUnauthorizedCerts: false }, MODEL, {});
	const { dispatcher } = buildChatModel({} as ISupplyDataFunctions, parts, setup, () => undefined);
	dispatchers.push(dispatcher);
	return dispatcher;
}

/** One chat call as the OpenAI client makes it. */
async function chatCall(dispatcher: Dispatcher, apiKey: string, content: string, init: { stream?: boolean; signal?: AbortSignal } = {}) {
	return await fetch(`${fake.url}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], stream: init.stream === true }),
		signal: init.signal,
		dispatcher,
		// Node's fetch takes the undici package's dispatcher; its types come from Node's own copy of undici.
	} as unknown as RequestInit);
}

/** The OpenAI client's handling of a 429: wait what retry-after-ms / Retry-After asks, then go again (Max Retries 2). */
async function chatCallWithClientRetries(dispatcher: Dispatcher, apiKey: string, content: string): Promise<{ status: number; body: any }> {
	for (let retry = 0; ; retry++) {
		const response = await chatCall(dispatcher, apiKey, content);
		const body: unknown = await response.json();
		if (response.status !== 429 || retry === 2) return { status: response.status, body };
		const waitMs = Number(response.headers.get('retry-after-ms') ?? Number(response.headers.get('retry-after') ?? 0) * 1000);
		await new Promise((resolve) => setTimeout(resolve, waitMs));
	}
}

async function runChatNode(apiKey: string, question: string) {
	return await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: question }] },
			options: { includeRateLimitStats: true, stream: false },
		},
		credentials: { nebulaBlockApi: { apiKey, baseUrl: fake.url } },
		inputItems: [{}],
	});
}

async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const limiterOf = (apiKey: string) => limiterFor(new URL(fake.url).origin, apiKey);

describe('Chat Model: the limiter of its credential and origin', () => {
	it("a 429 with Retry-After met by the Chat Model pauses the Chat Completion node's next request on the same key", async () => {
		const key = fake.newKey('model-then-node');
		const retryAfterMs = 500;
		const limited: Step = { kind: 'status', status: 429, headers: { 'retry-after-ms': String(retryAfterMs), 'retry-after': '1' } };
		fake.script(key, limited);
		const dispatcher = chatModelDispatcher(key);

		const refused = await chatCall(dispatcher, key, 'From the agent');
		expect(refused.status).toBe(429);
		await refused.arrayBuffer();
		// The node runs at once: without the shared limiter its request would go straight out.
		const result = await runChatNode(key, 'From the node');
		expect(result.error).toBeUndefined();
		expect(result.items.map((item) => item.json.content)).toEqual(['Echo: From the node']);
		// The node's item met no 429 itself: it waited for the pause the Chat Model's 429 set.
		expect(result.items[0].json.rateLimitStats).toMatchObject({ responses429: 0 });

		const [modelRequest, nodeRequest, ...more] = fake.requests(key);
		expect(more).toHaveLength(0);
		expect(modelRequest.body.messages[0].content).toBe('From the agent');
		expect(nodeRequest.body.messages[0].content).toBe('From the node');
		// Date.now() on the server: 1 ms of rounding either side.
		expect(nodeRequest.at - modelRequest.at).toBeGreaterThanOrEqual(retryAfterMs - 1);
	});

	it("and the reverse: a 429 met by the node pauses the Chat Model's next call", async () => {
		const key = fake.newKey('node-then-model');
		const retryAfterMs = 500;
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after-ms': String(retryAfterMs) } });
		const dispatcher = chatModelDispatcher(key);
		const nodeRun = runChatNode(key, 'From the node');
		// The node has read its 429: the shared limiter is paused.
		await until(() => limiterOf(key).state().pausedForMs > 0);
		const answered = await chatCall(dispatcher, key, 'From the agent');
		expect(answered.status).toBe(200);
		await answered.arrayBuffer();
		const result = await nodeRun;
		expect(result.error).toBeUndefined();
		expect(result.items[0].json.rateLimitStats).toMatchObject({ responses429: 1 });

		const limited = fake.requests(key)[0];
		const modelRequest = fake.requests(key).find((request) => request.body.messages[0].content === 'From the agent');
		expect(limited.body.messages[0].content).toBe('From the node');
		expect(modelRequest).toBeDefined();
		expect((modelRequest?.at ?? 0) - limited.at).toBeGreaterThanOrEqual(retryAfterMs - 1);
	});

	it('many Chat Model calls at once under a token bucket all succeed, with few 429s; without the limiter they fail', async () => {
		// R = 10/s with a burst of 3, per key: 30 calls at once, each with the client's 2 retries.
		const bucket = { requestsPerSecond: 10, burst: 3 };
		const calls = Array.from({ length: 30 }, (_, index) => `Call ${index}`);
		const key = fake.newKey('model-bucket');
		fake.setRateLimit(bucket, key);
		const dispatcher = chatModelDispatcher(key);
		const answers = await Promise.all(calls.map(async (content) => await chatCallWithClientRetries(dispatcher, key, content)));

		expect(answers.map((answer) => answer.status)).toEqual(calls.map(() => 200));
		expect(answers.map((answer) => answer.body.choices[0].message.content)).toEqual(calls.map((content) => `Echo: ${content}`));
		const server = fake.rateLimitStats(key);
		expect(server.accepted).toBe(30);
		// The first window (8) is more than the burst, so some 429s; then the shared pause and the
		// learned pace hold the calls back (13 to 15 in our runs).
		expect(server.rejected.rate).toBeGreaterThan(0);
		expect(server.rejected.rate).toBeLessThanOrEqual(20);
		expect(limiterOf(key).state().rateLimited).toBe(server.rejected.rate);

		// The same calls on the model's pool without the limiter (as before): each meets the empty bucket on its own.
		const plainKey = fake.newKey('model-bucket-plain');
		fake.setRateLimit(bucket, plainKey);
		const plain = modelDispatcher({ timeoutMs: 60_000, maxRetries: 2, allowUnauthorizedCerts: false });
		dispatchers.push(plain);
		const plainAnswers = await Promise.all(calls.map(async (content) => await chatCallWithClientRetries(plain, plainKey, content)));
		expect(plainAnswers.filter((answer) => answer.status === 429).length).toBeGreaterThan(0);
		expect(fake.rateLimitStats(plainKey).rejected.rate).toBeGreaterThan(2 * server.rejected.rate);
	});

	it('a streamed answer keeps its place until it ends; a cancelled one, and one cancelled while it waits, give theirs back', async () => {
		const key = fake.newKey('model-stream');
		const gate = createGate();
		const held = createGate();
		fake.script(key, { kind: 'gate', afterChunks: 1, gate }, { kind: 'gate', afterChunks: 1, gate: held });
		const dispatcher = chatModelDispatcher(key);
		const limiter = limiterOf(key);

		const streamed = await chatCall(dispatcher, key, 'Stream to the end', { stream: true });
		expect(streamed.status).toBe(200);
		await gate.reached;
		// The head came long ago; the answer is still streaming, so it still holds its place.
		expect(limiter.state().inFlight).toBe(1);
		gate.release();
		expect(await streamed.text()).toContain('[DONE]');
		await until(() => limiter.state().inFlight === 0);

		const cancel = new AbortController();
		const cancelled = await chatCall(dispatcher, key, 'Stream, then stop', { stream: true, signal: cancel.signal });
		await held.reached;
		expect(limiter.state().inFlight).toBe(1);
		cancel.abort();
		await expect(cancelled.text()).rejects.toThrow();
		await until(() => limiter.state().inFlight === 0);
		held.release();

		// A request cancelled while the limiter holds it back (a long pause) leaves the queue at once and is never sent.
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after': '60' } });
		await (await chatCall(dispatcher, key, 'Refused')).arrayBuffer();
		const sentBefore = fake.requests(key).length;
		const waitCancel = new AbortController();
		const waiting = chatCall(dispatcher, key, 'Waits, then gives up', { signal: waitCancel.signal });
		await until(() => limiter.state().waiting === 1);
		waitCancel.abort();
		await expect(waiting).rejects.toThrow();
		expect(limiter.state()).toMatchObject({ waiting: 0, inFlight: 0 });
		expect(fake.requests(key)).toHaveLength(sentBefore);
	});

	it('through HTTP_PROXY too: the request tunnels through the proxy and the limiter of the origin behind it still sees its 429', async () => {
		const key = fake.newKey('model-proxy');
		const proxy = await startTunnelProxy();
		const saved = { ...process.env };
		try {
			process.env.HTTP_PROXY = proxy.url;
			delete process.env.NO_PROXY;
			delete process.env.no_proxy;
			// The proxy variables are read when the model's pool is built.
			const dispatcher = chatModelDispatcher(key);
			fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after-ms': '50' } });
			const refused = await chatCall(dispatcher, key, 'Through the proxy, refused');
			expect(refused.status).toBe(429);
			await refused.arrayBuffer();
			const answered = await chatCall(dispatcher, key, 'Through the proxy');
			expect(answered.status).toBe(200);
			await answered.arrayBuffer();
			expect(proxy.seen[0]).toBe(new URL(fake.url).host);
			expect(limiterOf(key).state().rateLimited).toBe(1);
			const [first, second] = fake.requests(key);
			expect(second.at - first.at).toBeGreaterThanOrEqual(49);
		} finally {
			process.env = saved;
			await Promise.all(dispatchers.splice(0).map(async (dispatcher) => await dispatcher.close()));
			await proxy.close();
		}
	});
});
