import type { IExecuteFunctions } from 'n8n-workflow';

import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import { policyFromOptions } from '../policy';
import type { ItemOperation, ItemRun } from '../runner';
import { contentWithImages, hasImageSource } from './binaryImages';
import { buildChatBody, chatEndpointOf } from './body';
import { completeChat } from './complete';
import { assertConversation, messagesFromForm, messagesFromJson, withSystemMessage, type DefinedMessage } from './messages';
import { rawCompletion, simplifyCompletion } from './output';
import { ThinkFilter, type ReasoningMode } from './reasoning';
import type { ChatMessage } from './types';

/**
 * The Chat Completion node's work for one item: read the form, check it, build the body,
 * run the request (streamed or not) and shape the answer. Several choices give several results.
 * Input errors (InputError) become NodeOperationErrors with the item in the runner.
 */
export const chatOperation: ItemOperation = async (context, run) => {
	const { itemIndex } = run;
	const options = readOptions(context, itemIndex, 'chatCompletion');
	const model = readModelId(context, itemIndex);
	const messages = await readMessages(context, itemIndex);
	const { body, droppedMessages } = buildChatBody({ model, messages, options });
	const simplify = context.getNodeParameter('simplify', itemIndex, true) as boolean;
	// The Reasoning field's choices are the reasoning modes, so its rule let only those through.
	const reasoning = (options.reasoning ?? 'separate') as ReasoningMode;
	const live = liveDeltas(run, reasoning);
	const completion = await completeChat({
		connection: run.connection,
		endpoint: chatEndpointOf(options),
		body,
		stream: options.stream !== false,
		policy: policyFromOptions(options, run),
		onDelta: live?.push,
	});
	live?.finish();
	if (!simplify) return rawCompletion(completion);
	const results = simplifyCompletion(completion, { reasoning, parseJson: options.parseJsonOutput === true, request: body });
	if (droppedMessages === undefined) return results;
	return results.map((result) => ({ ...result, droppedMessages }));
};

async function readMessages(context: IExecuteFunctions, itemIndex: number): Promise<ChatMessage[]> {
	const source = context.getNodeParameter('messagesSource', itemIndex, 'define') as string;
	let messages: ChatMessage[];
	if (source === 'json') {
		messages = messagesFromJson(context.getNodeParameter('messagesJson', itemIndex, '[]'));
	} else {
		const collection = context.getNodeParameter('messages', itemIndex, {}) as { values?: DefinedMessage[] };
		const rows = collection.values ?? [];
		messages = messagesFromForm(rows);
		for (const [index, row] of rows.entries()) {
			const message = messages[index];
			if (message.role !== 'user' || !hasImageSource(row.images)) continue;
			message.content = await contentWithImages(context, itemIndex, message.content as string, row.images ?? {}, `Message ${index + 1}`);
		}
	}
	messages = withSystemMessage(messages, context.getNodeParameter('systemMessage', itemIndex, ''));
	assertConversation(messages);
	return messages;
}

interface LiveDeltas {
	push: (text: string) => void;
	/** Sends what was held back in case it began a tag. */
	finish: () => void;
}

/** A chat that shows the answer live must not show the thinking the result leaves out. */
function liveDeltas(run: ItemRun, reasoning: ReasoningMode): LiveDeltas | undefined {
	const onDelta = run.onDelta;
	if (!onDelta) return undefined;
	if (reasoning === 'inline') return { push: onDelta, finish: () => undefined };
	const filter = new ThinkFilter();
	const send = (text: string) => {
		if (text !== '') onDelta(text);
	};
	return { push: (text) => send(filter.push(text)), finish: () => send(filter.flush()) };
}
