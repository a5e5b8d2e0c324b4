import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ChatInputError } from '../chat/inputError';
import { readConnection } from '../connection';
import { readModelId } from '../modelParameter';
import { AiSdkNotFoundError, aiSdkMissingHint, loadAiSdk } from './aiSdk';
import { chatModelSetup, type ChatModelOptions } from './config';
import { failedAttemptHandler } from './modelError';
import { tuneClient } from './tuneClient';

/**
 * The Chat Model node's supplyData: a LangChain chat model made by n8n's own `supplyModel`,
 * so the AI Agent gets tool calling and n8n logs each call on this node.
 */
export async function supplyChatModel(context: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
	const node = context.getNode();
	const connection = await readConnection(context);
	const model = readModelId(context, itemIndex);
	const options = context.getNodeParameter('options', itemIndex, {}) as ChatModelOptions;

	let setup: ReturnType<typeof chatModelSetup>;
	try {
		setup = chatModelSetup(connection, model, options);
	} catch (error) {
		if (!(error instanceof ChatInputError)) throw error;
		throw new NodeOperationError(node, error.message, { itemIndex, description: error.description });
	}

	const sdk = loadSdk(context, itemIndex);
	const supplied = sdk.supplyModel(context, {
		...setup.config,
		onFailedAttempt: failedAttemptHandler(node, connection.apiKey, itemIndex),
	});

	const tuned = tuneClient(supplied.response, setup.tuning);
	if (tuned.tuned === 0) {
		// A future supplyModel may build another kind of model; it still works, with its own retries and TLS.
		context.logger.warn('Nebula Block Chat Model: could not set Max Retries or the TLS setting on this n8n version', {
			sdk: sdk.moduleName,
		});
	}
	const dispatcher = tuned.dispatcher;
	if (!dispatcher) return supplied;
	const previousClose = supplied.closeFunction;
	return {
		...supplied,
		closeFunction: async () => {
			await previousClose?.();
			await dispatcher.close();
		},
	};
}

function loadSdk(context: ISupplyDataFunctions, itemIndex: number): ReturnType<typeof loadAiSdk> {
	try {
		return loadAiSdk();
	} catch (error) {
		if (!(error instanceof AiSdkNotFoundError)) throw error;
		throw new NodeOperationError(context.getNode(), error.message, {
			itemIndex,
			description: aiSdkMissingHint(error.searched),
		});
	}
}
