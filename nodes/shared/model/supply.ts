import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readConnection } from '../connection';
import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import { AiSdkNotFoundError, aiSdkMissingHint, loadAiSdk, loadModelParts, type ModelParts } from './aiSdk';
import { buildChatModel } from './chatOpenAi';
import { chatModelSetup } from './config';
import { failedAttemptHandler } from './modelError';

/**
 * The Chat Model node's supplyData: a LangChain chat model built from n8n's own ChatOpenAI and
 * tracing (see chatOpenAi.ts), so the AI Agent gets tool calling and streaming, and n8n logs
 * each call on this node.
 */
export async function supplyChatModel(context: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
	const node = context.getNode();
	const connection = await readConnection(context);
	const modelId = readModelId(context, itemIndex);
	const setup = chatModelSetup(connection, modelId, readOptions(context, itemIndex, 'chatModel'));

	const { model: chatModel, dispatcher } = buildChatModel(
		context,
		loadParts(context, itemIndex),
		setup,
		failedAttemptHandler(node, connection.apiKey, itemIndex),
	);
	return { response: chatModel, closeFunction: async () => await dispatcher.close() };
}

function loadParts(context: ISupplyDataFunctions, itemIndex: number): ModelParts {
	try {
		return loadModelParts(loadAiSdk());
	} catch (error) {
		// Anything else is a fault in n8n's own SDK module: it goes on unchanged to supplyData's
		// caller, which n8n wraps with this node, rather than be dressed up as the missing-SDK case.
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
		if (!(error instanceof AiSdkNotFoundError)) throw error;
		throw new NodeOperationError(context.getNode(), error.message, {
			itemIndex,
			description: aiSdkMissingHint(error.searched),
		});
	}
}
