import type { ICredentialTestRequest } from 'n8n-workflow';

/**
 * The credential's own test request. None in the main edition: n8n then runs the nodes'
 * `nebulaBlockApiTest` method (nodes/shared/methods/testCredential.ts), which asks both of the
 * service's model lists, as the Model field does; one request could ask only one.
 */
export const connectionTestRequest: ICredentialTestRequest | undefined = undefined;
