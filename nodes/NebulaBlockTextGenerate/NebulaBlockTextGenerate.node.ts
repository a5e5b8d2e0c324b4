import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { modelLocator } from '../shared/descriptions/model';
import { simplifyParameter } from '../shared/descriptions/simplify';
import { searchModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { optionsCollection } from '../shared/options/collection';
import { runItems } from '../shared/runner';
import { textGenerateOperation } from '../shared/text/operation';

export class NebulaBlockTextGenerate implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Nebula Block Text Generate',
		name: 'nebulaBlockTextGenerate',
		icon: { light: 'file:../../icons/nebula.svg', dark: 'file:../../icons/nebula.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["model"].value }}',
		description: 'Generate text from a prompt with Nebula Block serverless models',
		defaults: { name: 'Nebula Block Text Generate' },
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
			modelLocator,
			{
				displayName: 'Prompt',
				name: 'prompt',
				type: 'string',
				typeOptions: { rows: 4 },
				required: true,
				default: '',
				placeholder: 'e.g. Write a hello world program in Python',
				description: 'The text the model answers or continues',
			},
			{
				displayName: 'Endpoint',
				name: 'endpoint',
				type: 'options',
				options: [
					{
						name: 'Text Generate',
						value: 'textGenerate',
						description: 'POST {Text Generate URL}/text/generate, as the credential sets it',
					},
					{
						name: 'Chat Completions',
						value: 'chatCompletions',
						description:
							'The prompt as one user message to {Base URL}/chat/completions, for services that only offer chat',
					},
				],
				default: 'textGenerate',
				description: 'Which API of the service answers the prompt. The output has the same shape either way.',
			},
			simplifyParameter,
			optionsCollection('textGenerate'),
		],
	};

	methods = { listSearch: { searchModels }, credentialTest: { nebulaBlockApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, textGenerateOperation);
	}
}
