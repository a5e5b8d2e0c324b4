import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';

import { loadAiSdk, loadEmbeddingsParts, type EmbeddingsBase, type EmbeddingsParts } from '../model/aiSdk';
import { embeddingCalls, embeddingsSetup, selfLoggingEmbeddings, type EmbeddingCalls } from './calls';

/**
 * The Embeddings sub-node's supplyData (main edition): an instance of LangChain's Embeddings class,
 * the one n8n's own logWrapper knows, wrapped by that logWrapper so each call shows on the sub-node
 * like n8n's own embeddings. Both are found in n8n's install at run time (model/aiSdk.ts), never
 * imported. Where they cannot be found, a plain object that logs its own calls: vector stores call
 * only embedDocuments and embedQuery and check no class.
 */
export async function supplyEmbeddings(context: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
	const calls = embeddingCalls(context.getNode(), await embeddingsSetup(context, itemIndex), itemIndex);
	const parts = findEmbeddingsParts(context);
	if (parts === undefined) return { response: selfLoggingEmbeddings(context, calls) };
	const NebulaBlockEmbeddings = langChainEmbeddings(parts.Embeddings);
	return { response: parts.logWrapper(new NebulaBlockEmbeddings(calls), context) };
}

function findEmbeddingsParts(context: ISupplyDataFunctions): EmbeddingsParts | undefined {
	try {
		return loadEmbeddingsParts(loadAiSdk());
	} catch (error) {
		// The embeddings work the same without them; only n8n's own logging of the calls is missing.
		context.logger.debug(`Nebula Block Embeddings: n8n's LangChain Embeddings not found, the node logs its own calls (${(error as Error).message})`);
		return undefined;
	}
}

/**
 * A subclass of n8n's LangChain Embeddings that makes the two calls. LangChain's own retries and
 * concurrency are off (`maxRetries: 0`, one at a time): the transport retries, and the limiter
 * paces. Built at run time, since the class it extends is found at run time.
 */
export function langChainEmbeddings(Base: EmbeddingsBase): new (calls: EmbeddingCalls) => EmbeddingCalls {
	return class NebulaBlockEmbeddings extends (Base as unknown as new (params: Record<string, unknown>) => object) implements EmbeddingCalls {
		private readonly calls: EmbeddingCalls;

		constructor(calls: EmbeddingCalls) {
			super({ maxRetries: 0, maxConcurrency: 1 });
			this.calls = calls;
		}

		async embedDocuments(texts: string[]): Promise<number[][]> {
			return await this.calls.embedDocuments(texts);
		}

		async embedQuery(text: string): Promise<number[]> {
			return await this.calls.embedQuery(text);
		}
	};
}
