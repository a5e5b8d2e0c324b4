import type { INodeType, INodeTypeDescription, ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { modelLocator } from '../shared/descriptions/model';
import { searchModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { supplyChatModel } from '../shared/model/supply';
import { optionsCollection } from '../shared/options/collection';

export class LmChatNebulaBlock implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Nebula Block Chat Model',
		name: 'lmChatNebulaBlock',
		icon: { light: 'file:../../icons/nebula.svg', dark: 'file:../../icons/nebula.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["model"].value }}',
		description: 'Use Nebula Block serverless models in the AI Agent and LLM chains',
		defaults: { name: 'Nebula Block Chat Model' },
		// A sub-node: no main input, and its one output is the model the AI Agent or chain takes.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.AiLanguageModel],
		outputNames: ['Model'],
		// The literal, not CREDENTIAL_TYPE: n8n's lint (credential-test-required) reads it to see the credential is tested.
		credentials: [{ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' }],
		properties: [
			{
				displayName:
					'Connect this model to the Model input of an AI Agent or an LLM chain. <a data-action="openSelectiveNodeCreator" data-action-parameter-connectiontype="ai_chain,ai_agent">Add one</a>',
				name: 'notice',
				type: 'notice',
				default: '',
				// n8n hides a notice with this class while the node is connected, as on its own model nodes.
				typeOptions: { containerClass: 'ndv-connection-hint-notice' },
			},
			{
				displayName:
					'With Response Format set to JSON Object, say "JSON" in the prompt of the chain or agent too; some models need it',
				name: 'jsonNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { '/options.responseFormat': ['json_object'] } },
			},
			modelLocator,
			optionsCollection('chatModel'),
		],
	};

	methods = { listSearch: { searchModels }, credentialTest: { nebulaBlockApiTest } };

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		return await supplyChatModel(this, itemIndex);
	}
}
