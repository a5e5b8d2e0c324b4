import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { embeddingModelLocator } from '../shared/descriptions/model';
import { embedOperation } from '../shared/embeddings/operation';
import { searchEmbeddingModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { optionsCollection } from '../shared/options/collection';
import { runItems } from '../shared/runner';

export class NebulaBlockEmbed implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Nebula Block Embed',
		name: 'nebulaBlockEmbed',
		icon: { light: 'file:../../icons/nebula.svg', dark: 'file:../../icons/nebula.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["model"].value }}',
		description: 'Turn the text of each item into a vector with Nebula Block embedding models',
		defaults: { name: 'Nebula Block Embed' },
		usableAsTool: true,
		// NodeConnectionTypes.Main, as n8n's current rule (node-connection-type-literal) asks; n8n-nodes-base
		// 1.15.0 predates it and still asks for the 'main' literal.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [NodeConnectionTypes.Main],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.Main],
		// The literal, not CREDENTIAL_TYPE: n8n's lint (credential-test-required) reads it to see the credential is tested.
		credentials: [{ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Embed Text',
						value: 'embedText',
						action: 'Embed text',
						description: 'Turn the text of each item into a vector (a list of numbers) stored on the item',
					},
				],
				default: 'embedText',
			},
			embeddingModelLocator,
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 2 },
				required: true,
				default: '={{ $json.text }}',
				description: 'The text to embed, one per item',
			},
			optionsCollection('embed'),
		],
	};

	methods = { listSearch: { searchEmbeddingModels }, credentialTest: { nebulaBlockApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, embedOperation);
	}
}
