import type { IDataObject } from 'n8n-workflow';

import type { TextGeneration, TextUsage } from './assemble';

/**
 * The short item Simplify Output gives: `{text, finishReason, usage, model}`. Usage is left out
 * when the service did not report it (a /text/generate stream does not), rather than shown as
 * made-up zeros; `model` is what the service says answered, else the model that was asked for.
 */
export function simplifyGeneration(generation: TextGeneration, requestedModel: string): IDataObject {
	return {
		text: generation.text,
		finishReason: generation.finishReason,
		...(generation.usage && { usage: camelUsage(generation.usage) }),
		model: generation.model ?? requestedModel,
	};
}

function camelUsage(usage: TextUsage): IDataObject {
	const out: IDataObject = {};
	if (usage.prompt_tokens !== undefined) out.promptTokens = usage.prompt_tokens;
	if (usage.completion_tokens !== undefined) out.completionTokens = usage.completion_tokens;
	if (usage.total_tokens !== undefined) out.totalTokens = usage.total_tokens;
	else if (usage.prompt_tokens !== undefined && usage.completion_tokens !== undefined) {
		out.totalTokens = usage.prompt_tokens + usage.completion_tokens;
	}
	return out;
}

/**
 * With Simplify Output off, a streamed answer is shown as the reply the service would have sent
 * without streaming, so the item has the same shape either way.
 */
export function streamedReply(generation: TextGeneration): IDataObject {
	const data: IDataObject = { text: generation.text };
	if (generation.usage) data.usage = { ...generation.usage };
	if (generation.model) data.model = generation.model;
	data.finish_reason = generation.finishReason;
	return { status: 'success', data };
}
