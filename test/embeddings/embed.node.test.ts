/**
 * The Nebula Block Embed node in n8n-core's engine against the fake server: one vector per item,
 * through the shared item runner (pairedItem, Continue On Fail, one request per item). Runs against
 * the main and the cloud build (jest.cloud.config.js). `npm run build` first.
 */
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { useFakeNebula } from '../support/fake-for-node-tests';
import { fakeEmbedding } from '../support/fake-nebula';
import { EMBEDDING_MODEL, runEmbedNode } from './workflows';

const fake = useFakeNebula();
const words = (count: number) => Array.from({ length: count }, () => 'word').join(' ');

describe('Nebula Block Embed: Embed Text', () => {
	it('puts a vector on each item, with the model and the usage, keeping its fields; one float request per item', async () => {
		const key = fake.newKey('embed');
		const { error, items, requests } = await runEmbedNode(fake, key, [
			{ id: 1, text: 'The cat sat' },
			{ id: 2, text: 'Markets fell' },
		]);
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json)).toEqual([
			{ id: 1, text: 'The cat sat', embedding: fakeEmbedding('The cat sat'), model: EMBEDDING_MODEL, usage: { prompt_tokens: 5, total_tokens: 5 } },
			{ id: 2, text: 'Markets fell', embedding: fakeEmbedding('Markets fell'), model: EMBEDDING_MODEL, usage: { prompt_tokens: 4, total_tokens: 4 } },
		]);
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(requests.map((request) => request.body).sort((a, b) => a.input[0].localeCompare(b.input[0]))).toEqual([
			{ model: EMBEDDING_MODEL, input: ['Markets fell'], encoding_format: 'float' },
			{ model: EMBEDDING_MODEL, input: ['The cat sat'], encoding_format: 'float' },
		]);
	});

	it('Put Output In Field, Strip New Lines, and a truncated text says so', async () => {
		const key = fake.newKey('embed-options');
		const { error, items, requests } = await runEmbedNode(fake, key, [{ text: `line one\nline two ${words(600)}` }], { outputField: 'vector' });
		expect(error).toBeUndefined();
		expect(items[0].json).toHaveProperty('vector');
		expect(items[0].json).not.toHaveProperty('embedding');
		expect(items[0].json.truncated).toBe(true);
		expect(requests[0].body.input[0]).toMatch(/^line one line two word/);
	});

	it('Fail on a text past the context: a NodeOperationError naming the item; Continue On Fail keeps the others', async () => {
		const key = fake.newKey('embed-fail');
		const long = words(600);
		const stopped = await runEmbedNode(fake, key, [{ text: 'fine' }, { text: long }], { textTooLong: 'fail', concurrency: 1 });
		expect(stopped.error).toBeInstanceOf(NodeOperationError);
		expect(stopped.error?.message).toBe(`The text of item 1 is too long for ${EMBEDDING_MODEL}: at least 602 tokens (${long.length} characters), and the model takes 512`);
		expect((stopped.error as NodeOperationError).context.itemIndex).toBe(1);
		expect((stopped.error as NodeOperationError).description).toMatch(/Truncate\. \(item 1\)$/);

		const continued = await runEmbedNode(fake, fake.newKey('embed-continue'), [{ text: long }, { text: 'fine' }, { text: '' }], { textTooLong: 'fail' }, { continueOnFail: true });
		expect(continued.error).toBeUndefined();
		expect(continued.items.map((item) => [item.pairedItem, Object.keys(item.json).sort()])).toEqual([
			[{ item: 0 }, ['error']],
			[{ item: 1 }, ['embedding', 'model', 'text', 'usage']],
			[{ item: 2 }, ['error']],
		]);
		expect(continued.items[2].json.error).toBe('The text to embed is empty');
		expect(continued.requests).toHaveLength(1);
	});

	it('a bad answer is a NodeApiError of the item; a 429 is retried; Max Retries 0 sends once', async () => {
		const key = fake.newKey('embed-bad');
		fake.script(key, { kind: 'embeddingFault', fault: 'null' });
		const bad = await runEmbedNode(fake, key, [{ text: 'hello' }]);
		expect(bad.error).toBeInstanceOf(NodeApiError);
		expect(bad.error?.message).toBe('The vector of text 0 holds null at position 3, not a finite number');

		const retryKey = fake.newKey('embed-429');
		fake.script(retryKey, { kind: 'status', status: 429, headers: { 'retry-after-ms': '30' } });
		const retried = await runEmbedNode(fake, retryKey, [{ text: 'hello' }], { includeRateLimitStats: true });
		expect(retried.error).toBeUndefined();
		expect(retried.items[0].json.rateLimitStats).toMatchObject({ responses429: 1 });
		expect(retried.requests).toHaveLength(2);

		const onceKey = fake.newKey('embed-once');
		fake.script(onceKey, { kind: 'status', status: 429, headers: { 'retry-after-ms': '30' } });
		const once = await runEmbedNode(fake, onceKey, [{ text: 'hello' }], { maxRetries: 0 });
		expect(once.error).toBeInstanceOf(NodeApiError);
		expect(once.requests).toHaveLength(1);
		expect(JSON.stringify([once.error?.message, (once.error as NodeApiError).description, once.result.logs])).not.toContain(onceKey);
	});
});
