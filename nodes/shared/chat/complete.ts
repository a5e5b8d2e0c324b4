import { requestJson, requestStream, type Connection, type RequestPolicy } from '../transport/client';
import { NebulaBlockError, redact } from '../transport/errors';
import { isObject } from '../json';
import { ChatAssembler } from './assemble';
import type { ChatCompletion, ChatEndpoint, ChatRequestBody } from './types';

export type { ChatCompletion, ChatEndpoint, ChatRequestBody } from './types';

export interface CompleteChatArgs {
	connection: Connection;
	/** Default `/chat/completions`. */
	endpoint?: ChatEndpoint;
	/** The form's body, which never holds `stream` or `stream_options`: they follow from `stream`. */
	body: ChatRequestBody;
	/** The Stream option: when true the request asks for a stream (and for usage in its last chunk). */
	stream: boolean;
	policy: RequestPolicy;
	/**
	 * Called with each content delta of the first choice as it arrives (never with reasoning
	 * fields); without streaming, once with the whole content.
	 */
	onDelta?: (text: string) => void;
}

/**
 * Runs one chat request and returns the completion. Streamed or not, the result has the same
 * type and, for the same answer, the same content: a stream is assembled into the
 * `chat.completion` the plain request would have returned, with usage from the last chunk.
 */
export async function completeChat(args: CompleteChatArgs): Promise<ChatCompletion> {
	const path = args.endpoint ?? '/chat/completions';
	const body = args.body;
	if (!args.stream) {
		const response = await requestJson(args.connection, { method: 'POST', path, body }, args.policy);
		const completion = asCompletion(response.body, response.requestId, args.connection);
		// Stream off (the request) with streaming to the chat on: the chat gets the answer in one piece.
		sendWhole(completion, args.onDelta);
		return completion;
	}

	const assembler = new ChatAssembler();
	const onDelta = args.onDelta;
	const response = await requestStream(
		args.connection,
		{ method: 'POST', path, body: { ...body, stream: true, stream_options: { include_usage: true } } },
		args.policy,
		(payload) => {
			const deltas = assembler.push(payload);
			if (!onDelta) return;
			// With n > 1 the choices interleave; a live view shows the first one only.
			for (const delta of deltas) if (delta.index === 0) onDelta(delta.text);
		},
	);
	if (response.kind === 'json') {
		// The server ignored `stream: true`: a live view still gets the answer, in one piece.
		const completion = asCompletion(response.body, response.requestId, args.connection);
		sendWhole(completion, onDelta);
		return completion;
	}
	if (!response.sawDone && !assembler.finished) {
		throw new NebulaBlockError({
			kind: 'truncated',
			message:
				assembler.chunks === 0
					? 'The stream ended before the service sent any part of the answer'
					: 'The stream ended before the answer was complete (no finish reason and no [DONE])',
			requestId: response.requestId,
		});
	}
	const completion = assembler.completion();
	if (completion.choices.length === 0) {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			message: 'The stream ended without any answer (no choices)',
			requestId: response.requestId,
		});
	}
	return completion;
}

/** A live view of an answer that came whole: its first choice's content as one delta. */
function sendWhole(completion: ChatCompletion, onDelta: ((text: string) => void) | undefined): void {
	const text = completion.choices.find((choice) => choice.index === 0)?.message.content;
	if (onDelta && typeof text === 'string' && text !== '') onDelta(text);
}

/** Checks that a JSON reply is a chat completion before anything reads it as one. */
function asCompletion(body: unknown, requestId: string | undefined, connection: Connection): ChatCompletion {
	const choices = isObject(body) ? body.choices : undefined;
	if (!Array.isArray(choices) || choices.length === 0 || !choices.every((choice) => isObject(choice) && isObject(choice.message))) {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			message: redact(
				`The service sent a reply that is not a chat completion: ${JSON.stringify(body).slice(0, 200)}`,
				[connection.apiKey],
			),
			requestId,
		});
	}
	return body as ChatCompletion;
}

