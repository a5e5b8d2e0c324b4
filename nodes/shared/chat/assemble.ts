import type { ChatCompletion, ChatCompletionChoice, ChatCompletionMessage, ChatToolCall, ChatUsage } from './types';

type Json = Record<string, unknown>;

interface ToolCallState {
	id: string;
	type: string;
	name: string;
	arguments: string;
}

interface ChoiceState {
	index: number;
	role?: string;
	content: string;
	reasoningContent?: string;
	reasoning?: string;
	toolCalls: Map<number, ToolCallState>;
	/** Slot of the tool call a delta without an index continues. */
	lastToolSlot?: number;
	functionCall?: { name: string; arguments: string };
	finishReason: string | null;
	logprobs?: unknown[];
}

/** One text delta of one choice, as a chat UI would show it. */
export interface ContentDelta {
	index: number;
	text: string;
}

/**
 * Folds the `chat.completion.chunk` payloads of a stream into the `chat.completion` the same
 * request would have returned without streaming: choices by index (n > 1 interleaves them),
 * content and reasoning concatenated, tool-call fragments merged by their index, usage from
 * the chunk that carries it (the last one, with `stream_options.include_usage`).
 */
export class ChatAssembler {
	private id = '';
	private created = 0;
	private model = '';
	private systemFingerprint?: string | null;
	private serviceTier?: unknown;
	private usage?: ChatUsage;
	private readonly choices = new Map<number, ChoiceState>();
	private chunkCount = 0;

	/** Feeds one decoded payload. Returns the content text it adds, per choice, for live display. */
	push(chunk: Json): ContentDelta[] {
		this.chunkCount++;
		if (typeof chunk.id === 'string' && chunk.id !== '' && this.id === '') this.id = chunk.id;
		if (typeof chunk.created === 'number' && this.created === 0) this.created = chunk.created;
		if (typeof chunk.model === 'string' && chunk.model !== '' && this.model === '') this.model = chunk.model;
		if (chunk.system_fingerprint !== undefined) this.systemFingerprint = chunk.system_fingerprint as string | null;
		if (chunk.service_tier !== undefined) this.serviceTier = chunk.service_tier;
		// Some servers repeat a running total in every chunk: the last one seen is the whole count.
		if (isObject(chunk.usage)) this.usage = chunk.usage as ChatUsage;
		const deltas: ContentDelta[] = [];
		if (!Array.isArray(chunk.choices)) return deltas;
		chunk.choices.forEach((rawChoice, position) => {
			if (!isObject(rawChoice)) return;
			const index = typeof rawChoice.index === 'number' ? rawChoice.index : position;
			const text = this.applyChoice(this.choiceAt(index), rawChoice);
			if (text !== '') deltas.push({ index, text });
		});
		return deltas;
	}

	/** How many payloads were pushed. */
	get chunks(): number {
		return this.chunkCount;
	}

	/** Whether every choice seen has its finish reason, i.e. the answer is complete. */
	get finished(): boolean {
		if (this.choices.size === 0) return false;
		for (const choice of this.choices.values()) if (choice.finishReason === null) return false;
		return true;
	}

	/** The assembled completion, in the shape a non-streamed request returns. */
	completion(): ChatCompletion {
		const completion: ChatCompletion = {
			id: this.id,
			object: 'chat.completion',
			created: this.created,
			model: this.model,
			choices: [...this.choices.values()].sort((a, b) => a.index - b.index).map(finishChoice),
		};
		if (this.systemFingerprint !== undefined) completion.system_fingerprint = this.systemFingerprint;
		if (this.serviceTier !== undefined) completion.service_tier = this.serviceTier;
		if (this.usage !== undefined) completion.usage = this.usage;
		return completion;
	}

	private choiceAt(index: number): ChoiceState {
		let choice = this.choices.get(index);
		if (!choice) {
			choice = { index, content: '', toolCalls: new Map(), finishReason: null };
			this.choices.set(index, choice);
		}
		return choice;
	}

	private applyChoice(choice: ChoiceState, raw: Json): string {
		if (typeof raw.finish_reason === 'string' && raw.finish_reason !== '') choice.finishReason = raw.finish_reason;
		if (isObject(raw.logprobs) && Array.isArray(raw.logprobs.content)) {
			// Appended in place: copying the list per chunk made long answers with logprobs quadratic.
			(choice.logprobs ??= []).push(...raw.logprobs.content);
		}
		const delta = raw.delta;
		if (!isObject(delta)) return '';
		if (typeof delta.role === 'string' && delta.role !== '') choice.role = delta.role;
		if (typeof delta.reasoning_content === 'string') {
			choice.reasoningContent = (choice.reasoningContent ?? '') + delta.reasoning_content;
		}
		if (typeof delta.reasoning === 'string') choice.reasoning = (choice.reasoning ?? '') + delta.reasoning;
		if (Array.isArray(delta.tool_calls)) {
			for (const call of delta.tool_calls) if (isObject(call)) mergeToolCall(choice, call);
		}
		if (isObject(delta.function_call)) {
			const fragment = delta.function_call;
			choice.functionCall ??= { name: '', arguments: '' };
			if (typeof fragment.name === 'string') choice.functionCall.name = mergeName(choice.functionCall.name, fragment.name);
			if (typeof fragment.arguments === 'string') choice.functionCall.arguments += fragment.arguments;
		}
		if (typeof delta.content === 'string') {
			choice.content += delta.content;
			return delta.content;
		}
		return '';
	}
}

function mergeToolCall(choice: ChoiceState, fragment: Json): void {
	const slot = toolSlot(choice, fragment);
	choice.lastToolSlot = slot;
	let call = choice.toolCalls.get(slot);
	if (!call) {
		call = { id: '', type: 'function', name: '', arguments: '' };
		choice.toolCalls.set(slot, call);
	}
	if (typeof fragment.id === 'string' && fragment.id !== '') call.id = fragment.id;
	if (typeof fragment.type === 'string' && fragment.type !== '') call.type = fragment.type;
	const fn = fragment.function;
	if (isObject(fn)) {
		if (typeof fn.name === 'string') call.name = mergeName(call.name, fn.name);
		if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
	}
}

/**
 * Fragments name their call by `index`. A server that leaves it out starts a new call with a
 * new `id` and continues the current one without; that is the only other shape seen.
 */
function toolSlot(choice: ChoiceState, fragment: Json): number {
	if (typeof fragment.index === 'number') return fragment.index;
	const id = typeof fragment.id === 'string' && fragment.id !== '' ? fragment.id : undefined;
	if (id !== undefined) {
		for (const [slot, call] of choice.toolCalls) if (call.id === id) return slot;
		return choice.toolCalls.size === 0 ? 0 : Math.max(...choice.toolCalls.keys()) + 1;
	}
	return choice.lastToolSlot ?? 0;
}

/** Names normally come once; a server that repeats the full name in every fragment must not double it. */
function mergeName(current: string, fragment: string): string {
	if (current === '' || current === fragment) return fragment === '' ? current : fragment;
	return current + fragment;
}

function finishChoice(state: ChoiceState): ChatCompletionChoice {
	const toolCalls: ChatToolCall[] = [...state.toolCalls.entries()]
		.sort(([a], [b]) => a - b)
		.map(([, call]) => ({
			id: call.id,
			type: call.type as 'function',
			function: { name: call.name, arguments: call.arguments },
		}));
	const message: ChatCompletionMessage = {
		role: state.role ?? 'assistant',
		// A non-streamed answer that only calls tools has null content; match it.
		content: state.content === '' && (toolCalls.length > 0 || state.functionCall) ? null : state.content,
	};
	if (state.reasoningContent !== undefined) message.reasoning_content = state.reasoningContent;
	if (state.reasoning !== undefined) message.reasoning = state.reasoning;
	if (toolCalls.length > 0) message.tool_calls = toolCalls;
	if (state.functionCall) message.function_call = state.functionCall;
	return {
		index: state.index,
		message,
		finish_reason: state.finishReason,
		logprobs: state.logprobs ? { content: state.logprobs } : null,
	};
}

function isObject(value: unknown): value is Json {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
