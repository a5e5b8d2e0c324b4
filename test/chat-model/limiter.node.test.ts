/**
 * The Chat Model's fetch goes through the retry engine and the limiter of its credential and
 * origin, the ones the Chat Completion node uses, against the fake server over a socket. Calls are
 * made as n8n's OpenAI client makes them with its own retries off: one call of the `fetch` in the
 * model's configuration (modelCalls.ts). Proofs come from what the server saw and from the
 * limiter's state at gates, never from wall-clock upper bounds.
 * Run `npm run build` first: the model and the node load from dist/, so they share one registry.
 */
import type { Dispatcher } from 'undici';

import { modelDispatcher } from '../../dist/nodes/shared/model/chatOpenAi';
import { ModelRequestFailed } from '../../dist/nodes/shared/transport/errors';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { createGate, type Step } from '../support/fake-nebula';
import { startTunnelProxy } from '../support/tunnel-proxy';
import { chatCall, limiterOf as limiterOn, modelCalls, MODEL, rejectionOf, runChatNode, until } from './modelCalls';

const fake = useFakeNebula();
const models = modelCalls(fake);
const dispatchers: Dispatcher[] = [];
afterAll(async () => {
	await models.closeAll();
	await Promise.all(dispatchers.map(async (dispatcher) => await dispatcher.close()));
});

const limiterOf = (apiKey: string) => limiterOn(fake, apiKey);

/**
 * For contrast, what the Chat Model did before its fetch went through the engine: Node's fetch on
 * its own pool, no limiter, and the OpenAI client's retry of a 429 after its Retry-After (Max Retries 2).
 */
async function unlimitedCallWithClientRetries(dispatcher: Dispatcher, apiKey: string, content: string): Promise<{ status: number }> {
	for (let retry = 0; ; retry++) {
		const response = await fetch(`${fake.url}/chat/completions`, {
			method: 'POST',
			headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
			body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], stream: false }),
			dispatcher,
			// Node's fetch takes the undici package's dispatcher; its types come from Node's own copy of undici.
		} as unknown as RequestInit);
		await response.arrayBuffer();
		if (response.status !== 429 || retry === 2) return { status: response.status };
		const waitMs = Number(response.headers.get('retry-after-ms') ?? Number(response.headers.get('retry-after') ?? 0) * 1000);
		await new Promise((resolve) => setTimeout(resolve, waitMs));
	}
}

describe('Chat Model: the limiter of its credential and origin', () => {
	it("a 429 with Retry-After met by the Chat Model pauses the Chat Completion node's next request on the same key", async () => {
		const key = fake.newKey('model-then-node');
		const retryAfterMs = 500;
		const limited: Step = { kind: 'status', status: 429, headers: { 'retry-after-ms': String(retryAfterMs), 'retry-after': '1' } };
		fake.script(key, limited);
		// Max Retries 0: the model's call ends with its 429, and the pause it set stays behind.
		const modelFetch = models.model(key, { maxRetries: 0 });

		const refused = await rejectionOf(chatCall(modelFetch, fake, key, 'From the agent'));
		expect(refused).toBeInstanceOf(ModelRequestFailed);
		expect(refused.failure.status).toBe(429);
		// The node runs at once: without the shared limiter its request would go straight out.
		const result = await runChatNode(fake, key, 'From the node');
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
		const modelFetch = models.model(key);
		const nodeRun = runChatNode(fake, key, 'From the node');
		// The node has read its 429: the shared limiter is paused.
		await until(() => limiterOf(key).state().pausedForMs > 0);
		const answered = await chatCall(modelFetch, fake, key, 'From the agent');
		expect(answered.status).toBe(200);
		await answered.arrayBuffer();
		const result = await nodeRun;
		expect(result.error).toBeUndefined();
		expect(result.items[0].json.rateLimitStats).toMatchObject({ responses429: 1 });

		const requests = fake.requests(key);
		const limited = requests[0];
		const modelRequests = requests.filter((request) => request.body.messages[0].content === 'From the agent');
		expect(limited.body.messages[0].content).toBe('From the node');
		// The model's one call met no 429: it waited in the limiter, then went once.
		expect(modelRequests).toHaveLength(1);
		expect(modelRequests[0].at - limited.at).toBeGreaterThanOrEqual(retryAfterMs - 1);
	});

	it('many Chat Model calls at once under a token bucket all succeed, with few 429s; without the limiter they fail', async () => {
		// R = 10/s with a burst of 3, per key: 30 calls at once, Max Retries not set.
		const bucket = { requestsPerSecond: 10, burst: 3 };
		const calls = Array.from({ length: 30 }, (_, index) => `Call ${index}`);
		const key = fake.newKey('model-bucket');
		fake.setRateLimit(bucket, key);
		const modelFetch = models.model(key);
		const answers = await Promise.all(
			calls.map(async (content) => {
				const response = await chatCall(modelFetch, fake, key, content);
				return { status: response.status, body: (await response.json()) as any };
			}),
		);

		expect(answers.map((answer) => answer.status)).toEqual(calls.map(() => 200));
		expect(answers.map((answer) => answer.body.choices[0].message.content)).toEqual(calls.map((content) => `Echo: ${content}`));
		const server = fake.rateLimitStats(key);
		expect(server.accepted).toBe(30);
		// The first window (8) is more than the burst, so some 429s; then the shared pause and the
		// learned pace hold the calls back.
		expect(server.rejected.rate).toBeGreaterThan(0);
		expect(server.rejected.rate).toBeLessThanOrEqual(20);
		expect(limiterOf(key).state().rateLimited).toBe(server.rejected.rate);

		// The same calls without the limiter, the client retrying on its own: each meets the empty bucket alone.
		const plainKey = fake.newKey('model-bucket-plain');
		fake.setRateLimit(bucket, plainKey);
		const plain = modelDispatcher({ timeoutMs: 60_000, allowUnauthorizedCerts: false });
		dispatchers.push(plain);
		const plainAnswers = await Promise.all(calls.map(async (content) => await unlimitedCallWithClientRetries(plain, plainKey, content)));
		expect(plainAnswers.filter((answer) => answer.status === 429).length).toBeGreaterThan(0);
		expect(fake.rateLimitStats(plainKey).rejected.rate).toBeGreaterThan(2 * server.rejected.rate);
	});

	it('a streamed answer keeps its place until it ends; a cancelled one, and one cancelled while it waits, give theirs back', async () => {
		const key = fake.newKey('model-stream');
		const gate = createGate();
		const held = createGate();
		fake.script(key, { kind: 'gate', afterChunks: 1, gate }, { kind: 'gate', afterChunks: 1, gate: held });
		const modelFetch = models.model(key);
		const limiter = limiterOf(key);

		const streamed = await chatCall(modelFetch, fake, key, 'Stream to the end', { stream: true });
		expect(streamed.status).toBe(200);
		await gate.reached;
		// The head came long ago; the answer is still streaming, so it still holds its place.
		expect(limiter.state().inFlight).toBe(1);
		gate.release();
		expect(await streamed.text()).toContain('[DONE]');
		await until(() => limiter.state().inFlight === 0);

		const cancel = new AbortController();
		const cancelled = await chatCall(modelFetch, fake, key, 'Stream, then stop', { stream: true, signal: cancel.signal });
		await held.reached;
		expect(limiter.state().inFlight).toBe(1);
		cancel.abort();
		await expect(cancelled.text()).rejects.toThrow();
		await until(() => limiter.state().inFlight === 0);
		held.release();

		// A call cancelled while the limiter holds it back (a long pause) leaves the queue at once and is never sent.
		// The pause: a 429 asking for 60 s (the longest wait allowed), met by a model with Max Retries 0.
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after': '60' } });
		expect(await rejectionOf(chatCall(models.model(key, { maxRetries: 0 }), fake, key, 'Refused'))).toBeInstanceOf(ModelRequestFailed);
		const sentBefore = fake.requests(key).length;
		const waitCancel = new AbortController();
		const waiting = chatCall(modelFetch, fake, key, 'Waits, then gives up', { signal: waitCancel.signal });
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
			const modelFetch = models.model(key);
			fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after-ms': '50' } });
			// One call: the engine meets the 429, waits out the pause under the limiter, and goes again.
			const answered = await chatCall(modelFetch, fake, key, 'Through the proxy');
			expect(answered.status).toBe(200);
			await answered.arrayBuffer();
			expect(proxy.seen[0]).toBe(new URL(fake.url).host);
			expect(limiterOf(key).state().rateLimited).toBe(1);
			const [first, second, ...more] = fake.requests(key);
			expect(more).toHaveLength(0);
			expect(second.at - first.at).toBeGreaterThanOrEqual(49);
		} finally {
			process.env = saved;
			await models.closeAll();
			await proxy.close();
		}
	});
});
