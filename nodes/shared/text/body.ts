import type { ChatRequestBody } from '../chat/types';
import { plainBodyFields, type OptionValues } from '../options/collection';

/**
 * The Text Generate form as a request body, for either endpoint. Both take the same sampling
 * fields from the option table (Max Tokens, Temperature, Top P with the service's documented
 * defaults, sent even when left out; Stop Sequences when set), so the same form asks both the
 * same thing. Neither body holds `stream`: the request adds it when it streams.
 */

/** `POST /text/generate` (seed 003), without `stream`. */
export interface TextGenerateBody {
	model: string;
	prompt: string;
	max_tokens?: number;
	temperature?: number;
	top_p?: number;
	stop?: string[];
}

export interface TextGenerateInput {
	model: string;
	prompt: string;
	options: OptionValues;
}

export function textGenerateBody(input: TextGenerateInput): TextGenerateBody {
	return { model: input.model, prompt: input.prompt, ...plainBodyFields('textGenerate', input.options) };
}

/** The same request for a service that only offers chat: the prompt becomes one user message. */
export function promptAsChatBody(input: TextGenerateInput): ChatRequestBody {
	return {
		model: input.model,
		messages: [{ role: 'user', content: input.prompt }],
		...plainBodyFields('textGenerate', input.options),
	};
}
