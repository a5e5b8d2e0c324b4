/** The pure parts of the embeddings: length estimate and cut, body, batches, and the checks of an answer. */
import type { ILoadOptionsFunctions } from 'n8n-workflow';

import { batchesOf, embeddingsBody, inOrder, lengthRefusal, prepareTexts, stripNewLines, DEFAULT_EMBEDDING_SETTINGS } from '../../nodes/shared/embeddings/embed';
import { contextOf, cutToTokens, estimateTokens, leastTokens } from '../../nodes/shared/embeddings/length';
import { readEmbeddings } from '../../nodes/shared/embeddings/vectors';
import { InputError } from '../../nodes/shared/inputError';
import { searchEmbeddingModels } from '../../nodes/shared/methods/searchModels';
import { closeDispatchers } from '../../nodes/shared/transport/dispatcher';
import { NebulaBlockError } from '../../nodes/shared/transport/errors';
import { fakeEmbeddingTokens, startFakeNebula } from '../support/fake-nebula';
import { packageNode } from '../support/node-fixture';

const MODEL = 'BAAI/bge-large-en-v1.5';
const words = (count: number, word = 'word') => Array.from({ length: count }, () => word).join(' ');

describe('length', () => {
	it('estimates at least the sure lower bound, and at least what the fake server counts', () => {
		for (const text of ['The cat sat on the mat.', 'embedding tokenization', 'x9k2q-77a', '東京都に住んでいます', 'Привет, мир', words(40)]) {
			expect(estimateTokens(text)).toBeGreaterThanOrEqual(leastTokens(text));
			expect(estimateTokens(text)).toBeGreaterThanOrEqual(fakeEmbeddingTokens(text));
		}
		expect(estimateTokens('embedding')).toBe(2 + 3);
		expect(estimateTokens('東京')).toBe(2 + 2);
		expect(leastTokens('  two   words ')).toBe(4);
	});

	it('cuts a text to the budget, between words, or inside a word that alone is too long', () => {
		const long = words(600);
		const cut = cutToTokens(long, 512);
		expect(estimateTokens(cut)).toBeLessThanOrEqual(512);
		expect(cut.split(' ')).toHaveLength(510);
		expect(long.startsWith(cut)).toBe(true);
		expect(cutToTokens('short text', 512)).toBe('short text');
		const blob = 'a'.repeat(5000);
		expect(cutToTokens(blob, 10)).toBe('a'.repeat(32));
	});

	it('knows the context of the documented models, and gives an unknown one the same 512', () => {
		expect(contextOf('WhereIsAI/UAE-Large-V1')).toBe(512);
		expect(contextOf('someone/else')).toBe(512);
	});
});

describe('body and batches', () => {
	it('always asks for float vectors, and sends nothing else but model and input', () => {
		expect(embeddingsBody(MODEL, ['a'])).toEqual({ model: MODEL, input: ['a'], encoding_format: 'float' });
	});

	it('splits N texts into ceil(N/B) batches in order', () => {
		expect(batchesOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
		expect(batchesOf([1, 2], 32)).toEqual([[1, 2]]);
	});

	it('strips every kind of line break', () => {
		expect(stripNewLines('a\nb\r\nc\rd')).toBe('a b c d');
	});

	it('prepares texts: strip, truncate (and says which), or fail naming the text and its length', () => {
		const nameOf = (index: number) => `Text ${index}`;
		const long = words(600);
		const truncated = prepareTexts({ model: MODEL, texts: ['a\nb', long], settings: DEFAULT_EMBEDDING_SETTINGS, nameOf });
		expect(truncated.texts[0]).toBe('a b');
		expect(truncated.truncated).toEqual([1]);
		const kept = prepareTexts({ model: MODEL, texts: ['a\nb'], settings: { ...DEFAULT_EMBEDDING_SETTINGS, stripNewLines: false }, nameOf });
		expect(kept.texts).toEqual(['a\nb']);
		let caught: unknown;
		try {
			prepareTexts({ model: MODEL, texts: ['fine', long], settings: { ...DEFAULT_EMBEDDING_SETTINGS, tooLong: 'fail' }, nameOf });
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(InputError);
		expect((caught as InputError).message).toBe(`Text 1 is too long for ${MODEL}: at least 602 tokens (${long.length} characters), and the model takes 512`);
		expect((caught as InputError).description).toMatch(/Text Splitter/);
		expect(() => prepareTexts({ model: MODEL, texts: ['  '], settings: DEFAULT_EMBEDDING_SETTINGS, nameOf })).toThrow('Text 0 is empty');
		expect(() => prepareTexts({ model: MODEL, texts: [{ a: 1 }], settings: DEFAULT_EMBEDDING_SETTINGS, nameOf })).toThrow('Text 0 is not text but an object');
	});

	it('reads the two counts of vLLM\'s length refusal, and nothing from other errors', () => {
		const refusal = new NebulaBlockError({
			kind: 'http',
			status: 400,
			message: "This model's maximum context length is 512 tokens. However, you requested 700 tokens in the input for embedding generation.",
		});
		expect(lengthRefusal(refusal)).toEqual({ context: 512, requested: 700 });
		expect(lengthRefusal(new NebulaBlockError({ kind: 'http', status: 500, message: refusal.message }))).toBeUndefined();
		expect(lengthRefusal(new Error(refusal.message))).toBeUndefined();
	});
});

describe('readEmbeddings', () => {
	const entry = (index: number, embedding: unknown) => ({ object: 'embedding', index, embedding });

	it('puts the vectors in the order of their index, not of the list', () => {
		const answer = readEmbeddings({ data: [entry(1, [0, 1]), entry(0, [1, 0])], model: MODEL, usage: { prompt_tokens: 4, total_tokens: 4 } }, 2);
		expect(answer).toEqual({ vectors: [[1, 0], [0, 1]], model: MODEL, usage: { prompt_tokens: 4, total_tokens: 4 } });
	});

	it.each([
		['no list', { object: 'list' }, 2, /no list of vectors/],
		['too few', { data: [entry(0, [1])] }, 2, 'The service sent 1 vector for 2 texts'],
		['too many', { data: [entry(0, [1]), entry(1, [1])] }, 1, 'The service sent 2 vectors for 1 text'],
		['ragged', { data: [entry(0, [1, 0]), entry(1, [1])] }, 2, 'The vectors have different lengths: the vector of text 0 has 2 numbers, that of text 1 1'],
		['null', { data: [entry(0, [1, null])] }, 1, 'The vector of text 0 holds null at position 1, not a finite number'],
		['text', { data: [entry(0, ['0.5'])] }, 1, 'The vector of text 0 holds the text "0.5" at position 0, not a finite number'],
		['base64', { data: [entry(0, 'AACAPw==')] }, 1, /is a text \(base64\?\)/],
		['empty', { data: [entry(0, [])] }, 1, 'The vector of text 0 is empty, not a list of numbers'],
		['index twice', { data: [entry(0, [1]), entry(0, [1])] }, 2, 'The reply has two vectors with the index 0'],
		['index missing', { data: [{ embedding: [1] }] }, 1, /has the index undefined/],
	])('refuses %s, saying what the service sent', (_name, body, count, message) => {
		let caught: unknown;
		try {
			readEmbeddings(body, count as number, 'req-1');
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(NebulaBlockError);
		expect((caught as NebulaBlockError).kind).toBe('invalidResponse');
		expect((caught as NebulaBlockError).message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
		expect((caught as NebulaBlockError).requestId).toBe('req-1');
		expect((caught as NebulaBlockError).hint).toMatch(/nothing was embedded/);
	});
});

describe('the embeddings nodes\' model list', () => {
	it('shows only the embedding models, with their context', async () => {
		const fake = await startFakeNebula();
		try {
			const context = {
				getNode: () => packageNode('embeddingsNebulaBlock', 'Nebula Block Embeddings'),
				getCredentials: async () => ({ apiKey: fake.defaultKey, baseUrl: fake.url }),
			} as unknown as ILoadOptionsFunctions;
			const { results } = await searchEmbeddingModels.call(context);
			expect(results).toEqual([
				{ name: 'BAAI/bge-large-en-v1.5 (512-token context)', value: 'BAAI/bge-large-en-v1.5' },
				{ name: 'WhereIsAI/UAE-Large-V1 (512-token context)', value: 'WhereIsAI/UAE-Large-V1' },
			]);
			expect((await searchEmbeddingModels.call(context, 'uae')).results.map((item) => item.value)).toEqual(['WhereIsAI/UAE-Large-V1']);
		} finally {
			await closeDispatchers();
			await fake.close();
		}
	});
});

describe('inOrder (the batches of one call)', () => {
	const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

	it('runs at most `limit` at once, starts them in index order, and gives the results in index order', async () => {
		let running = 0;
		let most = 0;
		const started: number[] = [];
		const results = await inOrder(9, 3, async (index) => {
			started.push(index);
			running++;
			most = Math.max(most, running);
			// Later indexes finish first.
			for (let turn = 0; turn < 10 - index; turn++) await settle();
			running--;
			return index * 10;
		});
		expect(most).toBe(3);
		expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
		expect(results).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
	});

	it('after a failure starts nothing new, waits for the running ones, and throws the lowest failed index\'s error', async () => {
		const started: number[] = [];
		const finished: number[] = [];
		const call = inOrder(10, 3, async (index) => {
			started.push(index);
			// 2 fails at once, 1 fails later: 1's error is thrown whatever the timing.
			for (let turn = 0; turn < (index === 1 ? 5 : 1); turn++) await settle();
			finished.push(index);
			if (index === 1 || index === 2) throw new Error(`batch ${index}`);
			return index;
		});
		await expect(call).rejects.toThrow('batch 1');
		expect(started).toEqual([0, 1, 2, 3]);
		expect([...finished].sort()).toEqual([0, 1, 2, 3]);
	});
});
