import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

import { connectionFromCredential } from '../connection';
import { listFailureFix, listTextModels } from './listModels';

/**
 * The credential's connection test, run by n8n when the credential is saved or retested.
 * A node method rather than the credential's own test request, because one request can ask only
 * one list endpoint, and the service may offer either of two: this asks both, as the Model list does,
 * and spends no tokens.
 */
export async function nebulaBlockApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const listing = await listTextModels(connectionFromCredential(credential.data ?? {}));
	if (listing.ok) {
		return { status: 'OK', message: `Connection successful: ${listing.models.length} text models available` };
	}
	const reason = listing.failure.message.replace(/[.\s]+$/, '');
	return { status: 'Error', message: `${reason}. ${listFailureFix(listing.failure)}.` };
}
