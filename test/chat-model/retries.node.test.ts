/**
 * The Chat Model's retries are the package's retry engine's (modelFetch.ts, retry.ts,
 * retryPolicy.ts), not the OpenAI client's: Max Retries as typed is a promise, unset it retries a
 * rate limit under the limiter, and a wait longer than 60 s fails at once, for the model and for
 * every node on its key. Calls go through the model's own fetch, once, as the client calls it
 * with its retries off (modelCalls.ts). Proofs come from what the server saw and from the errors'
 * texts, never from wall-clock upper bounds. Run `npm run build` first (dist/, one registry).
 */
import { NodeApiError } from 'n8n-workflow';

import { modelError } from '../../dist/nodes/shared/model/modelError';
import { ModelRequestFailed } from '../../dist/nodes/shared/transport/errors';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { packageNode } from '../support/node-fixture';
import { chatCall, limiterOf, modelCalls, rejectionOf, runChatNode } from './modelCalls';

const fake = useFakeNebula();
const models = modelCalls(fake);
afterAll(async () => await models.closeAll());

const modelNode = packageNode('lmChatNebulaBlock', 'Nebula Block Chat Model');

/** "HH:MM:SS UTC" of every whole second from `fromMs` to `toMs` (epoch ms): the times an error may name. */
function wallTimesBetween(fromMs: number, toMs: number): string[] {
	const times: string[] = [];
	for (let at = Math.floor(fromMs / 1000) * 1000; at <= toMs; at += 1000) times.push(`${new Date(at).toISOString().slice(11, 19)} UTC`);
	return times;
}

/** Shaped like the OpenAI client's APIConnectionError: what it throws when its fetch rejects. */
class APIConnectionError extends Error {
	readonly status = undefined;
	constructor({ cause }: { cause: unknown }) {
		super('Connection error.', { cause });
	}
}

describe('Chat Model: retries in the package engine', () => {
	it('Max Retries 0 makes exactly one request on a 429 with Retry-After 1, and fails with the service\'s error', async () => {
		const key = fake.newKey('model-no-retries');
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
		const refused = await rejectionOf(chatCall(models.model(key, { maxRetries: 0 }), fake, key, 'Only once'));

		expect(refused).toBeInstanceOf(ModelRequestFailed);
		expect(refused.failure).toMatchObject({ kind: 'http', status: 429, message: 'Rate limit reached, please try again later.' });
		// The engine gave up: nothing of this call is left to go out later.
		expect(fake.requests(key)).toHaveLength(1);
		expect(refused.failure.hint).toMatch(/Sent this request 1 time\b/);
	});

	it('with Max Retries not set, a 429 with Retry-After 1 is retried after the wait, and the call succeeds', async () => {
		const key = fake.newKey('model-default-retries');
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
		const answered = await chatCall(models.model(key), fake, key, 'Again after a second');

		expect(answered.status).toBe(200);
		expect(((await answered.json()) as any).choices[0].message.content).toBe('Echo: Again after a second');
		const [refused, retried, ...more] = fake.requests(key);
		expect(more).toHaveLength(0);
		expect(retried.body).toEqual(refused.body);
		// Date.now() on the server: 1 ms of rounding.
		expect(retried.at - refused.at).toBeGreaterThanOrEqual(999);
	});

	it('a 429 asking for an hour fails the call at once, naming the wait; a node request on the key during that pause is refused at once too', async () => {
		const key = fake.newKey('model-hour');
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
		const before = Date.now();
		const refused = await rejectionOf(chatCall(models.model(key), fake, key, 'Wait an hour?'));
		const after = Date.now();

		expect(refused).toBeInstanceOf(ModelRequestFailed);
		// Not retried, though Max Retries is not set: a wait past 60 s is not waited.
		expect(fake.requests(key)).toHaveLength(1);
		const named = /^Rate limit reached, please try again later\. \(the service asked to wait 60 minutes, until (\d\d:\d\d:\d\d UTC)\)$/.exec(
			refused.failure.message,
		);
		expect(named).not.toBeNull();
		expect(wallTimesBetween(before + 3_600_000, after + 3_600_000 + 1000)).toContain(named?.[1]);
		expect(refused.failure.status).toBe(429);
		expect(refused.failure.hint).toContain('A request waits at most 60 s for a rate limit');
		// While that pause is on, the limiter of the key refuses everyone at once.
		expect(limiterOf(fake, key).state().refusing).toBe(true);

		// The node on the same key, under Concurrency Mode Auto (its default): refused, never sent.
		const result = await runChatNode(fake, key, 'From the node, meanwhile');
		expect(result.error).toBeInstanceOf(NodeApiError);
		expect(result.error?.message).toMatch(/^Rate limit reached, please try again later\. \(the service asked to wait 60 minutes, until \d\d:\d\d:\d\d UTC\)$/);
		expect((result.error as NodeApiError).description).toContain('every request on this API key and host fails at once');
		expect(fake.requests(key)).toHaveLength(1);

		// A second call of the model during the pause: refused the same way, never sent.
		const again = await rejectionOf(chatCall(models.model(key), fake, key, 'And the model again'));
		expect(again).toBeInstanceOf(ModelRequestFailed);
		expect(again.failure.message).toContain('(the service asked to wait 60 minutes, until ');
		expect(fake.requests(key)).toHaveLength(1);

		// What the OpenAI client makes of the rejection (an APIConnectionError with it as the
		// cause) reaches n8n as the package's error: the service's words, the wait, the hint.
		const nodeError = modelError(modelNode, new APIConnectionError({ cause: refused }), key, 0) as NodeApiError;
		expect(nodeError).toBeInstanceOf(NodeApiError);
		expect(nodeError.message).toBe(refused.failure.message);
		expect(nodeError.httpCode).toBe('429');
		expect(nodeError.description).toContain('A request waits at most 60 s for a rate limit');
		expect(JSON.stringify(nodeError)).not.toContain(key);
	});
});
