/**
 * The OpenAI-compatible chat shapes this package sends and receives. Index signatures keep
 * whatever else a server adds (logprobs, service_tier, ...), so a raw output loses nothing.
 */

export type ChatEndpoint = '/chat/completions' | '/inference/chat_text';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatToolCall {
	id: string;
	type: 'function';
	function: { name: string; arguments: string };
}

export interface ChatMessage {
	role: ChatRole;
	/** A string, an array of content parts (text, images), or null for an assistant turn with only tool calls. */
	content: string | unknown[] | null;
	name?: string;
	tool_calls?: ChatToolCall[];
	tool_call_id?: string;
}

/** What the form produces. `stream` and `stream_options` are never here: `completeChat` owns them. */
export interface ChatRequestBody {
	model: string;
	messages: ChatMessage[];
	[field: string]: unknown;
}

export interface ChatUsage {
	prompt_tokens: number;
	completion_tokens: number;
	total_tokens: number;
	[field: string]: unknown;
}

export interface ChatCompletionMessage {
	role: string;
	content: string | null;
	tool_calls?: ChatToolCall[] | null;
	/** Reasoning models send their thinking here, or in `reasoning`, or inline in `<think>` tags. */
	reasoning_content?: string | null;
	reasoning?: string | null;
	[field: string]: unknown;
}

export interface ChatCompletionChoice {
	index: number;
	message: ChatCompletionMessage;
	finish_reason: string | null;
	logprobs?: unknown;
	[field: string]: unknown;
}

/** A `chat.completion`: what a non-streamed call returns and what a streamed call is assembled into. */
export interface ChatCompletion {
	id: string;
	object: string;
	created: number;
	model: string;
	choices: ChatCompletionChoice[];
	usage?: ChatUsage | null;
	system_fingerprint?: string | null;
	[field: string]: unknown;
}
