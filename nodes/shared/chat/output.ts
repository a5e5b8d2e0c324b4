import type { IDataObject } from 'n8n-workflow';

import { InputError } from '../inputError';
import { parseJson, parseJsonOrText } from '../json';
import { notJsonHint } from './jsonHint';
import { shapeReasoning, type ReasoningMode } from './reasoning';
import type { ChatCompletion, ChatCompletionChoice, ChatRequestBody, ChatToolCall, ChatUsage } from './types';

export interface SimplifyOptions {
	reasoning: ReasoningMode;
	/** Turn the content into the JSON value it holds; an answer that is not JSON is an error. */
	parseJson: boolean;
	/** What was sent, so the hint for an answer that is not JSON fits what the request already asked for. */
	request?: ChatRequestBody;
}

/**
 * The short result, one per choice: `{content, role, finishReason, reasoning?, toolCalls?,
 * usage, model, id}`, plus `index` when the request asked for several choices. Usage is the
 * whole request's and is repeated on every choice, so each item says what its call cost.
 */
export function simplifyCompletion(completion: ChatCompletion, options: SimplifyOptions): IDataObject[] {
	const several = completion.choices.length > 1;
	const usage = simplifyUsage(completion.usage);
	return completion.choices.map((choice) => {
		const shaped = shapeReasoning(choice.message, options.reasoning);
		const toolCalls = simplifyToolCalls(choice.message.tool_calls);
		// An answer that only calls tools has no text to parse; the agent loop must not fail on it.
		const parse = options.parseJson && !(toolCalls && shaped.content.trim() === '');
		const result: IDataObject = {
			...(several && { index: choice.index }),
			content: parse ? parseContent(shaped.content, choice, several, options.request) : shaped.content,
			role: choice.message.role ?? 'assistant',
			finishReason: choice.finish_reason ?? null,
		};
		if (shaped.reasoning !== undefined) result.reasoning = shaped.reasoning;
		if (toolCalls) result.toolCalls = toolCalls;
		if (usage) result.usage = usage;
		result.model = completion.model;
		result.id = completion.id;
		return result;
	});
}

/** The whole completion as the API sent it (or, for a stream, as it was assembled): one item. */
export function rawCompletion(completion: ChatCompletion): IDataObject[] {
	return [completion as unknown as IDataObject];
}

function simplifyUsage(usage: ChatUsage | null | undefined): IDataObject | undefined {
	if (!usage || typeof usage !== 'object') return undefined;
	const promptTokens = Number(usage.prompt_tokens ?? 0);
	const completionTokens = Number(usage.completion_tokens ?? 0);
	const total = Number(usage.total_tokens);
	return {
		promptTokens,
		completionTokens,
		totalTokens: Number.isFinite(total) ? total : promptTokens + completionTokens,
	};
}

function simplifyToolCalls(calls: ChatToolCall[] | null | undefined): IDataObject[] | undefined {
	if (!Array.isArray(calls) || calls.length === 0) return undefined;
	return calls.map((call) => ({
		id: call.id,
		type: call.type ?? 'function',
		name: call.function?.name ?? '',
		arguments: parseArguments(call.function?.arguments),
	}));
}

/** Arguments arrive as JSON text; an object is what a next node can use, the text is kept if it is not JSON. */
function parseArguments(text: string | undefined): IDataObject | string {
	if (typeof text !== 'string' || text.trim() === '') return {};
	return parseJsonOrText(text) as IDataObject | string;
}

/** Models often wrap JSON in a Markdown code fence even when told not to. */
const CODE_FENCE = /^```[a-zA-Z]*\s*\n?([\s\S]*?)\n?```$/;

function parseContent(content: string, choice: ChatCompletionChoice, several: boolean, request: ChatRequestBody | undefined): IDataObject {
	const trimmed = content.trim();
	const fenced = CODE_FENCE.exec(trimmed);
	const text = fenced ? fenced[1].trim() : trimmed;
	const parsed = parseJson(text);
	if (parsed.ok) return parsed.value as IDataObject;
	const which = several ? `The answer of choice ${choice.index}` : 'The answer';
	const preview = text === '' ? '(empty)' : JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
	throw new InputError(
		`${which} is not valid JSON, so Parse JSON Output cannot turn it into an object: ${parsed.error}`,
		`It begins ${preview}. ${notJsonHint(request, choice.finish_reason === 'length')}`,
	);
}
