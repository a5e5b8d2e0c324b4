import { parseJson, parseJsonOrText } from '../json';
import { NebulaBlockError, readServiceError, redact, streamFailure } from './errors';
import { SseDecoder, type SseEvent } from './sse';

/** Receives each JSON payload of a stream, in order, as soon as it is decoded. */
export type StreamHandler = (payload: Record<string, unknown>) => void;

export interface StreamContext {
	secrets: ReadonlyArray<string | undefined>;
	requestId?: string;
}

export interface StreamSummary {
	/** Whether the server closed the stream with `data: [DONE]`. */
	sawDone: boolean;
}

/** What is read and thrown away after `[DONE]` to keep the connection reusable. */
const MAX_DRAIN_BYTES = 64 * 1024;

/**
 * Reads an SSE body fed chunk by chunk as it arrives (the transport's dispatch handler does
 * this): JSON payloads go to `onPayload` before `push` returns; `[DONE]` ends the stream (what
 * follows is read only so the connection can go back to the pool); an error event or error
 * payload throws the service's error from `push`.
 */
export class EventStreamReader {
	private readonly decoder = new SseDecoder();
	private readonly events: SseEvent[] = [];
	private readonly onPayload: StreamHandler;
	private readonly context: StreamContext;
	private drainedBytes = 0;
	/** Whether the server closed the stream with `data: [DONE]`. */
	sawDone = false;
	/** Whether any event came (a comment or keep-alive line is not one): the answer has begun. */
	sawEvent = false;

	constructor(onPayload: StreamHandler, context: StreamContext) {
		this.onPayload = onPayload;
		this.context = context;
	}

	/** Feeds one chunk. Returns false once reading on is not worth it: 64 KiB past [DONE]. */
	push(chunk: Uint8Array): boolean {
		if (this.sawDone) {
			this.drainedBytes += chunk.length;
			return this.drainedBytes <= MAX_DRAIN_BYTES;
		}
		this.decoder.push(chunk, this.events);
		if (this.events.length > 0) {
			this.sawEvent = true;
			if (deliver(this.events, this.onPayload, this.context)) this.sawDone = true;
		}
		return true;
	}

	/** Ends the stream: a last event without its closing blank line is still delivered. */
	end(): StreamSummary {
		if (!this.sawDone) {
			this.decoder.end(this.events);
			this.sawDone = deliver(this.events, this.onPayload, this.context);
		}
		return { sawDone: this.sawDone };
	}
}

/** Hands over the decoded events and empties the list; returns true once `[DONE]` is seen. */
function deliver(events: SseEvent[], onPayload: StreamHandler, context: StreamContext): boolean {
	for (let index = 0; index < events.length; index++) {
		const event = events[index];
		const data = event.data;
		if (data === '[DONE]') {
			events.length = 0;
			return true;
		}
		if (event.event === 'error') throw streamFailure(parseJsonOrText(data), context.secrets, context.requestId);
		if (data.length === 0) continue;
		const payload = parsePayload(data, context);
		if (payload.choices === undefined && readServiceError(payload)) {
			throw streamFailure(payload, context.secrets, context.requestId);
		}
		onPayload(payload);
	}
	events.length = 0;
	return false;
}

function parsePayload(data: string, context: StreamContext): Record<string, unknown> {
	const json = parseJson(data);
	if (!json.ok) {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			message: redact(`The stream sent an event that is not JSON: ${data.slice(0, 200)}`, context.secrets),
			requestId: context.requestId,
		});
	}
	const parsed = json.value;
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			message: redact(`The stream sent an event that is not a JSON object: ${data.slice(0, 200)}`, context.secrets),
			requestId: context.requestId,
		});
	}
	return parsed as Record<string, unknown>;
}

