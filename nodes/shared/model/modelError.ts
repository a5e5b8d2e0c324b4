import type { INode } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { ModelRequestFailed, httpFailure, networkFailure, timeoutFailure, toNodeError, type NebulaBlockError } from '../transport/errors';

/** What the OpenAI client throws (APIError and its kin), as far as it is read here. */
interface ClientError {
	name?: string;
	message?: string;
	status?: unknown;
	/** The `error` member of the response body. */
	error?: unknown;
	requestID?: string | null;
	cause?: unknown;
}

/**
 * The model's failed-attempt hook. With LangChain's retries off (see `chatModelSetup`) every
 * call it sees is final, so it turns the client's error into the package's one kind of node
 * error: the service's words, a hint, the request ID, never the key. A cancelled execution
 * is left to n8n's own handling.
 */
export function failedAttemptHandler(node: INode, apiKey: string, itemIndex: number): (error: unknown) => void {
	return (error: unknown) => {
		if (isAbort(error)) return;
		throw modelError(node, error, apiKey, itemIndex);
	};
}

export function modelError(node: INode, error: unknown, apiKey: string, itemIndex: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	return toNodeError(node, nebulaError(error as ClientError, apiKey), itemIndex);
}

function nebulaError(error: ClientError, apiKey: string): NebulaBlockError {
	// What the package's own retry engine gave up with (modelFetch.ts), wrapped by the client.
	const ours = ownFailure(error);
	if (ours) return ours;
	const secrets = [apiKey];
	if (typeof error?.status === 'number') {
		return httpFailure({
			status: error.status,
			body: error.error !== undefined && error.error !== null ? { error: error.error } : withoutStatus(error),
			requestId: error.requestID ?? undefined,
			secrets,
		});
	}
	const code = causeCode(error);
	if (error?.name === 'TimeoutError' || (code !== undefined && code.startsWith('UND_ERR') && code.endsWith('TIMEOUT'))) {
		return timeoutFailure(code);
	}
	// The client's own text ("Connection error.") says less than what undici or the TLS layer said.
	return networkFailure(causeMessage(error) ?? error?.message ?? 'connection failed', code, secrets);
}

function ownFailure(error: unknown): NebulaBlockError | undefined {
	let current = error as { cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 4; depth++) {
		if (current instanceof ModelRequestFailed) return current.failure;
		current = current.cause as { cause?: unknown } | undefined;
	}
	return undefined;
}

/** The client prefixes the status to the text of a body that was not JSON ("502 Bad gateway"). */
function withoutStatus(error: ClientError): string {
	const message = typeof error.message === 'string' ? error.message : '';
	return message.replace(/^\d{3}\s+/, '').replace(/^status code \(no body\)$/, '');
}

function isAbort(error: unknown): boolean {
	const candidate = error as ClientError | undefined;
	return candidate?.name === 'AbortError' || (typeof candidate?.message === 'string' && candidate.message.startsWith('Cancel'));
}

/** fetch wraps undici's reason ("fetch failed"); the client wraps fetch's error in turn. */
function innermostCause(error: unknown): { code?: unknown; message?: unknown } | undefined {
	let current = (error as ClientError | undefined)?.cause as { cause?: unknown } | undefined;
	for (let depth = 0; current?.cause !== undefined && depth < 5; depth++) {
		current = current.cause as { cause?: unknown };
	}
	return current as { code?: unknown; message?: unknown } | undefined;
}

function causeCode(error: unknown): string | undefined {
	let current = error as { code?: unknown; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 6; depth++) {
		const code = current.code;
		if (typeof code === 'string' && (code.startsWith('UND_ERR') || /^E[A-Z]+$/.test(code))) return code;
		current = current.cause as { code?: unknown; cause?: unknown } | undefined;
	}
	return undefined;
}

function causeMessage(error: unknown): string | undefined {
	const cause = innermostCause(error);
	return typeof cause?.message === 'string' ? cause.message : undefined;
}
