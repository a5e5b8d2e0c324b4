import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatOperation } from '../shared/chat/operation';
import { CREDENTIAL_TYPE } from '../shared/connection';
import { modelLocator } from '../shared/descriptions/model';
import { simplifyParameter } from '../shared/descriptions/options';
import { searchModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { runItems } from '../shared/runner';
import { messageFields } from './description/messages';
import { chatOptions } from './description/options';

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
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: CREDENTIAL_TYPE, required: true, testedBy: 'nebulaBlockApiTest' }],
		properties: [modelLocator, ...messageFields, simplifyParameter, chatOptions],
	};

	methods = { listSearch: { searchModels }, credentialTest: { nebulaBlockApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, chatOperation);
	}
}
