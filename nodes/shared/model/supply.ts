import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ChatInputError } from '../chat/inputError';
import { readConnection } from '../connection';
import { readModelId } from '../modelParameter';
import { AiSdkNotFoundError, aiSdkMissingHint, loadAiSdk, loadModelParts, type ModelParts } from './aiSdk';
import { buildChatModel } from './chatOpenAi';
import { chatModelSetup, type ChatModelOptions } from './config';
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
	const options = context.getNodeParameter('options', itemIndex, {}) as ChatModelOptions;

	let setup: ReturnType<typeof chatModelSetup>;
	try {
		setup = chatModelSetup(connection, modelId, options);
	} catch (error) {
		if (!(error instanceof ChatInputError)) throw error;
		throw new NodeOperationError(node, error.message, { itemIndex, description: error.description });
	}

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
		if (!(error instanceof AiSdkNotFoundError)) throw error;
		throw new NodeOperationError(context.getNode(), error.message, {
			itemIndex,
			description: aiSdkMissingHint(error.searched),
		});
	}
}
