import type { ICredentialTestRequest } from 'n8n-workflow';

/**
 * The cloud edition's connection test: one authenticated request to the OpenAI-compatible model
 * list. The main edition's node method cannot run here: n8n gives a credential test only its
 * deprecated `request` helper for HTTP, which the Cloud rules refuse. n8n runs a credential's own
 * test request in place of any node method.
 */
export const connectionTestRequest: ICredentialTestRequest | undefined = {
	request: {
		baseURL: '={{$credentials.baseUrl}}',
		url: '/models',
		// n8n resolves the expression to the credential's boolean before it sends the request.
		skipSslCertificateValidation: '={{$credentials.ignoreSslIssues}}' as unknown as boolean,
	},
};
