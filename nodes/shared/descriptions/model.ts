import type { INodeProperties } from 'n8n-workflow';

/** The Model field every node shares: pick from the service's list, or type any model ID. */
export const modelLocator: INodeProperties = {
	displayName: 'Model',
	name: 'model',
	type: 'resourceLocator',
	default: { mode: 'list', value: '' },
	required: true,
	description: 'The model that generates the answer',
	modes: [
		{
			displayName: 'From List',
			name: 'list',
			type: 'list',
			placeholder: 'Select a model...',
			typeOptions: { searchListMethod: 'searchModels', searchable: true },
		},
		{
			displayName: 'By ID',
			name: 'id',
			type: 'string',
			placeholder: 'e.g. meta-llama/Llama-3.3-70B-Instruct',
			validation: [
				{
					type: 'regex',
					properties: { regex: '^\\S+$', errorMessage: 'A model ID has no spaces' },
				},
			],
		},
	],
};

/** The embeddings nodes' Model field: the service's embedding models, or any model ID. */
export const embeddingModelLocator: INodeProperties = {
	...modelLocator,
	default: { mode: 'list', value: 'BAAI/bge-large-en-v1.5' },
	description: 'The model that turns text into vectors. Use the same model to store texts and to search them.',
	modes: [
		{
			displayName: 'From List',
			name: 'list',
			type: 'list',
			placeholder: 'Select a model...',
			typeOptions: { searchListMethod: 'searchEmbeddingModels', searchable: true },
		},
		{
			displayName: 'By ID',
			name: 'id',
			type: 'string',
			placeholder: 'e.g. BAAI/bge-large-en-v1.5',
			validation: [
				{
					type: 'regex',
					properties: { regex: '^\\S+$', errorMessage: 'A model ID has no spaces' },
				},
			],
		},
	],
};
