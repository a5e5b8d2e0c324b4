import type { INodeType, INodeTypeDescription, ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { embeddingModelLocator } from '../shared/descriptions/model';
import { supplyEmbeddings } from '../shared/embeddings/supply';
import { searchEmbeddingModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { optionsCollection } from '../shared/options/collection';

export class EmbeddingsNebulaBlock implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Nebula Block Embeddings',
		name: 'embeddingsNebulaBlock',
		icon: { light: 'file:../../icons/nebula.svg', dark: 'file:../../icons/nebula.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["model"].value }}',
		description: 'Turn texts into vectors with Nebula Block embedding models, for vector stores',
		defaults: { name: 'Nebula Block Embeddings' },
		// A sub-node: no main input, and its one output is the embeddings a vector store takes.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.AiEmbedding],
		outputNames: ['Embeddings'],
		// The literal, not CREDENTIAL_TYPE: n8n's lint (credential-test-required) reads it to see the credential is tested.
		credentials: [{ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' }],
		properties: [
			{
				displayName:
					'Connect these embeddings to the Embedding input of a vector store. <a data-action="openSelectiveNodeCreator" data-action-parameter-connectiontype="ai_vectorStore">Add one</a>',
				name: 'notice',
				type: 'notice',
				default: '',
				// n8n hides a notice with this class while the node is connected, as on its own embeddings nodes.
				typeOptions: { containerClass: 'ndv-connection-hint-notice' },
			},
			embeddingModelLocator,
			optionsCollection('embeddings'),
		],
	};

	methods = { listSearch: { searchEmbeddingModels }, credentialTest: { nebulaBlockApiTest } };

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		return await supplyEmbeddings(this, itemIndex);
	}
}
