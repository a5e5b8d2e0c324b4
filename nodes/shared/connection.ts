import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	ISupplyDataFunctions,
} from 'n8n-workflow';

import type { Connection } from './transport/client';

export const CREDENTIAL_TYPE = 'nebulaBlockApi';
export const DEFAULT_BASE_URL = 'https://inference.nebulablock.com/v1';
export const DEFAULT_TEXT_GENERATE_URL = 'https://api.inference.nebulablock.com/v1';

/** The credential as the transport needs it, plus the Text Generate endpoint's own base URL. */
export interface NebulaConnection extends Connection {
	textGenerateUrl: string;
}

type NodeContext = IExecuteFunctions | ILoadOptionsFunctions | ISupplyDataFunctions;

export async function readConnection(context: NodeContext): Promise<NebulaConnection> {
	const connection = connectionFromCredential(await context.getCredentials(CREDENTIAL_TYPE));
	connection.http = async (options) => await context.helpers.httpRequestWithAuthentication.call(context, CREDENTIAL_TYPE, options);
	return connection;
}

/** The credential's fields, with the defaults a credential saved before a field existed lacks. */
export function connectionFromCredential(credentials: ICredentialDataDecryptedObject): NebulaConnection {
	return {
		apiKey: String(credentials.apiKey ?? ''),
		baseUrl: String(credentials.baseUrl || DEFAULT_BASE_URL),
		textGenerateUrl: String(credentials.textGenerateUrl || DEFAULT_TEXT_GENERATE_URL),
		// `allowUnauthorizedCerts` is what credentials saved before the field was renamed hold.
		allowUnauthorizedCerts: credentials.ignoreSslIssues === true || credentials.allowUnauthorizedCerts === true,
	};
}
