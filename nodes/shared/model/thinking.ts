import { splitReasoning, ThinkFilter } from '../chat/reasoning';

/** The parts of LangChain's chat model classes this file touches, as far as it reads them. */
interface TextChunk {
	text: string;
	message: { content: unknown };
}

interface Generation {
	text: string;
	message: { content: unknown };
}

interface RunManager {
	handleLLMNewToken(token: string, idx?: unknown, runId?: unknown, parentRunId?: unknown, tags?: unknown, fields?: unknown): Promise<void>;
}

export interface ChatModelClass {
	new (fields: Record<string, unknown>): object;
	prototype: {
		withConfig(config: unknown): object;
		_generate(messages: unknown, options: unknown, runManager?: unknown): Promise<{ generations: Generation[] }>;
		_streamResponseChunks(messages: unknown, options: unknown, runManager?: unknown): AsyncGenerator<TextChunk>;
	};
}

/**
 * A subclass of n8n's ChatOpenAI that keeps a reasoning model's thinking out of the answer, as
 * the Chat Completion node does by default: inline `<think>` blocks are removed, whole answers
 * and streamed ones alike. (`reasoning_content` and `reasoning` fields never reach the answer:
 * LangChain's OpenAI client does not read them.)
 *
 * Streamed pieces pass through a ThinkFilter; the tokens an agent streams to the chat are the
 * filtered ones, because this class reports them to LangChain itself instead of the parent.
 * Overriding LangChain's `_generate` and `_streamResponseChunks` in a subclass is the way
 * LangChain chat models are meant to be extended.
 */
export function withoutThinking<T extends ChatModelClass>(Base: T): T {
	const parent = Base.prototype;
	class NebulaBlockChatModel extends (Base as ChatModelClass) {
		/**
		 * ChatOpenAI copies itself for bound tools and options (what an agent uses) with
		 * `new ChatOpenAI(...)`, which would drop this class: the copy is made one of ours again.
		 */
		withConfig(config: unknown): object {
			const copy = parent.withConfig.call(this, config);
			if (copy instanceof Base && !(copy instanceof NebulaBlockChatModel)) Object.setPrototypeOf(copy, NebulaBlockChatModel.prototype);
			return copy;
		}

		async _generate(messages: unknown, options: unknown, runManager?: unknown) {
			const result = await parent._generate.call(this, messages, options, runManager);
			for (const generation of result.generations) {
				if (typeof generation.message.content !== 'string') continue;
				const answer = splitReasoning({ content: generation.message.content }).answer;
				generation.message.content = answer;
				generation.text = answer;
			}
			return result;
		}

		async *_streamResponseChunks(messages: unknown, options: unknown, runManager?: unknown): AsyncGenerator<TextChunk> {
			const manager = runManager as RunManager | undefined;
			const filter = new ThinkFilter();
			let last: TextChunk | undefined;
			for await (const chunk of parent._streamResponseChunks.call(this, messages, options, undefined)) {
				last = chunk;
				if (typeof chunk.message.content === 'string') {
					const visible = filter.push(chunk.message.content);
					chunk.message.content = visible;
					chunk.text = visible;
				}
				yield chunk;
				await manager?.handleLLMNewToken(chunk.text ?? '', { prompt: 0, completion: 0 }, undefined, undefined, undefined, { chunk });
			}
			const rest = filter.flush();
			if (rest === '' || !last) return;
			// Text held back in case it began a tag goes out in a chunk of the same classes.
			const ChunkClass = last.constructor as new (fields: unknown) => TextChunk;
			const MessageClass = last.message.constructor as new (fields: unknown) => TextChunk['message'];
			const tail = new ChunkClass({ text: rest, message: new MessageClass({ content: rest }) });
			yield tail;
			await manager?.handleLLMNewToken(rest, { prompt: 0, completion: 0 }, undefined, undefined, undefined, { chunk: tail });
		}
	}
	return NebulaBlockChatModel as unknown as T;
}
