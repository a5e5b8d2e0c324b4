/**
 * The Embeddings sub-node in n8n-core's engine: connected to the harness's vector store stand-in
 * (EMBEDDINGS_CONSUMER_TYPE), which gets it through getInputConnectionData, so supplyData runs as
 * n8n runs it for a vector store, and calls embedDocuments or embedQuery. `npm run build` first.
 */
import type { IDataObject, INode, INodeParameters } from 'n8n-workflow';

import type { FakeNebula } from '../support/fake-nebula';
import { EMBEDDINGS_CONSUMER_TYPE, runNode, runWorkflow } from '../support/n8n-harness';

export const EMBEDDINGS_NODE = 'Nebula Block Embeddings';
export const CONSUMER_NODE = 'Vector Store';
export const EMBEDDING_MODEL = 'BAAI/bge-large-en-v1.5';

export interface EmbeddingsRun {
	apiKey: string;
	/** Each becomes one input item; the stand-in embeds them with one embedDocuments call. */
	texts?: unknown[];
	/** Each becomes one input item; the stand-in calls embedQuery once per item. */
	queries?: unknown[];
	options?: INodeParameters;
	model?: string;
	signal?: AbortSignal;
}

export async function runEmbeddings(fake: FakeNebula, run: EmbeddingsRun) {
	const query = run.queries !== undefined;
	const consumer: INode = {
		id: 'consumer-node',
		name: CONSUMER_NODE,
		type: EMBEDDINGS_CONSUMER_TYPE,
		typeVersion: 1,
		position: [400, 0],
		parameters: { mode: query ? 'query' : 'documents' },
	};
	const embeddings: INode = {
		id: 'embeddings-node',
		name: EMBEDDINGS_NODE,
		type: 'n8n-nodes-nebula-block.embeddingsNebulaBlock',
		typeVersion: 1,
		position: [400, 200],
		parameters: { model: { __rl: true, mode: 'id', value: run.model ?? EMBEDDING_MODEL }, options: run.options ?? {} },
	};
	const inputItems: IDataObject[] = query
		? (run.queries ?? []).map((value) => ({ query: value }) as IDataObject)
		: (run.texts ?? []).map((value) => ({ text: value }) as IDataObject);
	const result = await runWorkflow({
		nodes: [consumer, embeddings],
		connections: {
			Start: { main: [[{ node: CONSUMER_NODE, type: 'main', index: 0 }]] },
			[EMBEDDINGS_NODE]: { ai_embedding: [[{ node: CONSUMER_NODE, type: 'ai_embedding', index: 0 }]] },
		},
		credentials: { nebulaBlockApi: { apiKey: run.apiKey, baseUrl: fake.url } },
		inputItems,
		signal: run.signal,
	});
	return { result, items: result.outputs[CONSUMER_NODE]?.[0] ?? [], error: result.error, requests: fake.requests(run.apiKey) };
}

/** The Embed node on these items (one `text` each, unless given whole items). */
export async function runEmbedNode(
	fake: FakeNebula,
	apiKey: string,
	inputItems: IDataObject[],
	options: INodeParameters = {},
	extra: { text?: string; continueOnFail?: boolean; model?: string } = {},
) {
	const outcome = await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockEmbed',
		parameters: {
			operation: 'embedText',
			model: { __rl: true, mode: 'id', value: extra.model ?? EMBEDDING_MODEL },
			text: extra.text ?? '={{ $json.text }}',
			options,
		},
		credentials: { nebulaBlockApi: { apiKey, baseUrl: fake.url } },
		inputItems,
		continueOnFail: extra.continueOnFail,
	});
	return { ...outcome, requests: fake.requests(apiKey) };
}

export function cosine(a: number[], b: number[]): number {
	let dot = 0;
	let normA = 0;
	let normB = 0;
	for (let i = 0; i < a.length; i++) {
		dot += a[i] * b[i];
		normA += a[i] * a[i];
		normB += b[i] * b[i];
	}
	return dot / Math.sqrt(normA * normB);
}

/** The Chat Completion node (Concurrency Mode Auto, its default), one item: the other user of the API key's limiter. */
export async function runChatNode(fake: FakeNebula, apiKey: string, question: string) {
	return await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		parameters: {
			model: { __rl: true, mode: 'id', value: 'fake/chat-model' },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: question }] },
			options: { stream: false },
		},
		credentials: { nebulaBlockApi: { apiKey, baseUrl: fake.url } },
		inputItems: [{}],
	});
}
