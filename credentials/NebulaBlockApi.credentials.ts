import type {
	IAuthenticateGeneric,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

import { connectionTestRequest } from './connectionTest';

export class NebulaBlockApi implements ICredentialType {
	name = 'nebulaBlockApi';

	displayName = 'Nebula Block API';

	icon = { light: 'file:../icons/nebula.svg', dark: 'file:../icons/nebula.dark.svg' } as const;

	documentationUrl = 'https://docs.nebulablock.com/core-services/inference-models/serverless-models';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			description: 'The API key from the API Keys page of your Nebula Block account',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://inference.nebulablock.com/v1',
			description:
				'Where the OpenAI-compatible API lives (chat completions and the model list). Change it only for a proxy or a self-hosted compatible server.',
		},
		{
			displayName: 'Text Generate URL',
			name: 'textGenerateUrl',
			type: 'string',
			default: 'https://api.inference.nebulablock.com/v1',
			description: 'Where the Text Generate endpoint (/text/generate) lives',
		},
		// Stored as `ignoreSslIssues` (before 0.2: `allowUnauthorizedCerts`, still read: connection.ts).
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'ignoreSslIssues',
			type: 'boolean',
			default: false,
			description:
				'Whether to connect even if the TLS certificate cannot be verified, e.g. a self-hosted server with a self-signed certificate',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '=Bearer {{$credentials.apiKey}}',
			},
		},
	};

	// Main edition: none, so n8n runs the nodes' `nebulaBlockApiTest` method, which asks both list
	// endpoints of the service; the cloud edition has a request here (connectionTest.cloud.ts).
	test?: ICredentialTestRequest = connectionTestRequest;
}
