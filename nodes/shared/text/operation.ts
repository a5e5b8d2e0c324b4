import type { IDataObject } from 'n8n-workflow';

import { completeChat } from '../chat/complete';
import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import { policyFromOptions } from '../policy';
import type { ItemOperation, ItemRun } from '../runner';
import { readTextParameter, type TextParameter } from '../textParameter';
import { requestJson, requestStream, type ApiRequest, type RequestPolicy } from '../transport/client';
import { TextStreamAssembler, generationFromChat, readTextReply, type TextGeneration } from './assemble';
import { promptAsChatBody, textGenerateBody, type TextGenerateInput } from './body';
import { simplifyGeneration, streamedReply } from './output';

/** Where the prompt goes: seed 003's own endpoint, or chat for services that only offer that. */
export type TextEndpoint = 'textGenerate' | 'chatCompletions';

export const TEXT_GENERATE_PATH = '/text/generate';

/** How the request is made: the Stream option, read once, and the transport policy. */
interface TextRequest {
	stream: boolean;
	policy: RequestPolicy;
}

/** One answer and the item Simplify Output off shows for it. */
interface Answer {
	generation: TextGeneration;
	raw: IDataObject;
}

const PROMPT: TextParameter = {
	name: 'prompt',
	label: 'Prompt',
	what: 'the prompt',
	whenEmpty: 'type a prompt, or check that its expression returns text for this item',
};

/** The Text Generate node's work for one item: read the form, ask the service, shape the item. */
export const textGenerateOperation: ItemOperation = async (context, run) => {
	const { itemIndex } = run;
	const model = readModelId(context, itemIndex);
	const prompt = readTextParameter(context, itemIndex, PROMPT);
	const endpoint = context.getNodeParameter('endpoint', itemIndex, 'textGenerate') as TextEndpoint;
	const simplify = context.getNodeParameter('simplify', itemIndex, true) as boolean;
	const options = readOptions(context, itemIndex, 'textGenerate');

	const input: TextGenerateInput = { model, prompt, options };
	const request: TextRequest = { stream: options.stream !== false, policy: policyFromOptions(options, run) };
	const answer =
		endpoint === 'chatCompletions' ? await viaChat(run, input, request) : await viaTextGenerate(run, input, request);
	return [simplify ? simplifyGeneration(answer.generation, model) : answer.raw];
};

async function viaTextGenerate(run: ItemRun, input: TextGenerateInput, { stream, policy }: TextRequest): Promise<Answer> {
	const body = textGenerateBody(input);
	const apiRequest: ApiRequest = {
		method: 'POST',
		path: TEXT_GENERATE_PATH,
		baseUrl: run.connection.textGenerateUrl,
		// Not streaming is the service's default, so only a stream is asked for.
		body: stream ? { ...body, stream: true } : body,
	};
	if (!stream) {
		const response = await requestJson(run.connection, apiRequest, policy);
		const generation = readTextReply(response.body, response.requestId);
		// Stream off (the request) with streaming to the chat on: the chat gets the answer in one piece.
		if (generation.text !== '') run.onDelta?.(generation.text);
		return { generation, raw: response.body as IDataObject };
	}
	const assembler = new TextStreamAssembler();
	const response = await requestStream(run.connection, apiRequest, policy, (event) => {
		const text = assembler.push(event);
		if (text !== '') run.onDelta?.(text);
	});
	if (response.kind === 'json') {
		// The service ignored `stream: true`: the whole answer is one delta.
		const generation = readTextReply(response.body, response.requestId);
		if (generation.text !== '') run.onDelta?.(generation.text);
		return { generation, raw: response.body as IDataObject };
	}
	const generation = assembler.finish(response.requestId);
	return { generation, raw: streamedReply(generation) };
}

async function viaChat(run: ItemRun, input: TextGenerateInput, { stream, policy }: TextRequest): Promise<Answer> {
	const completion = await completeChat({
		connection: run.connection,
		endpoint: '/chat/completions',
		body: promptAsChatBody(input),
		stream,
		policy,
		onDelta: run.onDelta,
	});
	return { generation: generationFromChat(completion), raw: completion as IDataObject };
}
