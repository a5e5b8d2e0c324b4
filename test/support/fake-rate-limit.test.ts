/**
 * The fake server's rate-limited mode over real sockets (plain fetch, never the project's
 * transport). Refill is proven with a clock the test moves by hand, the concurrency cap with
 * gated streams: nothing here depends on how fast the machine is.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';

import { createGate, startFakeNebula, type FakeNebula, type FakeRateLimit } from './fake-nebula';
import { formatDuration } from './fake-rate-limit';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** A clock that moves only when the test says so. */
function manualClock() {
	const clock = { ms: 1_000_000, now: () => clock.ms, advance: (ms: number) => void (clock.ms += ms) };
	return clock;
}

let fake: FakeNebula | undefined;

afterEach(async () => {
	await fake?.close();
	fake = undefined;
});

async function start(rateLimit: FakeRateLimit): Promise<FakeNebula> {
	fake = await startFakeNebula({ rateLimit });
	return fake;
}

function chat(server: FakeNebula, key: string, extra: Record<string, unknown> = {}): Promise<Response> {
	return fetch(`${server.url}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...extra }),
	});
}

function readJson(res: Response): Promise<any> {
	return res.json();
}

/** Sends `count` requests one after another (the clock does not move between them); their statuses. */
async function statuses(server: FakeNebula, key: string, count: number): Promise<number[]> {
	const seen: number[] = [];
	for (let i = 0; i < count; i++) {
		const res = await chat(server, key);
		await res.arrayBuffer();
		seen.push(res.status);
	}
	return seen;
}

describe('token bucket', () => {
	it('accepts a burst of B, then answers 429 with the seeds\' error code and the wait until the next token', async () => {
		const clock = manualClock();
		const server = await start({ requestsPerSecond: 20, burst: 5, now: clock.now });
		expect(await statuses(server, server.defaultKey, 5)).toEqual([200, 200, 200, 200, 200]);

		const limited = await chat(server, server.defaultKey);
		expect(limited.status).toBe(429);
		// R = 20: a token every 50 ms; Retry-After can only say whole seconds, retry-after-ms says 50.
		expect(limited.headers.get('retry-after-ms')).toBe('50');
		expect(limited.headers.get('retry-after')).toBe('1');
		const body = await readJson(limited);
		expect(body.error).toEqual(expect.objectContaining({ code: 'rate_limit_exceeded', type: 'rate_limit_error' }));
		expect(body.error.message).toMatch(/try again in 50ms/);

		clock.advance(20);
		const sooner = await chat(server, server.defaultKey);
		expect(sooner.status).toBe(429);
		expect(sooner.headers.get('retry-after-ms')).toBe('30');
	});

	it('refills at R per second, never above B', async () => {
		const clock = manualClock();
		const server = await start({ requestsPerSecond: 10, burst: 3, now: clock.now });
		const key = server.defaultKey;
		expect(await statuses(server, key, 4)).toEqual([200, 200, 200, 429]);

		clock.advance(99);
		expect(await statuses(server, key, 1)).toEqual([429]);
		clock.advance(1);
		expect(await statuses(server, key, 2)).toEqual([200, 429]);
		clock.advance(250);
		expect(await statuses(server, key, 3)).toEqual([200, 200, 429]);
		// A long quiet spell fills the bucket to B, not to 60 s x R.
		clock.advance(60_000);
		expect(await statuses(server, key, 4)).toEqual([200, 200, 200, 429]);

		const stats = server.rateLimitStats(key);
		expect(stats.accepted).toBe(3 + 1 + 2 + 3);
		expect(stats.rejected).toEqual({ rate: 5, concurrency: 0 });
		expect(stats.acceptedAt).toHaveLength(9);
		expect(stats.acceptedAt[3] - stats.acceptedAt[0]).toBe(100);
		expect(server.requests(key).filter((request) => request.rateLimited === 'rate')).toHaveLength(5);
	});

	it('gives each API key its own bucket, or one for the server with scope "server"', async () => {
		const clock = manualClock();
		const perKey = await start({ requestsPerSecond: 1, burst: 2, now: clock.now });
		const a = perKey.newKey('a');
		const b = perKey.newKey('b');
		expect(await statuses(perKey, a, 3)).toEqual([200, 200, 429]);
		expect(await statuses(perKey, b, 3)).toEqual([200, 200, 429]);
		expect(perKey.rateLimitStats(a).accepted).toBe(2);
		expect(perKey.rateLimitStats().accepted).toBe(4);
		expect(perKey.rateLimitStats().rejected.rate).toBe(2);
		await perKey.close();

		const shared = await start({ requestsPerSecond: 1, burst: 2, scope: 'server', now: clock.now });
		const c = shared.newKey('c');
		const d = shared.newKey('d');
		expect(await statuses(shared, c, 1)).toEqual([200]);
		expect(await statuses(shared, d, 2)).toEqual([200, 429]);
		expect(await statuses(shared, c, 1)).toEqual([429]);
	});

	it('can give one key a tier of its own and lift limits at run time', async () => {
		const clock = manualClock();
		fake = await startFakeNebula();
		const free = fake.newKey('free');
		const paid = fake.newKey('paid');
		expect(await statuses(fake, free, 3)).toEqual([200, 200, 200]);

		fake.setRateLimit({ requestsPerSecond: 1, burst: 1, now: clock.now }, free);
		expect(await statuses(fake, free, 2)).toEqual([200, 429]);
		expect(await statuses(fake, paid, 3)).toEqual([200, 200, 200]);

		fake.setRateLimit({ requestsPerSecond: 1, burst: 2, now: clock.now });
		expect(await statuses(fake, paid, 3)).toEqual([200, 200, 429]);
		// The key's own tier wins over the server's limit.
		expect(await statuses(fake, free, 1)).toEqual([429]);

		fake.setRateLimit(undefined);
		fake.setRateLimit(undefined, free);
		expect(await statuses(fake, paid, 2)).toEqual([200, 200]);
		expect(await statuses(fake, free, 2)).toEqual([200, 200]);
	});

	it('answers /text/generate with the Nebula error envelope', async () => {
		const server = await start({ requestsPerSecond: 1, burst: 1, now: manualClock().now });
		const generate = () =>
			fetch(`${server.url}/text/generate`, {
				method: 'POST',
				headers: { authorization: `Bearer ${server.defaultKey}`, 'content-type': 'application/json' },
				body: JSON.stringify({ model: MODEL, prompt: 'hi' }),
			});
		expect((await generate()).status).toBe(200);
		const limited = await generate();
		expect(limited.status).toBe(429);
		expect(limited.headers.get('retry-after-ms')).toBe('1000');
		expect(await readJson(limited)).toEqual({ status: 'error', error: { code: 'rate_limit_exceeded', message: expect.stringMatching(/Rate limit/) } });
	});

	it('does not spend a scripted step on a request it turns away', async () => {
		const clock = manualClock();
		const server = await start({ requestsPerSecond: 1, burst: 1, now: clock.now });
		const key = server.newKey();
		server.script(key, { kind: 'reply', content: 'first' }, { kind: 'reply', content: 'second' });
		expect((await readJson(await chat(server, key))).choices[0].message.content).toBe('first');
		expect((await chat(server, key)).status).toBe(429);
		clock.advance(1000);
		expect((await readJson(await chat(server, key))).choices[0].message.content).toBe('second');
	});
});

describe('x-ratelimit headers', () => {
	it('are absent unless switched on', async () => {
		const server = await start({ requestsPerSecond: 4, burst: 2, now: manualClock().now });
		const res = await chat(server, server.defaultKey);
		expect(res.status).toBe(200);
		expect(res.headers.get('x-ratelimit-remaining-requests')).toBeNull();
	});

	it('tell the limit, what is left and when the bucket is full again, on answers, streams and 429s', async () => {
		const clock = manualClock();
		const server = await start({ requestsPerSecond: 4, burst: 2, sendHeaders: true, now: clock.now });
		const heads = (res: Response) => [
			res.headers.get('x-ratelimit-limit-requests'),
			res.headers.get('x-ratelimit-remaining-requests'),
			res.headers.get('x-ratelimit-reset-requests'),
		];
		const first = await chat(server, server.defaultKey);
		expect(first.status).toBe(200);
		expect(heads(first)).toEqual(['2', '1', '250ms']);
		await first.arrayBuffer();

		const streamed = await chat(server, server.defaultKey, { stream: true });
		expect(streamed.headers.get('content-type')).toBe('text/event-stream');
		expect(heads(streamed)).toEqual(['2', '0', '500ms']);
		expect(await streamed.text()).toContain('[DONE]');

		const limited = await chat(server, server.defaultKey);
		expect(limited.status).toBe(429);
		expect(heads(limited)).toEqual(['2', '0', '500ms']);
		expect(limited.headers.get('retry-after-ms')).toBe('250');
		await limited.arrayBuffer();

		clock.advance(375);
		const later = await chat(server, server.defaultKey);
		expect(heads(later)).toEqual(['2', '0', '375ms']);
	});

	it('write durations the way OpenAI does', () => {
		expect([0, 1, 50, 999, 1000, 1500, 60_000, 90_250].map(formatDuration)).toEqual(['0s', '1ms', '50ms', '999ms', '1s', '1.5s', '1m0s', '1m30.25s']);
	});
});

describe('concurrency cap', () => {
	it('answers 429 beyond the cap while the others are held, and accepts again once one is done', async () => {
		const server = await start({ maxConcurrent: 2 });
		const key = server.newKey('capped');
		const gates = [createGate(), createGate()];
		server.script(key, ...gates.map((gate) => ({ kind: 'gate' as const, afterChunks: 1, gate })));
		const held = gates.map(() => chat(server, key, { stream: true }));
		await Promise.all(gates.map((gate) => gate.reached));

		const third = await chat(server, key);
		expect(third.status).toBe(429);
		// When a slot frees is not known to the server: no Retry-After, the client's backoff decides.
		expect(third.headers.get('retry-after')).toBeNull();
		const body = await readJson(third);
		expect(body.error.code).toBe('rate_limit_exceeded');
		expect(body.error.message).toMatch(/concurrent/);
		// Another key has its own cap.
		expect((await chat(server, server.defaultKey)).status).toBe(200);

		gates[0].release();
		expect(await (await held[0]).text()).toContain('[DONE]');
		expect((await chat(server, key)).status).toBe(200);
		gates[1].release();
		await (await held[1]).text();

		const stats = server.rateLimitStats(key);
		expect(stats).toEqual(expect.objectContaining({ accepted: 3, rejected: { rate: 0, concurrency: 1 }, peakInFlight: 2 }));
		expect(server.requests(key).map((request) => request.rateLimited)).toEqual([undefined, undefined, 'concurrency', undefined]);
	});

	it('shares one cap between keys with scope "server"', async () => {
		const server = await start({ maxConcurrent: 1, scope: 'server' });
		const a = server.newKey('a');
		const gate = createGate();
		server.script(a, { kind: 'gate', afterChunks: 1, gate });
		const held = chat(server, a, { stream: true });
		await gate.reached;
		expect((await chat(server, server.newKey('b'))).status).toBe(429);
		gate.release();
		await (await held).text();
		expect((await chat(server, server.newKey('c'))).status).toBe(200);
		expect(server.rateLimitStats().rejected).toEqual({ rate: 0, concurrency: 1 });
	});

	it('takes no token for a request the cap turns away', async () => {
		const clock = manualClock();
		const server = await start({ requestsPerSecond: 1, burst: 2, maxConcurrent: 1, now: clock.now });
		const key = server.newKey();
		const gate = createGate();
		server.script(key, { kind: 'gate', afterChunks: 1, gate });
		const held = chat(server, key, { stream: true });
		await gate.reached;
		expect((await chat(server, key)).status).toBe(429);
		gate.release();
		await (await held).text();
		// One token left of two: the turned-away request did not spend the other.
		expect(await statuses(server, key, 2)).toEqual([200, 429]);
		expect(server.rateLimitStats(key).rejected).toEqual({ rate: 1, concurrency: 1 });
	});
});

describe('counters without a limit', () => {
	it('count every request as accepted, with its arrival time and the peak in flight', async () => {
		fake = await startFakeNebula();
		const gate = createGate();
		const key = fake.newKey();
		fake.script(key, { kind: 'gate', afterChunks: 0, gate });
		const held = chat(fake, key, { stream: true });
		await gate.reached;
		expect((await chat(fake, key)).status).toBe(200);
		gate.release();
		await (await held).text();
		const stats = fake.rateLimitStats(key);
		expect(stats).toEqual(expect.objectContaining({ accepted: 2, rejected: { rate: 0, concurrency: 0 }, peakInFlight: 2 }));
		expect(stats.acceptedAt[1]).toBeGreaterThanOrEqual(stats.acceptedAt[0]);
		expect(fake.rateLimitStats('never-used').accepted).toBe(0);
	});
});

describe('settable outside the test process', () => {
	it('runs rate-limited from the command line', async () => {
		const tsxCli = path.join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
		const args = [tsxCli, path.join(__dirname, 'fake-nebula.ts'), '--port', '0', '--rate-rps', '0.001', '--rate-burst', '2', '--rate-headers'];
		const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		try {
			const [firstOutput] = (await once(child.stdout, 'data')) as [Buffer];
			const { url, key } = JSON.parse(firstOutput.toString('utf8').split('\n')[0]);
			const server = { url } as FakeNebula;
			expect(await statuses(server, key, 3)).toEqual([200, 200, 429]);
			expect((await chat(server, key)).headers.get('x-ratelimit-limit-requests')).toBe('2');
		} finally {
			child.kill('SIGTERM');
		}
	});

});
