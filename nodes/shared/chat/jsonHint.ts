import type { ChatRequestBody } from './types';

/**
 * What to try when Parse JSON Output got an answer that is not JSON, fitted to what the request
 * already asked for: telling a user to set Response Format to JSON when it already is, or to lower
 * a Temperature that is already 0, sends them in circles.
 */
export function notJsonHint(request: ChatRequestBody | undefined, cutByMaxTokens: boolean): string {
	const cut = cutByMaxTokens ? 'The answer was cut off by Max Tokens: raise Max Tokens. ' : '';
	const format = jsonFormatOf(request);
	if (!format) {
		return `${cut}Set Response Format to JSON Object or JSON Schema so the model must answer in JSON, or turn off Parse JSON Output.`;
	}
	const tries = ['a model that supports JSON mode (structured output)'];
	if (!isZero(request?.temperature)) tries.push('a lower Temperature, e.g. 0');
	if (!systemAsksForJson(request)) tries.push('a system message that asks for JSON only, with no other text');
	return `${cut}Response Format is already ${format}, but the model did not follow it. Try ${tries.join('; or ')}. Or turn off Parse JSON Output to keep the answer as text.`;
}

function jsonFormatOf(request: ChatRequestBody | undefined): string | undefined {
	const format = request?.response_format as { type?: unknown } | undefined;
	if (format?.type === 'json_schema') return 'JSON Schema';
	if (format?.type === 'json_object') return 'JSON Object';
	return undefined;
}

function isZero(value: unknown): boolean {
	return typeof value === 'number' && value <= 0;
}

function systemAsksForJson(request: ChatRequestBody | undefined): boolean {
	return (request?.messages ?? []).some(
		(message) => message.role === 'system' && typeof message.content === 'string' && /\bjson\b/i.test(message.content),
	);
}
