import { isObject, type JsonObject } from '../json';
import type { ChatCompletion, ChatCompletionChoice, ChatCompletionMessage, ChatToolCall, ChatUsage } from './types';

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
	/**
	 * Made at the first tool-call fragment: most answers call no tool, and an empty Map per
	 * request (about 170 bytes, kept while the answer streams) added to what a run of many
	 * items leaves for the garbage collector (benchmark figure 6).
	 */
	toolCalls?: Map<number, ToolCallState>;
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
	/** The choice the previous chunk touched: with one choice (almost always), no map lookup. */
	private lastChoice?: ChoiceState;
	private chunkCount = 0;

	/** Feeds one decoded payload. Returns the content text it adds, per choice, for live display. */
	push(chunk: JsonObject): ContentDelta[] {
		this.chunkCount++;
		// Once set, the first value stays: the stored field is tested first, so a long stream
		// costs one comparison per field and chunk.
		if (this.id === '' && typeof chunk.id === 'string') this.id = chunk.id;
		if (this.created === 0 && typeof chunk.created === 'number') this.created = chunk.created;
		if (this.model === '' && typeof chunk.model === 'string') this.model = chunk.model;
		const systemFingerprint = chunk.system_fingerprint;
		if (systemFingerprint !== undefined) this.systemFingerprint = systemFingerprint as string | null;
		const serviceTier = chunk.service_tier;
		if (serviceTier !== undefined) this.serviceTier = serviceTier;
		// Some servers repeat a running total in every chunk: the last one seen is the whole count.
		const usage = chunk.usage;
		if (isObject(usage)) this.usage = usage as unknown as ChatUsage;
		const deltas: ContentDelta[] = [];
		const choices = chunk.choices;
		if (!Array.isArray(choices)) return deltas;
		for (let position = 0; position < choices.length; position++) {
			const rawChoice: unknown = choices[position];
			if (!isObject(rawChoice)) continue;
			const index = typeof rawChoice.index === 'number' ? rawChoice.index : position;
			const text = this.applyChoice(this.choiceAt(index), rawChoice);
			if (text !== '') deltas.push({ index, text });
		}
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
		const last = this.lastChoice;
		if (last !== undefined && last.index === index) return last;
		let choice = this.choices.get(index);
		if (!choice) {
			choice = { index, content: '', finishReason: null };
			this.choices.set(index, choice);
		}
		this.lastChoice = choice;
		return choice;
	}

	private applyChoice(choice: ChoiceState, raw: JsonObject): string {
		const finishReason = raw.finish_reason;
		if (typeof finishReason === 'string' && finishReason !== '') choice.finishReason = finishReason;
		const logprobs = raw.logprobs;
		if (isObject(logprobs) && Array.isArray(logprobs.content)) {
			// Appended in place: copying the list per chunk made long answers with logprobs quadratic.
			(choice.logprobs ??= []).push(...logprobs.content);
		}
		const delta = raw.delta;
		if (!isObject(delta)) return '';
		const content = delta.content;
		const role = delta.role;
		if (typeof role === 'string' && role !== '') choice.role = role;
		const reasoningContent = delta.reasoning_content;
		if (typeof reasoningContent === 'string') choice.reasoningContent = (choice.reasoningContent ?? '') + reasoningContent;
		const reasoning = delta.reasoning;
		if (typeof reasoning === 'string') choice.reasoning = (choice.reasoning ?? '') + reasoning;
		const toolCalls = delta.tool_calls;
		if (Array.isArray(toolCalls)) {
			for (const call of toolCalls) if (isObject(call)) mergeToolCall(choice, call);
		}
		const functionCall = delta.function_call;
		if (isObject(functionCall)) {
			choice.functionCall ??= { name: '', arguments: '' };
			if (typeof functionCall.name === 'string') choice.functionCall.name = mergeName(choice.functionCall.name, functionCall.name);
			if (typeof functionCall.arguments === 'string') choice.functionCall.arguments += functionCall.arguments;
		}
		if (typeof content === 'string') {
			choice.content += content;
			return content;
		}
		return '';
	}
}

function mergeToolCall(choice: ChoiceState, fragment: JsonObject): void {
	const slot = toolSlot(choice, fragment);
	choice.lastToolSlot = slot;
	const calls = (choice.toolCalls ??= new Map());
	let call = calls.get(slot);
	if (!call) {
		call = { id: '', type: 'function', name: '', arguments: '' };
		calls.set(slot, call);
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
function toolSlot(choice: ChoiceState, fragment: JsonObject): number {
	if (typeof fragment.index === 'number') return fragment.index;
	const id = typeof fragment.id === 'string' && fragment.id !== '' ? fragment.id : undefined;
	if (id !== undefined) {
		const calls = choice.toolCalls;
		if (calls === undefined || calls.size === 0) return 0;
		for (const [slot, call] of calls) if (call.id === id) return slot;
		return Math.max(...calls.keys()) + 1;
	}
	return choice.lastToolSlot ?? 0;
}

/** Names normally come once; a server that repeats the full name in every fragment must not double it. */
function mergeName(current: string, fragment: string): string {
	if (current === '' || current === fragment) return fragment === '' ? current : fragment;
	return current + fragment;
}

function finishChoice(state: ChoiceState): ChatCompletionChoice {
	const toolCalls: ChatToolCall[] = [...(state.toolCalls?.entries() ?? [])]
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

