/**
 * The Embeddings sub-node's two calls, the only ones n8n's vector stores make on an ai_embedding
 * input: `embedDocuments(texts)` and `embedQuery(text)`. Both editions build them here; they
 * differ only in how the calls are logged on the sub-node (supply.ts, supply.cloud.ts).
 */
import type { AiEvent, IDataObject, INode, ISupplyDataFunctions } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { readConnection } from '../connection';
import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import { policyFromOptions } from '../policy';
import type { Connection, RequestPolicy } from '../transport/client';
import { toNodeError } from '../transport/errors';
import { embedTexts, type EmbeddingSettings } from './embed';
import { embeddingSettings } from './settings';

export interface EmbeddingCalls {
	embedDocuments(texts: string[]): Promise<number[][]>;
	embedQuery(text: string): Promise<number[]>;
}

export interface EmbeddingsSetup {
	connection: Connection;
	model: string;
	settings: EmbeddingSettings;
	policy: RequestPolicy;
}

/**
 * The sub-node's form, read once when a vector store asks for it. Its requests always go through
 * the limiter of the API key and origin (as the Chat Model's do) and stop with the execution.
 */
export async function embeddingsSetup(context: ISupplyDataFunctions, itemIndex: number): Promise<EmbeddingsSetup> {
	const connection = await readConnection(context);
	const model = readModelId(context, itemIndex);
	const options = readOptions(context, itemIndex, 'embeddings');
	const signal = context.getExecutionCancelSignal?.() ?? new AbortController().signal;
	return { connection, model, settings: embeddingSettings(options), policy: policyFromOptions(options, { signal, adaptive: true }) };
}

/** The two calls; what fails becomes an n8n error of this node (NodeApiError from the service, NodeOperationError for input). */
export function embeddingCalls(node: INode, setup: EmbeddingsSetup, itemIndex: number): EmbeddingCalls {
	const embed = async (texts: unknown[], nameOf: (index: number) => string): Promise<number[][]> => {
		const outcome = await embedTexts({ ...setup, texts, nameOf }).then(
			(embedded) => ({ ok: true as const, vectors: embedded.vectors }),
			(error: unknown) => ({ ok: false as const, error }),
		);
		if (!outcome.ok) throw toNodeError(node, outcome.error, itemIndex);
		return outcome.vectors;
	};
	return {
		async embedDocuments(texts) {
			if (!Array.isArray(texts)) {
				throw new NodeOperationError(node, 'The texts to embed are not a list', {
					itemIndex,
					description: 'The node connected to these embeddings gave something other than a list of texts.',
				});
			}
			if (texts.length === 0) return [];
			return await embed(texts, (index) => `Text ${index} of the ${texts.length} to embed`);
		},
		async embedQuery(text) {
			const [vector] = await embed([text], () => 'The query to embed');
			return vector;
		},
	};
}

/**
 * The calls as a plain object that shows each call on the sub-node as n8n's logWrapper does: its
 * texts as input, its vectors (or its error) as output, and n8n's AI event.
 */
export function selfLoggingEmbeddings(context: ISupplyDataFunctions, calls: EmbeddingCalls): EmbeddingCalls {
	return {
		async embedDocuments(documents) {
			return await logged(context, { documents }, 'ai-document-embedded', async () => await calls.embedDocuments(documents));
		},
		async embedQuery(query) {
			return await logged(context, { query }, 'ai-query-embedded', async () => await calls.embedQuery(query));
		},
	};
}

async function logged<T>(context: ISupplyDataFunctions, input: IDataObject, event: AiEvent, call: () => Promise<T>): Promise<T> {
	const { index } = context.addInputData(NodeConnectionTypes.AiEmbedding, [[{ json: input }]]);
	const outcome = await call().then(
		(response) => ({ ok: true as const, response }),
		(error: unknown) => ({ ok: false as const, error: error as NodeOperationError }),
	);
	if (!outcome.ok) {
		context.addOutputData(NodeConnectionTypes.AiEmbedding, index, outcome.error);
		throw outcome.error;
	}
	context.logAiEvent(event);
	context.addOutputData(NodeConnectionTypes.AiEmbedding, index, [[{ json: { response: outcome.response as unknown as IDataObject } }]]);
	return outcome.response;
}
