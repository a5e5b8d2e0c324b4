/**
 * Concurrency Auto in n8n-core's engine against the fake server over a socket: the limiter is
 * shared by the items of an execution and by two executions at once (same credential), a
 * Retry-After pauses every item (not only the one that met it), 429s under Auto use no retries
 * (within their bound), and no item is lost. Proofs come from what the server saw (requests in
 * flight, arrival times, counts) and from gates, never from wall-clock upper bounds.
 * Run `npm run build` first: the nodes load from dist/.
 */
import { NodeApiError } from 'n8n-workflow';
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { limiterFor } from '../../dist/nodes/shared/transport/limiters';
import { INITIAL_WINDOW } from '../../nodes/shared/transport/limiter';
import { MAX_LIMITER_RETRIES } from '../../nodes/shared/transport/retry';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { createGate, type Step } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';

const TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
const MODEL = 'fake/limit-model';

const fake = useFakeNebula();

function questions(count: number, from = 0): IDataObject[] {
	return Array.from({ length: count }, (_, index) => ({ question: `Question ${from + index}` }));
}

async function run(key: string, inputItems: IDataObject[], options: INodeParameters = {}, continueOnFail = false) {
	return await runNode({
		type: TYPE,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: '={{ $json.question }}' }] },
			options,
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url } },
		inputItems,
		continueOnFail,
	});
}

/** Every input item answered with its own question, in input order, paired to itself. */
function expectAllAnswered(items: Array<{ json: IDataObject; pairedItem?: unknown }>, inputs: IDataObject[]) {
	expect(items.map((item) => item.json.content)).toEqual(inputs.map((input) => `Echo: ${String(input.question)}`));
	expect(items.map((item) => item.pairedItem)).toEqual(inputs.map((_, index) => ({ item: index })));
}

const outputOf = (result: Awaited<ReturnType<typeof run>>) => result.items;

async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const rateLimited = (retryAfterMs: number): Step => ({
	kind: 'status',
	status: 429,
	headers: { 'retry-after-ms': String(retryAfterMs), 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
	body: { error: { message: 'Rate limit reached for requests', type: 'rate_limit_error', code: 'rate_limit_exceeded' } },
});

describe('Concurrency Auto: one limiter per credential and origin', () => {
	it('is shared by the items of one execution and by two executions at once', async () => {
		const key = fake.newKey('shared');
		const gate = createGate();
		// Every answer starts and then holds at the gate: nothing finishes, so the window cannot grow.
		fake.script(key, ...Array.from({ length: 40 }, (): Step => ({ kind: 'gate', afterChunks: 1, gate })));
		const first = questions(20, 0);
		const second = questions(20, 100);
		const runs = Promise.all([run(key, first), run(key, second)]);
		const limiter = limiterFor(new URL(fake.url).origin, key);
		// Both executions' items are queued on the one limiter of this credential and origin...
		await until(() => limiter.state().inFlight + limiter.state().waiting === 40 && fake.inFlightNow(key) === INITIAL_WINDOW);
		// ...and the server has seen its window and no more: two limiters would have let 2 x 8 go.
		expect(fake.maxInFlight(key)).toBe(INITIAL_WINDOW);
		expect(fake.requests(key)).toHaveLength(INITIAL_WINDOW);
		expect(limiter.state()).toMatchObject({ inFlight: INITIAL_WINDOW, waiting: 40 - INITIAL_WINDOW });
		gate.release();
		const [one, two] = await runs;
		expect(one.error).toBeUndefined();
		expect(two.error).toBeUndefined();
		expectAllAnswered(outputOf(one), first);
		expectAllAnswered(outputOf(two), second);
		expect(fake.requests(key)).toHaveLength(40);
	});

	it('two executions at once under one token bucket: every item answered once, and each 429 the server sent is in some item\'s stats', async () => {
		const key = fake.newKey('bucket');
		// R = 20/s, burst 5, per key: both executions draw on the one bucket, as on one account.
		fake.setRateLimit({ requestsPerSecond: 20, burst: 5 }, key);
		const first = questions(30, 0);
		const second = questions(30, 100);
		const options = { includeRateLimitStats: true, stream: false };
		const [one, two] = await Promise.all([run(key, first, options), run(key, second, options)]);
		expect(one.error).toBeUndefined();
		expect(two.error).toBeUndefined();
		expectAllAnswered(one.items, first);
		expectAllAnswered(two.items, second);
		const server = fake.rateLimitStats(key);
		expect(server.accepted).toBe(60);
		// The first window (8 at once) is more than the burst (5): the bucket did turn requests away.
		expect(server.rejected.rate).toBeGreaterThan(0);
		const seenByItems = [...one.items, ...two.items].reduce((sum, item) => sum + (item.json.rateLimitStats as { responses429: number }).responses429, 0);
		expect(seenByItems).toBe(server.rejected.rate);
	});

	it('keys the limiter on the API key: another credential on the same origin has its own', async () => {
		const origin = new URL(fake.url).origin;
		expect(limiterFor(origin, 'key-a')).toBe(limiterFor(origin, 'key-a'));
		expect(limiterFor(origin, 'key-a')).not.toBe(limiterFor(origin, 'key-b'));
		expect(limiterFor(origin, 'key-a')).not.toBe(limiterFor('http://127.0.0.2:9', 'key-a'));
	});
});

describe('Concurrency Auto: a Retry-After pauses every item once', () => {
	it('one 429 makes the other items wait for its Retry-After too, and costs no retry', async () => {
		const key = fake.newKey('pause');
		const retryAfterMs = 400;
		// The first request to arrive gets the 429; the rest of the first window answer only after
		// 100 ms, so the 429 reaches the client while they are still out.
		fake.script(key, rateLimited(retryAfterMs), ...Array.from({ length: INITIAL_WINDOW - 1 }, (): Step => ({ kind: 'delayHeaders', ms: 100 })));
		const inputs = questions(20);
		const result = await run(key, inputs, { maxRetries: 0, includeRateLimitStats: true });
		expect(result.error).toBeUndefined();
		const items = outputOf(result);
		expectAllAnswered(items, inputs);

		const requests = fake.requests(key);
		expect(requests).toHaveLength(21);
		const limitedAt = requests[0].at;
		// Every request that arrived after the first window (items that never met the 429, and the
		// retried one) arrived no sooner than the Retry-After allowed.
		const later = requests.slice(INITIAL_WINDOW);
		expect(later).toHaveLength(21 - INITIAL_WINDOW);
		for (const request of later) expect(request.at - limitedAt).toBeGreaterThanOrEqual(retryAfterMs);
		// The item that met the 429 says so; with Max Retries 0 it still went again (Auto).
		const stats = items.map((item) => item.json.rateLimitStats as { responses429: number; waitedMs: number });
		expect(stats.filter((stat) => stat.responses429 === 1)).toHaveLength(1);
		expect(stats.filter((stat) => stat.responses429 === 0)).toHaveLength(19);
		// Items that waited out the pause say how long (the clock's rounding aside).
		expect(stats.filter((stat) => stat.waitedMs >= retryAfterMs - 100).length).toBeGreaterThanOrEqual(later.length - 1);
	});

	it('Fixed keeps each item to its own retries: a 429 with Max Retries 0 fails the item', async () => {
		const key = fake.newKey('fixed');
		fake.script(key, rateLimited(10));
		const result = await run(key, questions(1), { maxRetries: 0, concurrencyMode: 'fixed' });
		expect(result.error).toBeInstanceOf(NodeApiError);
		expect((result.error as NodeApiError).httpCode).toBe('429');
		expect(fake.requests(key)).toHaveLength(1);
	});

	// What the Concurrency hint and the README promise: a node given Concurrency and no Concurrency
	// Mode (a workflow saved before Auto existed, or a user adding only Concurrency) runs Fixed.
	it('Concurrency without Concurrency Mode runs Fixed: a 429 with Max Retries 0 fails the item', async () => {
		const key = fake.newKey('concurrency-only');
		fake.script(key, rateLimited(10));
		const result = await run(key, questions(1), { maxRetries: 0, concurrency: 3 });
		expect(result.error).toBeInstanceOf(NodeApiError);
		expect((result.error as NodeApiError).httpCode).toBe('429');
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('Concurrency next to Concurrency Mode Auto stays Auto: the 429 goes again without a retry', async () => {
		const key = fake.newKey('concurrency-auto');
		fake.script(key, rateLimited(10));
		const inputs = questions(1);
		const result = await run(key, inputs, { maxRetries: 0, concurrency: 3, concurrencyMode: 'auto' });
		expect(result.error).toBeUndefined();
		expectAllAnswered(outputOf(result), inputs);
		expect(fake.requests(key)).toHaveLength(2);
	});
});

describe('Concurrency Auto: nothing lost, nothing endless', () => {
	it('answers every item, in order and paired, through a storm of 429s, and the stats add up to what the server sent', async () => {
		const key = fake.newKey('storm');
		// 20 of the first requests are 429 (each asking for 20 ms), mixed with answers (an echo, after no delay).
		const storm: Step[] = Array.from({ length: 30 }, (_, index) => (index % 3 === 2 ? { kind: 'delayHeaders', ms: 0 } : rateLimited(20)));
		fake.script(key, ...storm);
		const inputs = questions(30);
		const result = await run(key, inputs, { maxRetries: 1, includeRateLimitStats: true });
		expect(result.error).toBeUndefined();
		const items = outputOf(result);
		expectAllAnswered(items, inputs);
		const limitedByServer = fake.requests(key).length - inputs.length;
		expect(limitedByServer).toBe(20);
		const limitedByItems = items.reduce((sum, item) => sum + (item.json.rateLimitStats as { responses429: number }).responses429, 0);
		expect(limitedByItems).toBe(limitedByServer);
	});

	it(`stops an item after ${MAX_LIMITER_RETRIES} free 429s plus Max Retries: a service that only says 429 cannot hold it forever`, async () => {
		const key = fake.newKey('endless');
		fake.script(key, ...Array.from({ length: 30 }, () => rateLimited(1)));
		const result = await run(key, questions(1), { maxRetries: 1 });
		expect(result.error).toBeInstanceOf(NodeApiError);
		expect((result.error as NodeApiError).httpCode).toBe('429');
		expect(fake.requests(key)).toHaveLength(MAX_LIMITER_RETRIES + 1 + 1);
	});

	it('leaves the API key out of what the limiter keeps', async () => {
		const key = fake.newKey('secret');
		const limiter = limiterFor(new URL(fake.url).origin, key);
		expect(JSON.stringify(limiter.state())).not.toContain(key);
	});
});
