/// <reference path="./aiNodeSdk.d.ts" />
/**
 * The cloud edition's Chat Model supply path (it replaces supply.ts there): the model comes from
 * `supplyModel` of `@n8n/ai-node-sdk`, n8n's own OpenAI-compatible client with n8n's tracing and
 * failed-attempt handling, so the package ships no client, no socket code and no module lookup.
 *
 * What this edition's Chat Model does not have, against the main edition (supply.ts, chatOpenAi.ts):
 * - No shared limiter and no retry engine: `supplyModel` builds n8n's own client and pool, so an
 *   agent's calls do not share the nodes' rate-limit window, pace or pause on the API key.
 * - No retries: ChatOpenAI turns the OpenAI client's own retries off, and n8n's failed-attempt
 *   handler ends LangChain's at the first failure (it reads a `retriesLeft` the retry library no
 *   longer puts on the error, n8n 2.8 to 2.41 at least). Each call is one request; Max Retries is
 *   not applied, and `maxRetries: 0` says so rather than promise retries that never come.
 * - No Ignore SSL Issues: `supplyModel` takes no TLS option. A certificate error says so.
 * - n8n 2.16 or newer: older n8n has no `@n8n/ai-node-sdk` (the main edition finds the same
 *   `supplyModel` in `@n8n/ai-utilities` on 2.8 to 2.15).
 * Kept: the model's settings (config.ts), the package's error texts (modelError.ts), the Timeout
 * (the client's deadline and its pool's header and body timeouts), and the removal of a reasoning
 * model's `<think>` blocks from answers (thinking.ts), applied to the model `supplyModel` gives.
 */
import type { INode, ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readConnection } from '../connection';
import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import type { Connection } from '../transport/client';
import { chatModelSetup } from './config';
import { failedAttemptHandler, modelError } from './modelError';
import type { SupplyModel } from './sdkTypes';
import { withoutThinking, type ChatModelClass } from './thinking';

export const AI_NODE_SDK = '@n8n/ai-node-sdk';
export const SDK_N8N_VERSION = '2.16';
const MAIN_EDITION = 'n8n-nodes-nebula-block';

export async function supplyChatModel(context: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
	const node = context.getNode();
	const supplyModel = await loadSupplyModel(node, itemIndex);
	const connection = await readConnection(context);
	const modelId = readModelId(context, itemIndex);
	const { config } = chatModelSetup(connection, modelId, readOptions(context, itemIndex, 'chatModel'));
	// maxRetries 0: no retries come anyway (see above), and n8n's handler then sees every failure as final.
	const supplied = supplyModel(context, { ...config, maxRetries: 0, onFailedAttempt: onFailedAttemptFor(node, connection, itemIndex) });
	keepThinkingOut(supplied.response);
	return supplied;
}

/**
 * n8n's `supplyModel`, loaded when the Chat Model is first used rather than when n8n loads the
 * package: a static import would fail at load on an n8n without the SDK, and n8n would then drop
 * all three nodes, not only this one. (n8n puts its own modules on NODE_PATH for community
 * packages, which is how the import finds them.)
 */
export async function loadSupplyModel(node: INode, itemIndex: number): Promise<SupplyModel> {
	let sdk: { supplyModel?: unknown };
	try {
		sdk = await import('@n8n/ai-node-sdk');
	} catch (error) {
		if (isSdkMissing(error)) throw sdkMissingError(node, itemIndex);
		const firstLine = String((error as Error)?.message ?? error).split('\n')[0];
		throw new NodeOperationError(node, error as Error, {
			itemIndex,
			message: `n8n's ${AI_NODE_SDK} failed to load: ${firstLine}`,
			description: `${AI_NODE_SDK} is there but does not load: this n8n installation is incomplete or damaged; reinstall n8n.`,
		});
	}
	if (typeof sdk.supplyModel !== 'function') {
		throw new NodeOperationError(node, `This n8n's ${AI_NODE_SDK} has no supplyModel, which the Nebula Block Chat Model needs`, {
			itemIndex,
			description: sdkMissingHint(),
		});
	}
	return sdk.supplyModel as SupplyModel;
}

/** Only the SDK itself missing, not a module the SDK needs (named on the first line too, in its require stack below). */
function isSdkMissing(error: unknown): boolean {
	const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
	return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.split('\n')[0].includes(`'${AI_NODE_SDK}'`);
}

function sdkMissingError(node: INode, itemIndex: number): NodeOperationError {
	return new NodeOperationError(
		node,
		`The Nebula Block Chat Model of this edition needs n8n ${SDK_N8N_VERSION} or newer: this n8n does not have ${AI_NODE_SDK}`,
		{ itemIndex, description: sdkMissingHint() },
	);
}

function sdkMissingHint(): string {
	return (
		`Update n8n to ${SDK_N8N_VERSION} or newer, or install the main edition of this package (${MAIN_EDITION}), ` +
		'whose Chat Model works on n8n 2.8 and newer. The Chat Completion and Text Generate nodes of this edition work on this n8n.'
	);
}

/** Certificate errors as Node's TLS layer words them (DEPTH_ZERO_SELF_SIGNED_CERT, "self-signed certificate", ...). */
const CERTIFICATE_ERROR = /certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i;

/**
 * The model's failed-attempt hook, as the main edition's (modelError.ts). When the credential asks
 * to ignore SSL issues, which this Chat Model cannot, a certificate error also says so.
 */
export function onFailedAttemptFor(node: INode, connection: Connection, itemIndex: number): (error: unknown) => void {
	const handler = failedAttemptHandler(node, connection.apiKey, itemIndex);
	if (!connection.allowUnauthorizedCerts) return handler;
	return (error: unknown) => {
		if (!isCertificateError(error)) return handler(error);
		const nodeError = modelError(node, error, connection.apiKey, itemIndex) as Error & { description?: string | null };
		const note =
			"This edition's Chat Model cannot ignore SSL issues (the credential's Ignore SSL Issues applies to the Chat Completion and Text Generate nodes only): " +
			`give the server a certificate n8n trusts, or use the main edition (${MAIN_EDITION}).`;
		nodeError.description = nodeError.description ? `${nodeError.description} ${note}` : note;
		throw nodeError;
	};
}

/** The OpenAI client's connection error wraps fetch's, which wraps what the TLS layer said. */
function isCertificateError(error: unknown): boolean {
	let current = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 6; depth++) {
		if (typeof current.code === 'string' && CERTIFICATE_ERROR.test(current.code)) return true;
		if (typeof current.message === 'string' && CERTIFICATE_ERROR.test(current.message)) return true;
		current = current.cause as typeof current;
	}
	return false;
}

/**
 * The main edition's model is a subclass of n8n's ChatOpenAI that removes `<think>` blocks from
 * answers (thinking.ts); here n8n builds the model, so the same subclass is put under it. The
 * subclass adds methods only, no fields, so the instance n8n built is a complete one of it.
 */
export function keepThinkingOut(model: unknown): void {
	if (typeof model !== 'object' || model === null) return;
	const Base = Object.getPrototypeOf(model)?.constructor as ChatModelClass | undefined;
	if (typeof Base?.prototype?._generate !== 'function' || typeof Base.prototype._streamResponseChunks !== 'function') return;
	Object.setPrototypeOf(model, withoutThinking(Base).prototype);
}
