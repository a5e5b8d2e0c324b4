import type { ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readConnection } from '../connection';
import { listEmbeddingModels, listFailureFix, listTextModels, type ModelInfo, type ModelListing } from './listModels';

/** The "From List" search of the Model field. */
export async function searchModels(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	return searchIn(this, await listTextModels(await readConnection(this)), filter, 'meta-llama/Llama-3.3-70B-Instruct');
}

/** The "From List" search of the embeddings nodes' Model field: the models of type Embedding only. */
export async function searchEmbeddingModels(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	return searchIn(this, await listEmbeddingModels(await readConnection(this)), filter, 'BAAI/bge-large-en-v1.5');
}

function searchIn(context: ILoadOptionsFunctions, listing: ModelListing, filter: string | undefined, example: string): INodeListSearchResult {
	if (!listing.ok) {
		const reason = listing.failure.message.replace(/[.\s]+$/, '');
		// The editor shows only the message of a failed list search, so the way out goes there too.
		const message = `Could not load the model list: ${reason}. ${listFailureFix(listing.failure)}, or switch Model to "By ID" and type the model ID.`;
		const error = new NodeOperationError(context.getNode(), message, {
			description: `A model ID looks like ${example}.`,
		});
		// n8n swaps a message that mentions a socket error code (ECONNREFUSED...) for a generic
		// sentence, which would drop the way out; keep ours.
		error.message = message;
		throw error;
	}
	const needle = filter?.trim().toLowerCase();
	const results: INodeListSearchItems[] = listing.models
		.filter((model) => !needle || model.id.toLowerCase().includes(needle))
		.map((model) => ({ name: displayName(model), value: model.id }));
	return { results };
}

function displayName(model: ModelInfo): string {
	const notes: string[] = [];
	if (model.contextLength) notes.push(model.contextLength < 1024 ? `${model.contextLength}-token context` : `${Math.round(model.contextLength / 1024)}K context`);
	// Only when the service's list says so: nothing is guessed from the name.
	if (model.takesImages) notes.push('takes images');
	return notes.length === 0 ? model.id : `${model.id} (${notes.join(', ')})`;
}
