import { isObject, type JsonObject } from '../json';
import type { ChatCompletion } from '../chat/types';
import { NebulaBlockError } from '../transport/errors';

/** Token counts as the service sends them. */
export interface TextUsage {
	prompt_tokens?: number;
	completion_tokens?: number;
	total_tokens?: number;
}

/** One answer, whether it came whole, as a stream of events, or from the chat endpoint. */
export interface TextGeneration {
	text: string;
	/** Null only when a non-streamed reply did not say (seed 003's reply has no finish reason). */
	finishReason: string | null;
	/** Absent when the service did not report it (seed 003's stream events carry none). */
	usage?: TextUsage;
	/** The model the service says answered, when it says so. */
	model?: string;
}

/** Keeps the counts that are numbers; undefined when none is. */
export function readUsage(value: unknown): TextUsage | undefined {
	if (!isObject(value)) return undefined;
	const usage: TextUsage = {};
	for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const) {
		const count = value[key];
		if (typeof count === 'number' && Number.isFinite(count)) usage[key] = count;
	}
	return Object.keys(usage).length > 0 ? usage : undefined;
}

function invalid(message: string, requestId?: string): NebulaBlockError {
	return new NebulaBlockError({ kind: 'invalidResponse', message, requestId });
}

/**
 * Reads a non-streamed reply, `{"status":"success","data":{"text","usage"}}`. Error bodies
 * never get here: the transport throws them.
 */
export function readTextReply(body: unknown, requestId?: string): TextGeneration {
	const data = isObject(body) ? body.data : undefined;
	if (!isObject(data) || typeof data.text !== 'string') {
		throw invalid('The service\'s reply has no text: expected {"status":"success","data":{"text":...}}', requestId);
	}
	return {
		text: data.text,
		finishReason: typeof data.finish_reason === 'string' ? data.finish_reason : null,
		...optional('usage', readUsage(data.usage)),
		...optional('model', typeof data.model === 'string' && data.model !== '' ? data.model : undefined),
	};
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
	return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/**
 * Joins the `{"text", "finish_reason"}` events of a /text/generate stream into one answer. The
 * finish reason is the last one an event carries; usage is kept if the service sends any. Such
 * a stream has no [DONE]: only a finish reason says the answer is complete.
 */
export class TextStreamAssembler {
	private readonly parts: string[] = [];
	private finishReason: string | undefined;
	private usage: TextUsage | undefined;
	private model: string | undefined;

	/** Adds one event and returns its text, so the caller can pass it on as it arrives. */
	push(event: JsonObject): string {
		const text = event.text;
		if (text !== undefined && text !== null && typeof text !== 'string') {
			throw invalid(`The stream sent an event whose text is not a string: ${JSON.stringify(event).slice(0, 200)}`);
		}
		if (typeof event.finish_reason === 'string' && event.finish_reason !== '') this.finishReason = event.finish_reason;
		this.usage = readUsage(event.usage) ?? this.usage;
		if (typeof event.model === 'string' && event.model !== '') this.model = event.model;
		if (!text) return '';
		this.parts.push(text);
		return text;
	}

	/** The whole answer; a stream that ended before any event gave a finish reason was cut off. */
	finish(requestId?: string): TextGeneration {
		if (this.finishReason === undefined) {
			throw new NebulaBlockError({
				kind: 'truncated',
				message: 'The stream ended before the answer was complete (no event carried a finish reason)',
				requestId,
			});
		}
		return {
			text: this.parts.join(''),
			finishReason: this.finishReason,
			...optional('usage', this.usage),
			...optional('model', this.model),
		};
	}
}

/** The events of a whole stream at once: what the assembler makes of them. */
export function assembleTextStream(events: Iterable<JsonObject>, requestId?: string): TextGeneration {
	const assembler = new TextStreamAssembler();
	for (const event of events) assembler.push(event);
	return assembler.finish(requestId);
}

/** What the Chat Completions endpoint answered, as a text generation: the first choice's content. */
export function generationFromChat(completion: ChatCompletion): TextGeneration {
	const choice = completion.choices?.[0];
	if (!isObject(choice) || !isObject(choice.message)) {
		throw invalid('The chat completion has no choices');
	}
	const content = choice.message.content;
	return {
		text: typeof content === 'string' ? content : '',
		finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
		...optional('usage', readUsage(completion.usage)),
		...optional('model', typeof completion.model === 'string' && completion.model !== '' ? completion.model : undefined),
	};
}
