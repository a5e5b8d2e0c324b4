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

import { limiterFor, registryKeys } from '../../dist/nodes/shared/transport/limiters';
import { INITIAL_WINDOW } from '../../nodes/shared/transport/limiter';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { createGate, startFakeNebula, type Step } from '../support/fake-nebula';
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

/** The Text Generate node on `key`, its endpoint at `textGenerateUrl` (the fake's own by default). */
async function runTextGenerate(key: string, options: INodeParameters = {}, textGenerateUrl = fake.url) {
	return await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockTextGenerate',
		parameters: { model: { __rl: true, mode: 'id', value: MODEL }, prompt: 'Hello', options },
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url, textGenerateUrl } },
		inputItems: [{}],
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

const RATE_LIMIT_BODY = { error: { message: 'Rate limit reached for requests', type: 'rate_limit_error', code: 'rate_limit_exceeded' } };

const rateLimited = (retryAfterMs: number): Step => ({
	kind: 'status',
	status: 429,
	headers: { 'retry-after-ms': String(retryAfterMs), 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
	body: RATE_LIMIT_BODY,
});

/** A 429 with exactly these headers (none: no Retry-After at all). */
const refused = (headers: Record<string, string> = {}): Step => ({ kind: 'status', status: 429, headers, body: RATE_LIMIT_BODY });

const errorOf = (result: { error?: unknown }) => result.error as NodeApiError;

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
		const result = await run(key, inputs, { includeRateLimitStats: true });
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
		// The item that met the 429 says so, and went again after the pause.
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

	it('Concurrency next to Concurrency Mode Auto stays Auto: the 429 reaches the shared limiter', async () => {
		const key = fake.newKey('concurrency-auto');
		fake.script(key, rateLimited(10));
		const inputs = questions(1);
		const result = await run(key, inputs, { concurrency: 3, concurrencyMode: 'auto' });
		expect(result.error).toBeUndefined();
		expectAllAnswered(outputOf(result), inputs);
		expect(fake.requests(key)).toHaveLength(2);
		expect(limiterFor(new URL(fake.url).origin, key).state().rateLimited).toBe(1);
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

	it('keeps no API key in the limiter registry: only the origin and a digest', async () => {
		const key = fake.newKey('secret-key-never-kept');
		const result = await run(key, questions(1));
		expect(result.error).toBeUndefined();
		const keys = registryKeys();
		expect(keys.some((entry) => /^http:\/\/127\.0\.0\.1:\d+ [\w-]{22}$/.test(entry))).toBe(true);
		for (const entry of keys) expect(entry).not.toContain(key);
	});
});

describe('Concurrency Auto: every wait bounded and told', () => {
	it('a Retry-After of an hour fails its item at once, and the next execution on the key fails at once too, sending nothing', async () => {
		const key = fake.newKey('hour');
		fake.script(key, refused({ 'retry-after': '3600' }));
		const first = await run(key, questions(1));
		expect(errorOf(first)).toBeInstanceOf(NodeApiError);
		expect(errorOf(first).message).toMatch(/^Rate limit reached for requests \(the service asked to wait 60 minutes, until \d\d:\d\d:\d\d UTC\)$/);
		expect(errorOf(first).httpCode).toBe('429');
		expect(errorOf(first).description).toMatch(/every request on this API key and host fails at once/);
		// Before, the next execution sent nothing and hung until someone stopped it.
		const second = await run(key, questions(3));
		expect(errorOf(second).message).toMatch(/\(the service asked to wait (59|60) minutes, until \d\d:\d\d:\d\d UTC\)$/);
		expect(fake.requests(key)).toHaveLength(1);
		// Another key on the same service is not held.
		const other = await run(fake.newKey('hour-other'), questions(1));
		expect(other.error).toBeUndefined();
	});

	it('a spent token budget on a normal answer is told: the next execution fails at once, naming the budget and when it returns', async () => {
		const key = fake.newKey('tokens');
		fake.script(key, { kind: 'headers', headers: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '10m' } });
		const first = await run(key, questions(1));
		expect(first.error).toBeUndefined();
		const second = await run(key, questions(1));
		expect(errorOf(second)).toBeInstanceOf(NodeApiError);
		expect(errorOf(second).message).toMatch(
			/^The token budget of this API key is spent \(x-ratelimit-remaining-tokens: 0\); it comes back in 10 minutes, until \d\d:\d\d:\d\d UTC$/,
		);
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('x-ratelimit-remaining-requests 0 on an answer holds the next request until the budget comes back', async () => {
		const key = fake.newKey('requests-budget');
		fake.script(key, {
			kind: 'headers',
			headers: { 'x-ratelimit-limit-requests': '1', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' },
		});
		const first = await run(key, questions(1));
		expect(first.error).toBeUndefined();
		const second = await run(key, questions(1));
		expect(second.error).toBeUndefined();
		const [one, two] = fake.requests(key);
		expect(two.at - one.at).toBeGreaterThanOrEqual(950);
	});

	it("a pause within 60 s but longer than what is left of the item's Timeout fails the item at once", async () => {
		const key = fake.newKey('past-timeout');
		fake.script(key, rateLimited(5_000));
		const result = await run(key, questions(1), { timeout: 1 });
		expect(errorOf(result).message).toMatch(/\(the service asked to wait 5 s, until /);
		expect(errorOf(result).description).toMatch(/longer than what is left of this item's Timeout \(1 s\)/);
		expect(fake.requests(key)).toHaveLength(1);
	});
});

describe('Concurrency Auto: refusals back off, Max Retries is a promise', () => {
	it.each<[string, Record<string, string>]>([
		['no Retry-After', {}],
		['an empty Retry-After', { 'retry-after': '' }],
		['Retry-After 0', { 'retry-after': '0' }],
	])('a service that keeps refusing with %s is asked less and less often', async (_name, headers) => {
		const key = fake.newKey('refusing');
		fake.script(key, ...Array.from({ length: 10 }, () => refused(headers)));
		const result = await run(key, questions(1), { maxRetries: 3 });
		expect(errorOf(result).httpCode).toBe('429');
		const at = fake.requests(key).map((request) => request.at);
		expect(at).toHaveLength(4);
		const gaps = at.slice(1).map((time, index) => time - at[index]);
		// 250, 500 and 1,000 ms, each jittered down by up to half: never less than half of it.
		expect(gaps[0]).toBeGreaterThanOrEqual(120);
		expect(gaps[1]).toBeGreaterThanOrEqual(245);
		expect(gaps[2]).toBeGreaterThanOrEqual(495);
	});

	it('Max Retries 0 is exactly one request under Auto, on Chat Completion and on Text Generate', async () => {
		const chatKey = fake.newKey('zero-chat');
		fake.script(chatKey, rateLimited(1_000));
		const chat = await run(chatKey, questions(1), { maxRetries: 0 });
		expect(errorOf(chat).httpCode).toBe('429');
		expect(fake.requests(chatKey)).toHaveLength(1);

		const textKey = fake.newKey('zero-text');
		fake.script(textKey, refused(), refused(), refused());
		const text = await runTextGenerate(textKey, { maxRetries: 0 });
		expect(errorOf(text).httpCode).toBe('429');
		expect(fake.requests(textKey)).toHaveLength(1);
	});

	it('a rate-limit failure under Auto says what Auto did and what to change, not Fixed advice', async () => {
		const key = fake.newKey('told');
		fake.script(key, rateLimited(50), rateLimited(50), rateLimited(50));
		const result = await run(key, questions(1), { maxRetries: 2 });
		const description = errorOf(result).description ?? '';
		expect(description).toMatch(/^Sent this request 3 times, pausing every request on this API key/);
		expect(description).toMatch(/Raise Max Retries/);
		expect(description).not.toMatch(/lower Concurrency|Delay Between Batches/);
		expect(fake.requests(key)).toHaveLength(3);
	});

	it('the Text Generate endpoint on its own host has its own limiter: an hour-long pause on the chat host does not hold it', async () => {
		const textHost = await startFakeNebula();
		try {
			const key = fake.newKey('two-hosts');
			textHost.adoptKey(key);
			fake.script(key, refused({ 'retry-after': '3600' }));
			expect(errorOf(await run(key, questions(1))).httpCode).toBe('429');
			const text = await runTextGenerate(key, {}, textHost.url);
			expect(text.error).toBeUndefined();
			expect(textHost.requests(key)).toHaveLength(1);
			// The same key's chat requests are still refused at once.
			expect(errorOf(await run(key, questions(1))).httpCode).toBe('429');
			expect(fake.requests(key)).toHaveLength(1);
		} finally {
			await textHost.close();
		}
	});
});
