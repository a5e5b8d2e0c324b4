/**
 * The fake server's POST /v1/embeddings, with plain fetch (never the package's transport): meaningful
 * deterministic vectors, the vLLM-like refusals, and each scripted fault.
 */
import { EMBEDDING_DIMENSIONS, fakeEmbedding, startFakeNebula, type EmbeddingFault, type FakeNebula } from '../support/fake-nebula';
import { cosine } from './workflows';

const MODEL = 'BAAI/bge-large-en-v1.5';
let fake: FakeNebula;

beforeAll(async () => {
	fake = await startFakeNebula();
});

afterAll(async () => {
	await fake.close();
});

async function embed(body: Record<string, unknown>, key = fake.defaultKey): Promise<{ status: number; text: string; json: any }> {
	const response = await fetch(`${fake.url}/embeddings`, {
		method: 'POST',
		headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	const text = await response.text();
	let json: any;
	try {
		json = JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: response.status, text, json };
}

describe('fake POST /v1/embeddings', () => {
	it('answers one normalised 1024-number vector per input, in the OpenAI shape, the same for the same text', async () => {
		const { status, json } = await embed({ model: MODEL, input: ['The cat sat on the mat', 'A dog barked'] });
		expect(status).toBe(200);
		expect(json).toMatchObject({ object: 'list', model: MODEL, usage: { prompt_tokens: 6 + 2 + 3 + 2, total_tokens: 13 } });
		expect(json.data.map((entry: any) => [entry.object, entry.index, entry.embedding.length])).toEqual([
			['embedding', 0, EMBEDDING_DIMENSIONS],
			['embedding', 1, EMBEDDING_DIMENSIONS],
		]);
		expect(Math.hypot(...json.data[0].embedding)).toBeCloseTo(1, 10);
		expect(json.data[0].embedding).toEqual(fakeEmbedding('the CAT sat on the mat!'));
	});

	it('texts that share words are nearer than texts that do not', () => {
		const query = fakeEmbedding('where did the cat sit');
		expect(cosine(query, fakeEmbedding('The cat sat on the mat'))).toBeGreaterThan(cosine(query, fakeEmbedding('Stock markets fell sharply')));
	});

	it('takes a single string as input too', async () => {
		const { json } = await embed({ model: MODEL, input: 'one text' });
		expect(json.data).toHaveLength(1);
	});

	it('refuses an input longer than the 512-token context with vLLM\'s words', async () => {
		const { status, json } = await embed({ model: MODEL, input: ['short', Array.from({ length: 600 }, () => 'word').join(' ')] });
		expect(status).toBe(400);
		expect(json.error.message).toBe(
			"This model's maximum context length is 512 tokens. However, you requested 602 tokens in the input for embedding generation. Please reduce the length of the input.",
		);
	});

	it('honours encoding_format base64 (little-endian float32), refuses other formats and dimensions', async () => {
		const { json } = await embed({ model: MODEL, input: ['hello'], encoding_format: 'base64' });
		const bytes = Buffer.from(json.data[0].embedding as string, 'base64');
		const floats = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
		expect(floats).toEqual(Array.from(new Float32Array(fakeEmbedding('hello'))));
		expect((await embed({ model: MODEL, input: ['hello'], encoding_format: 'int8' })).status).toBe(400);
		const dimensions = await embed({ model: MODEL, input: ['hello'], dimensions: 256 });
		expect(dimensions.status).toBe(400);
		expect(dimensions.json.error.message).toMatch(/does not support matryoshka representation/);
	});

	it('refuses a chat model, an unknown model and an input that is not text', async () => {
		expect((await embed({ model: 'meta-llama/Llama-3.3-70B-Instruct', input: ['x'] })).status).toBe(400);
		expect((await embed({ model: 'nobody/nothing', input: ['x'] })).status).toBe(404);
		expect((await embed({ model: MODEL, input: [] })).status).toBe(400);
		expect((await embed({ model: MODEL, input: [1, 2] })).status).toBe(400);
	});

	it.each<[EmbeddingFault, (json: any, text: string) => void]>([
		['count', (json) => expect(json.data).toHaveLength(2)],
		['ragged', (json) => expect(json.data.map((entry: any) => entry.embedding.length)).toEqual([1024, 1024, 512])],
		['null', (json) => expect(json.data[0].embedding[3]).toBeNull()],
		['string', (json) => expect(json.data[0].embedding[3]).toBe('0.5')],
		['nan', (json, text) => expect([json, text]).toEqual([undefined, expect.stringContaining(',NaN,')])],
		['shuffled', (json) => expect(json.data.map((entry: any) => entry.index)).toEqual([2, 1, 0])],
	])('fault %s (a scripted step, one request)', async (fault, check) => {
		const key = fake.newKey(`fault-${fault}`);
		fake.script(key, { kind: 'embeddingFault', fault });
		const { status, text, json } = await embed({ model: MODEL, input: ['a', 'b', 'c'] }, key);
		expect(status).toBe(200);
		check(json, text);
		// The next request is answered well again.
		expect((await embed({ model: MODEL, input: ['a', 'b', 'c'] }, key)).json.data).toHaveLength(3);
	});

	it('lists both embedding models with model_type Embedding in the serverless list, none in the OpenAI list', async () => {
		const headers = { authorization: `Bearer ${fake.defaultKey}` };
		const serverless = (await (await fetch(`${fake.url}/serverless/models`, { headers })).json()) as any;
		const embeddingModels = serverless.data.models.filter((model: any) => model.model_type === 'Embedding');
		expect(embeddingModels.map((model: any) => [model.model_name, model.context_length])).toEqual([
			['BAAI/bge-large-en-v1.5', 512],
			['WhereIsAI/UAE-Large-V1', 512],
		]);
		const openai = (await (await fetch(`${fake.url}/models`, { headers })).json()) as any;
		expect(openai.data.map((model: any) => model.id)).not.toContain(MODEL);
	});
});
