import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

/**
 * Streaming a node's answers to the chat (a Chat Trigger, or a Webhook whose Response Mode is
 * Streaming), in the chunks n8n sends on: `begin`, `item` (a piece of text), `error`, `end`.
 *
 * Only the answer a person should read is streamed:
 * - never when the node runs as an AI Agent tool: n8n's `isStreaming()` is true for every node
 *   of a streaming execution, tools included, and a tool's answer is for the agent;
 * - never when the node's Enable Streaming option is off (a classification or other
 *   intermediate step whose output is for the workflow).
 *
 * Items never interleave: n8n's chat keys a streamed message by node and run, not by item, so
 * the chat receives item 0's chunks whole, then item 1's, in input order. The item the chat is
 * showing goes live as its tokens arrive; a later item that runs at the same time (Concurrency)
 * is held back whole and flushed, in order, as soon as every earlier item has ended. Nothing is
 * dropped: an item that fails under Continue On Fail still sends begin, error and end in its turn.
 */
export interface ChatStream {
	begin(itemIndex: number): void;
	delta(itemIndex: number, text: string): void;
	error(itemIndex: number, message: string): void;
	end(itemIndex: number): void;
	/** Resolves when n8n has taken every chunk sent so far. */
	drain(): Promise<void>;
}

/** The chat stream of this node run, or undefined when its answers must not reach the chat. */
export function openChatStream(context: IExecuteFunctions): ChatStream | undefined {
	if (!streamsToChat(context)) return undefined;
	return new OrderedChatStream(context);
}

export function streamsToChat(context: IExecuteFunctions): boolean {
	if (typeof context.isStreaming !== 'function' || !context.isStreaming()) return false;
	if (runsAsAgentTool(context)) return false;
	return context.getNodeParameter('options.enableStreaming', 0, true) !== false;
}

/**
 * Whether n8n runs this node as a tool of an AI Agent. Two ways, both recognised:
 * - AI Agent 3.x hands tool calls back to the engine ("engine request"), which runs the tool
 *   node like any other node, with an ExecuteContext whose `isStreaming()` may be true. The
 *   engine marks that run: the node's `rewireOutputLogTo` is `ai_tool` (its output is logged
 *   on the tool connection) and the run's metadata has `preserveSourceOverwrite`.
 * - Older agents call the node in-process through a supply-data context, whose
 *   `isToolExecution()` is true (and which cannot stream anyway).
 */
export function runsAsAgentTool(context: IExecuteFunctions): boolean {
	if (typeof context.isToolExecution === 'function' && context.isToolExecution()) return true;
	if (context.getNode().rewireOutputLogTo === NodeConnectionTypes.AiTool) return true;
	const executeData = typeof context.getExecuteData === 'function' ? context.getExecuteData() : undefined;
	return executeData?.metadata?.preserveSourceOverwrite === true;
}

type ChunkType = 'begin' | 'item' | 'error' | 'end';

interface Chunk {
	type: ChunkType;
	content?: string;
}

interface HeldItem {
	chunks: Chunk[];
	ended: boolean;
}

class OrderedChatStream implements ChatStream {
	/** The item the chat shows now; every item before it has ended in the chat. */
	private showing = 0;
	private readonly held = new Map<number, HeldItem>();
	/** Chunks go to n8n one after another, in the order they are sent here. */
	private sending: Promise<void> = Promise.resolve();

	constructor(private readonly context: IExecuteFunctions) {}

	begin(itemIndex: number): void {
		this.put(itemIndex, { type: 'begin' });
	}

	delta(itemIndex: number, text: string): void {
		if (text !== '') this.put(itemIndex, { type: 'item', content: text });
	}

	error(itemIndex: number, message: string): void {
		this.put(itemIndex, { type: 'error', content: message });
	}

	end(itemIndex: number): void {
		if (itemIndex !== this.showing) {
			const held = this.heldItem(itemIndex);
			held.chunks.push({ type: 'end' });
			held.ended = true;
			return;
		}
		this.send(itemIndex, { type: 'end' });
		this.showNext();
	}

	async drain(): Promise<void> {
		await this.sending;
	}

	private put(itemIndex: number, chunk: Chunk): void {
		if (itemIndex === this.showing) this.send(itemIndex, chunk);
		else this.heldItem(itemIndex).chunks.push(chunk);
	}

	/** Moves on to the next item: what it held goes out now; if it had ended too, on again. */
	private showNext(): void {
		for (;;) {
			this.showing++;
			const held = this.held.get(this.showing);
			// Not begun yet: its chunks go out live when it begins.
			if (!held) return;
			this.held.delete(this.showing);
			for (const chunk of held.chunks) this.send(this.showing, chunk);
			if (!held.ended) return;
		}
	}

	private heldItem(itemIndex: number): HeldItem {
		let held = this.held.get(itemIndex);
		if (!held) {
			held = { chunks: [], ended: false };
			this.held.set(itemIndex, held);
		}
		return held;
	}

	private send(itemIndex: number, chunk: Chunk): void {
		const { context } = this;
		// A client that went away must not fail the node: its answer is still the node's output.
		this.sending = this.sending
			.then(async () => await context.sendChunk(chunk.type, itemIndex, chunk.content))
			.catch((error: unknown) => {
				context.logger?.debug('Could not send a chunk to the chat', { error: (error as Error)?.message });
			});
	}
}
