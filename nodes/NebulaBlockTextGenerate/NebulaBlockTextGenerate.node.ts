import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { CREDENTIAL_TYPE } from '../shared/connection';
import { modelLocator } from '../shared/descriptions/model';
import {
	batchDelayOption,
	concurrencyOption,
	enableStreamingOption,
	maxRetriesOption,
	maxTokensOption,
	simplifyParameter,
	stopOption,
	streamOption,
	temperatureOption,
	timeoutOption,
	topPOption,
} from '../shared/descriptions/options';
import { searchModels } from '../shared/methods/searchModels';
import { nebulaBlockApiTest } from '../shared/methods/testCredential';
import { runItems } from '../shared/runner';
import { TEXT_GENERATE_DEFAULTS } from '../shared/text/body';
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
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: CREDENTIAL_TYPE, required: true, testedBy: 'nebulaBlockApiTest' }],
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
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					concurrencyOption,
					batchDelayOption,
					enableStreamingOption,
					maxRetriesOption,
					{ ...maxTokensOption, default: TEXT_GENERATE_DEFAULTS.maxTokens },
					stopOption,
					{ ...streamOption, default: TEXT_GENERATE_DEFAULTS.stream },
					{ ...temperatureOption, default: TEXT_GENERATE_DEFAULTS.temperature },
					timeoutOption,
					{ ...topPOption, default: TEXT_GENERATE_DEFAULTS.topP },
				],
			},
		],
	};

	methods = { listSearch: { searchModels }, credentialTest: { nebulaBlockApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runItems(this, textGenerateOperation);
	}
}
