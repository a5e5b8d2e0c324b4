import type { ChatMessage } from './types';

/** Role markers and separators a chat template adds around every message. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * A tokenizer-free estimate, on the high side: about four ASCII characters per token (English
 * and code), and one token per other character (CJK text is roughly one token per character;
 * accented Latin is overcounted, which only makes the budget safer).
 */
/** About what one image costs on Qwen2.5-VL and OpenAI models at high detail (~1000 tokens for 1024x1024). */
export const IMAGE_TOKENS = 1000;

export function estimateTokens(text: string): number {
	let ascii = 0;
	let other = 0;
	for (const char of text) {
		if (char.charCodeAt(0) < 128) ascii++;
		else other++;
	}
	return Math.ceil(ascii / 4) + other;
}

export function estimateMessageTokens(message: ChatMessage): number {
	let tokens = MESSAGE_OVERHEAD_TOKENS;
	if (typeof message.content === 'string') tokens += estimateTokens(message.content);
	else if (Array.isArray(message.content)) {
		for (const part of message.content) {
			// An image costs what the model's vision encoder makes of it, not its (long) data URL.
			if ((part as { type?: unknown })?.type === 'image_url') {
				tokens += IMAGE_TOKENS;
				continue;
			}
			const text = (part as { text?: unknown })?.text;
			tokens += estimateTokens(typeof text === 'string' ? text : JSON.stringify(part));
		}
	}
	if (message.tool_calls) tokens += estimateTokens(JSON.stringify(message.tool_calls));
	if (message.name) tokens += estimateTokens(message.name);
	return tokens;
}

export interface Truncation {
	messages: ChatMessage[];
	/** How many messages were left out. */
	evicted: number;
	/** The estimate for what is left; above the budget when even the essentials do not fit. */
	estimatedTokens: number;
}

/**
 * Leaves out the earliest non-system messages until the estimate fits `budget`, as the Chat
 * Text endpoint does on the server. System messages and the last message (with the tool call it answers) always stay: without
 * them there is nothing to answer, so a conversation that cannot fit is sent as small as it can
 * be and the service decides. A tool result whose call was left out goes too, because the API
 * rejects a tool message without the assistant turn that asked for it.
 */
export function truncateMessages(messages: ChatMessage[], budget: number): Truncation {
	const costs = messages.map(estimateMessageTokens);
	let total = costs.reduce((sum, cost) => sum + cost, 0);
	const kept = messages.map(() => true);
	// The last message stays; when it is a tool result, so do the turn that called the tool and its siblings.
	let keepFrom = messages.length - 1;
	while (keepFrom > 0 && messages[keepFrom].role === 'tool') keepFrom--;
	let evicted = 0;
	const evict = (index: number) => {
		kept[index] = false;
		total -= costs[index];
		evicted++;
	};
	for (let index = 0; index < keepFrom && total > budget; index++) {
		if (messages[index].role === 'system') continue;
		evict(index);
		// Tool results right after an evicted turn lost their call.
		while (index + 1 < keepFrom && messages[index + 1].role === 'tool') evict(++index);
	}
	return { messages: messages.filter((_, index) => kept[index]), evicted, estimatedTokens: total };
}
