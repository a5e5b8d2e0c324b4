import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { chatOperation } from '../shared/chat/operation';
import { modelLocator } from '../shared/descriptions/model';
import { simplifyParameter } from '../shared/descriptions/simplify';
import { searchModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { optionsCollection } from '../shared/options/collection';
import { runItems } from '../shared/runner';
import { messageFields } from './description/messages';

export class NebulaBlockChat implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Nebula Block Chat Completion',
		name: 'nebulaBlockChat',
		icon: { light: 'file:../../icons/nebula.svg', dark: 'file:../../icons/nebula.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["model"].value }}',
		description: 'Chat with Nebula Block serverless models (DeepSeek, Llama, Qwen) through the OpenAI-compatible API',
		defaults: { name: 'Nebula Block Chat Completion' },
		usableAsTool: true,
		// NodeConnectionTypes.Main, as n8n's current rule (node-connection-type-literal) asks; n8n-nodes-base
		// 1.15.0 predates it and still asks for the 'main' literal.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [NodeConnectionTypes.Main],
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.Main],
		// The literal, not CREDENTIAL_TYPE: n8n's lint (credential-test-required) reads it to see the credential is tested.
		credentials: [{ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' }],
		properties: [modelLocator, ...messageFields, simplifyParameter, optionsCollection('chatCompletion')],
	};

	methods = { listSearch: { searchModels }, credentialTest: { nebulaBlockApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, chatOperation);
	}
}
