import type { ChatRequestBody } from '../chat/types';
import { parseStopSequences } from '../stopSequences';

/**
 * The Text Generate form as a request body: one pure function per target endpoint.
 *
 * Unset options are sent explicitly, with seed 003's defaults (Max Tokens 256, Temperature 0.7,
 * Top P 1), rather than left out for the service to fill in. The same form can go to
 * /chat/completions, whose defaults differ (temperature 1, no token limit), or to a proxy or
 * compatible server that does not share them; sending the values makes the answer depend on the
 * form alone, and the form shows exactly these numbers as its defaults. Stop Sequences has no
 * default, so an empty one sends nothing.
 */

/** Seed 003's documented defaults, which are also the defaults of the form's options. */
export const TEXT_GENERATE_DEFAULTS = {
	maxTokens: 256,
	temperature: 0.7,
	topP: 1,
	stream: true,
} as const;

/** The Options collection of the form, as n8n hands it over (any field may be unset). */
export interface TextGenerateOptions {
	maxTokens?: number;
	temperature?: number;
	topP?: number;
	/** Comma-separated, as the shared Stop Sequences field takes it. */
	stop?: string | string[];
	stream?: boolean;
}

export interface TextGenerateFields {
	model: string;
	prompt: string;
	options: TextGenerateOptions;
}

/** `POST /text/generate` (seed 003). */
export interface TextGenerateBody {
	model: string;
	prompt: string;
	max_tokens: number;
	temperature: number;
	top_p: number;
	stop?: string[];
	stream: boolean;
}

export function buildTextGenerateBody(fields: TextGenerateFields): TextGenerateBody {
	const { options } = fields;
	const stop = parseStopSequences(options.stop);
	return {
		model: fields.model,
		prompt: fields.prompt,
		max_tokens: options.maxTokens ?? TEXT_GENERATE_DEFAULTS.maxTokens,
		temperature: options.temperature ?? TEXT_GENERATE_DEFAULTS.temperature,
		top_p: options.topP ?? TEXT_GENERATE_DEFAULTS.topP,
		...(stop.length > 0 && { stop }),
		stream: options.stream ?? TEXT_GENERATE_DEFAULTS.stream,
	};
}

/**
 * The same request for a service that only offers chat: the prompt becomes one user message.
 * `stream` is left out because `completeChat` sets it (and asks for usage) itself.
 */
export function buildChatBody(body: TextGenerateBody): ChatRequestBody {
	return {
		model: body.model,
		messages: [{ role: 'user', content: body.prompt }],
		max_tokens: body.max_tokens,
		temperature: body.temperature,
		top_p: body.top_p,
		...(body.stop && { stop: [...body.stop] }),
	};
}
