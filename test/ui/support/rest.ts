/**
 * The two REST calls the editor makes for these nodes, sent the way the editor sends them
 * (payloads captured from n8n 2.8.4; see /work/shared/notes/n8n-editor-and-rest.md).
 */
import type { RestSession } from '../../../scripts/n8n-runtime';
import { BLANKED_SECRET, CREDENTIAL_TYPE, type SavedCredential } from './sandbox';

export interface CredentialTestResult {
	httpStatus: number;
	status?: 'OK' | 'Error';
	message?: string;
}

/**
 * "Test" in the credential dialog. The id must name a saved credential; the data sent wins over
 * the stored data, except that the blanked key stands for the stored one.
 */
export async function testCredential(session: RestSession, credential: SavedCredential, apiKey = BLANKED_SECRET): Promise<CredentialTestResult> {
	const response = await session.post('/rest/credentials/test', {
		credentials: { id: credential.id, name: credential.name, type: CREDENTIAL_TYPE, data: { ...credential.data, apiKey } },
	});
	return { httpStatus: response.status, status: response.body?.data?.status, message: response.body?.data?.message };
}

export interface ModelListResult {
	httpStatus: number;
	results?: Array<{ name: string; value: string }>;
	/** n8n's error message when the list method threw. */
	message?: string;
	raw: unknown;
}

/** Model "From list" of a node: its listSearch method (`searchModels`, or `searchEmbeddingModels`) through n8n. */
export async function listModels(
	session: RestSession,
	nodeType: string,
	credential: SavedCredential,
	filter?: string,
	methodName = 'searchModels',
): Promise<ModelListResult> {
	const response = await session.post('/rest/dynamic-node-parameters/resource-locator-results', {
		nodeTypeAndVersion: { name: nodeType, version: 1 },
		path: 'parameters.model',
		methodName,
		currentNodeParameters: { model: { __rl: true, mode: 'list', value: '' } },
		credentials: { [CREDENTIAL_TYPE]: { id: credential.id, name: credential.name } },
		...(filter === undefined ? {} : { filter }),
	});
	return {
		httpStatus: response.status,
		results: response.body?.data?.results,
		message: typeof response.body?.message === 'string' ? response.body.message : undefined,
		raw: response.body,
	};
}
