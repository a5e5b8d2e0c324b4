import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';

import { embeddingCalls, embeddingsSetup, selfLoggingEmbeddings } from './calls';

/**
 * The Embeddings sub-node's supplyData (cloud edition, in place of supply.ts): a plain object with
 * the two calls vector stores make, which logs its own calls on the sub-node. No LangChain and no
 * module lookup: n8n's vector stores check no class, so this works on any n8n with ai_embedding.
 */
export async function supplyEmbeddings(context: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
	const calls = embeddingCalls(context.getNode(), await embeddingsSetup(context, itemIndex), itemIndex);
	return { response: selfLoggingEmbeddings(context, calls) };
}
