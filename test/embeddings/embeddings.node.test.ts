/**
 * The Nebula Block Embeddings sub-node in n8n-core's engine against the fake server over a socket:
 * the harness's vector store stand-in gets it through getInputConnectionData (supplyData as n8n
 * calls it) and calls embedDocuments / embedQuery. Runs against the main and the cloud build
 * (jest.cloud.config.js). `npm run build` first.
 */
import { NodeApiError, NodeOperationError, type INodeTypeDescription } from 'n8n-workflow';

import { BATCHES_IN_FLIGHT } from '../../dist/nodes/shared/embeddings/embed';
import { limiterFor } from '../../dist/nodes/shared/transport/limiters';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { fakeEmbedding, type EmbeddingFault } from '../support/fake-nebula';
import { packageNodeTypes } from '../support/n8n-harness';
import { EMBEDDINGS_NODE, EMBEDDING_MODEL, cosine, runChatNode, runEmbeddings } from './workflows';

const fake = useFakeNebula();
const words = (count: number, word = 'word') => Array.from({ length: count }, () => word).join(' ');

describe('Nebula Block Embeddings: what a vector store gets', () => {
	it('embedDocuments: one float request, one vector per text in order, the texts\' own vectors; shown on the sub-node', async () => {
		const key = fake.newKey('documents');
		const texts = ['The cat sat on the mat', 'Stock markets fell', 'A cat and a mat'];
		const { error, items, requests, result } = await runEmbeddings(fake, { apiKey: key, texts });
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(1);
		expect(requests[0].path).toBe('/v1/embeddings');
		expect(requests[0].body).toEqual({ model: EMBEDDING_MODEL, input: texts, encoding_format: 'float' });
		const vectors = items[0].json.vectors as number[][];
		expect(vectors).toEqual(texts.map((text) => fakeEmbedding(text)));
		expect(cosine(vectors[0], vectors[2])).toBeGreaterThan(cosine(vectors[0], vectors[1]));
		// The call is logged on the sub-node, as n8n's logWrapper logs its own embeddings.
		const [task] = result.runData[EMBEDDINGS_NODE];
		expect(task.inputOverride?.ai_embedding?.[0]?.[0]?.json).toEqual({ documents: texts });
		expect(task.data?.ai_embedding?.[0]?.[0]?.json).toEqual({ response: vectors });
	});

	it('embedQuery: one vector for the query', async () => {
		const key = fake.newKey('query');
		const { error, items, requests } = await runEmbeddings(fake, { apiKey: key, queries: ['where is the cat'] });
		expect(error).toBeUndefined();
		expect(items[0].json.vector).toEqual(fakeEmbedding('where is the cat'));
		expect(requests[0].body.input).toEqual(['where is the cat']);
	});

	it('Batch Size: N texts go in ceil(N/B) requests and come back in order', async () => {
		const key = fake.newKey('batches');
		const texts = Array.from({ length: 70 }, (_, index) => `text number ${index}`);
		const { error, items, requests } = await runEmbeddings(fake, { apiKey: key, texts, options: { batchSize: 32 } });
		expect(error).toBeUndefined();
		// Sent at once (up to BATCHES_IN_FLIGHT), so they may arrive in any order: compared by their first text.
		const sent = [...requests].sort((a, b) => texts.indexOf(a.body.input[0]) - texts.indexOf(b.body.input[0]));
		expect(sent.map((request) => request.body.input.length)).toEqual([32, 32, 6]);
		expect(sent.flatMap((request) => request.body.input)).toEqual(texts);
		expect(items[0].json.vectors).toEqual(texts.map((text) => fakeEmbedding(text)));
		// The default, 32.
		const defaults = await runEmbeddings(fake, { apiKey: fake.newKey('batches-default'), texts });
		expect(defaults.requests).toHaveLength(3);
	});

	it(`sends up to ${BATCHES_IN_FLIGHT} batches at once, never more, and keeps the vectors in the order of the texts when answers come back out of order`, async () => {
		const key = fake.newKey('in-flight');
		const texts = Array.from({ length: 20 }, (_, index) => `text number ${index}`);
		// Steps go to requests in arrival order: the first four answer last, the rest at once.
		fake.script(key, ...[150, 120, 90, 60].map((ms) => ({ kind: 'delayHeaders' as const, ms })), ...Array.from({ length: 6 }, () => ({ kind: 'delayHeaders' as const, ms: 5 })));
		const { error, items, requests } = await runEmbeddings(fake, { apiKey: key, texts, options: { batchSize: 2 } });
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(10);
		expect(fake.maxInFlight(key)).toBe(BATCHES_IN_FLIGHT);
		expect(items[0].json.vectors).toEqual(texts.map((text) => fakeEmbedding(text)));
	});

	it('a batch that fails stops the call: no new batch starts, the error is that of the failed batch', async () => {
		const key = fake.newKey('in-flight-failure');
		const texts = Array.from({ length: 20 }, (_, index) => `text number ${index}`);
		fake.script(key, { kind: 'delayHeaders', ms: 50 }, { kind: 'status', status: 400, body: { error: { message: 'Bad batch', type: 'invalid_request_error', code: 400 } } });
		const { error, requests } = await runEmbeddings(fake, { apiKey: key, texts, options: { batchSize: 2 } });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toMatch(/Bad batch|bad request/i);
		// The four started at once; none after the failure.
		expect(requests).toHaveLength(BATCHES_IN_FLIGHT);
	});

	it('Strip New Lines: on by default; off sends the line breaks', async () => {
		const key = fake.newKey('newlines');
		await runEmbeddings(fake, { apiKey: key, texts: ['one\ntwo\r\nthree'] });
		await runEmbeddings(fake, { apiKey: key, texts: ['one\ntwo'], options: { stripNewLines: false } });
		expect(fake.requests(key).map((request) => request.body.input[0])).toEqual(['one two three', 'one\ntwo']);
	});

	it('a text past the context: Truncate (the default) cuts it to fit; Fail stops with a NodeOperationError naming it, sending nothing', async () => {
		const key = fake.newKey('too-long');
		const long = words(700);
		const truncated = await runEmbeddings(fake, { apiKey: key, texts: ['short', long] });
		expect(truncated.error).toBeUndefined();
		const sent = truncated.requests[0].body.input as string[];
		expect(sent[0]).toBe('short');
		expect(long.startsWith(sent[1])).toBe(true);
		expect(sent[1].split(' ').length).toBeLessThanOrEqual(510);

		const failKey = fake.newKey('too-long-fail');
		const failed = await runEmbeddings(fake, { apiKey: failKey, texts: ['short', long], options: { textTooLong: 'fail' } });
		expect(failed.error).toBeInstanceOf(NodeOperationError);
		expect(failed.error?.message).toBe(`Text 1 of the 2 to embed is too long for ${EMBEDDING_MODEL}: at least 702 tokens (${long.length} characters), and the model takes 512`);
		expect((failed.error as NodeOperationError).context.itemIndex).toBe(0);
		expect((failed.error as NodeOperationError).description).toMatch(/Text Splitter.*Truncate/);
		expect(failed.requests).toHaveLength(0);
	});

	it('Truncate: when the service still counts too many tokens, the batch is cut again by its count and resent', async () => {
		const key = fake.newKey('recut');
		const refusal = "This model's maximum context length is 512 tokens. However, you requested 1024 tokens in the input for embedding generation. Please reduce the length of the input.";
		fake.script(key, { kind: 'status', status: 400, body: { object: 'error', message: refusal, type: 'BadRequestError', code: 400 } });
		const text = words(400);
		const { error, requests } = await runEmbeddings(fake, { apiKey: key, texts: [text] });
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(2);
		expect(requests[0].body.input[0]).toBe(text);
		// Half the budget: the service counted twice the context.
		expect((requests[1].body.input[0] as string).split(' ').length).toBeLessThanOrEqual(255);
		// Fail: the refusal names the text most likely too long.
		const failKey = fake.newKey('refusal-fail');
		fake.script(failKey, { kind: 'status', status: 400, body: { object: 'error', message: refusal, type: 'BadRequestError', code: 400 } });
		const failed = await runEmbeddings(fake, { apiKey: failKey, texts: ['short', text], options: { textTooLong: 'fail' } });
		expect(failed.error).toBeInstanceOf(NodeOperationError);
		expect(failed.error?.message).toMatch(/^Text 1 of the 2 to embed is too long for .*: the service counted 1024 tokens/);
		expect(failed.requests).toHaveLength(1);
	});

	it.each<[EmbeddingFault, string | RegExp]>([
		['count', 'The service sent 1 vector for 2 texts'],
		['ragged', 'The vectors have different lengths: the vector of text 0 has 1024 numbers, that of text 1 512'],
		['null', 'The vector of text 0 holds null at position 3, not a finite number'],
		['string', 'The vector of text 0 holds the text "0.5" at position 3, not a finite number'],
		['nan', /^The service sent a reply that is not JSON/],
	])('a bad answer (%s) is a clear NodeApiError, never a vector', async (fault, message) => {
		const key = fake.newKey(`bad-${fault}`);
		fake.script(key, { kind: 'embeddingFault', fault });
		const { error, items, requests } = await runEmbeddings(fake, { apiKey: key, texts: ['first text', 'second text'] });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
		expect(items).toHaveLength(0);
		// Not retried: the service answered, wrongly.
		expect(requests).toHaveLength(1);
	});

	it('vectors out of index order are put back in order, not refused', async () => {
		const key = fake.newKey('shuffled');
		fake.script(key, { kind: 'embeddingFault', fault: 'shuffled' });
		const texts = ['alpha', 'beta', 'gamma'];
		const { error, items } = await runEmbeddings(fake, { apiKey: key, texts });
		expect(error).toBeUndefined();
		expect(items[0].json.vectors).toEqual(texts.map((text) => fakeEmbedding(text)));
	});

	it('a 429 with Retry-After is retried (Max Retries unset); Max Retries 0 sends one request', async () => {
		const key = fake.newKey('retry');
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after-ms': '50' } });
		const retried = await runEmbeddings(fake, { apiKey: key, texts: ['hello'] });
		expect(retried.error).toBeUndefined();
		expect(retried.requests).toHaveLength(2);
		expect(retried.requests[1].at - retried.requests[0].at).toBeGreaterThanOrEqual(49);

		const onceKey = fake.newKey('no-retry');
		fake.script(onceKey, { kind: 'status', status: 503 });
		const once = await runEmbeddings(fake, { apiKey: onceKey, texts: ['hello'], options: { maxRetries: 0 } });
		expect(once.error).toBeInstanceOf(NodeApiError);
		expect(once.requests).toHaveLength(1);
	});

	it("shares the limiter of the API key with the Chat Completion node: the sub-node's 429 pauses the node's next request", async () => {
		const key = fake.newKey('shared-limiter');
		const retryAfterMs = 400;
		fake.script(key, { kind: 'status', status: 429, headers: { 'retry-after-ms': String(retryAfterMs) } });
		const refused = await runEmbeddings(fake, { apiKey: key, texts: ['hello'], options: { maxRetries: 0 } });
		expect(refused.error).toBeInstanceOf(NodeApiError);
		expect(limiterFor(new URL(fake.url).origin, key).state().rateLimited).toBe(1);
		const chat = await runChatNode(fake, key, 'From the node');
		expect(chat.error).toBeUndefined();
		const [embeddingsRequest, chatRequest, ...more] = fake.requests(key);
		expect(more).toHaveLength(0);
		expect(embeddingsRequest.path).toBe('/v1/embeddings');
		expect(chatRequest.path).toBe('/v1/chat/completions');
		expect(chatRequest.at - embeddingsRequest.at).toBeGreaterThanOrEqual(retryAfterMs - 1);
	});

	it('the shared rate limit of the fake (a token bucket per key) is met with few 429s and no failure', async () => {
		const key = fake.newKey('bucket');
		fake.setRateLimit({ requestsPerSecond: 20, burst: 2 }, key);
		const texts = Array.from({ length: 12 }, (_, index) => `text ${index}`);
		const { error, items } = await runEmbeddings(fake, { apiKey: key, texts, options: { batchSize: 2 } });
		expect(error).toBeUndefined();
		expect((items[0].json.vectors as number[][]).length).toBe(12);
		expect(fake.rateLimitStats(key).accepted).toBe(6);
	});

	it('the API key is never in the output, the run data, the logs or an error', async () => {
		const key = fake.newKey('secret');
		fake.script(key, { kind: 'status', status: 401, body: { error: { message: `Invalid API key ${key}`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
		const failed = await runEmbeddings(fake, { apiKey: key, texts: ['hello'] });
		expect(failed.error).toBeInstanceOf(NodeApiError);
		const ok = await runEmbeddings(fake, { apiKey: key, texts: ['hello'] });
		for (const run of [failed, ok]) {
			const seen = JSON.stringify([run.result.runData, run.result.logs, run.error?.message, (run.error as NodeApiError | undefined)?.description]);
			expect(seen).not.toContain(key);
		}
	});

	it('offers the form the issue asks for: model default, the options and their defaults', () => {
		const description = packageNodeTypes().getByName('n8n-nodes-nebula-block.embeddingsNebulaBlock').description as INodeTypeDescription;
		expect(description).toMatchObject({ name: 'embeddingsNebulaBlock', version: 1, inputs: [], outputs: ['ai_embedding'], outputNames: ['Embeddings'] });
		const model = description.properties.find((property) => property.name === 'model');
		expect(model?.default).toEqual({ mode: 'list', value: EMBEDDING_MODEL });
		const options = description.properties.find((property) => property.name === 'options');
		expect((options?.options as Array<{ name: string; default: unknown }>).map(({ name, default: value }) => [name, value])).toEqual([
			['batchSize', 32],
			['maxRetries', 2],
			['stripNewLines', true],
			['textTooLong', 'truncate'],
			['timeout', 600],
		]);
	});
});
