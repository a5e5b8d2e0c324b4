/**
 * Reasoning models (DeepSeek-R1, QwQ) return their thinking in one of three places, depending
 * on the server version: a `reasoning_content` field, a `reasoning` field, or inline in the
 * content as `<think>...</think>`. This file finds it wherever it is and shapes the answer the
 * way the Reasoning option asks.
 */

export type ReasoningMode = 'separate' | 'strip' | 'inline';

export const REASONING_MODES: readonly ReasoningMode[] = ['separate', 'strip', 'inline'];

const OPEN = '<think>';
const CLOSE = '</think>';

export interface ReasoningSource {
	content: string | null;
	reasoning_content?: string | null;
	reasoning?: string | null;
}

export interface ShapedAnswer {
	content: string;
	reasoning?: string;
}

export interface SplitAnswer {
	/** The content without any `<think>` block. */
	answer: string;
	/** Reasoning from the fields and the inline blocks, in that order; undefined when there is none. */
	reasoning?: string;
}

/** Separates reasoning (from either field and from inline blocks) from the answer. */
export function splitReasoning(message: ReasoningSource): SplitAnswer {
	const parts: string[] = [];
	for (const field of [message.reasoning_content, message.reasoning]) {
		if (typeof field === 'string' && field.trim() !== '') parts.push(field.trim());
	}
	const inline = splitInline(message.content ?? '');
	parts.push(...inline.blocks);
	return { answer: inline.answer, ...(parts.length > 0 && { reasoning: parts.join('\n\n') }) };
}

/** Applies the Reasoning option to one answer. */
export function shapeReasoning(message: ReasoningSource, mode: ReasoningMode): ShapedAnswer {
	const content = message.content ?? '';
	if (mode === 'inline') {
		// Reasoning that came in a field is put where inline reasoning would be, so "inline" means one thing.
		const fieldParts = [message.reasoning_content, message.reasoning].filter(
			(field): field is string => typeof field === 'string' && field.trim() !== '',
		);
		if (fieldParts.length === 0) return { content };
		return { content: `${OPEN}\n${fieldParts.map((part) => part.trim()).join('\n\n')}\n${CLOSE}\n\n${content}` };
	}
	const split = splitReasoning(message);
	if (mode === 'strip' || split.reasoning === undefined) return { content: split.answer };
	return { content: split.answer, reasoning: split.reasoning };
}

/**
 * Finds `<think>` blocks in content. Two incomplete forms occur: a template that puts the
 * opening tag in the prompt, so the answer starts inside the block and has only `</think>`;
 * and an answer cut by Max Tokens while still thinking, which has only `<think>`.
 */
function splitInline(content: string): { answer: string; blocks: string[] } {
	if (!content.includes(OPEN) && !content.includes(CLOSE)) return { answer: content, blocks: [] };
	const blocks: string[] = [];
	let rest = content;
	const firstOpen = rest.indexOf(OPEN);
	const firstClose = rest.indexOf(CLOSE);
	if (firstClose !== -1 && (firstOpen === -1 || firstClose < firstOpen)) {
		pushBlock(blocks, rest.slice(0, firstClose));
		rest = rest.slice(firstClose + CLOSE.length);
	}
	let answer = '';
	for (;;) {
		const open = rest.indexOf(OPEN);
		if (open === -1) {
			answer += rest;
			break;
		}
		answer += rest.slice(0, open);
		const close = rest.indexOf(CLOSE, open + OPEN.length);
		if (close === -1) {
			pushBlock(blocks, rest.slice(open + OPEN.length));
			break;
		}
		pushBlock(blocks, rest.slice(open + OPEN.length, close));
		rest = rest.slice(close + CLOSE.length);
	}
	return { answer: answer.trim(), blocks };
}

function pushBlock(blocks: string[], text: string): void {
	const trimmed = text.trim();
	if (trimmed !== '') blocks.push(trimmed);
}

/**
 * Hides inline `<think>` blocks from text that arrives in pieces (a chat that shows the answer
 * as it streams), holding back a piece that may be the start of a tag split across deltas.
 */
export class ThinkFilter {
	private pending = '';
	private inside = false;
	private trimLeading = false;

	/** Feeds one delta; returns the part of the answer that can be shown now. */
	push(text: string): string {
		this.pending += text;
		let visible = '';
		for (;;) {
			const tag = this.inside ? CLOSE : OPEN;
			const at = this.pending.indexOf(tag);
			if (at !== -1) {
				if (!this.inside) visible += this.show(this.pending.slice(0, at));
				this.pending = this.pending.slice(at + tag.length);
				this.inside = !this.inside;
				// The blank line a model writes after its thinking is not part of the answer.
				if (!this.inside) this.trimLeading = true;
				continue;
			}
			const keep = partialTagLength(this.pending, tag);
			const ready = this.pending.slice(0, this.pending.length - keep);
			this.pending = this.pending.slice(this.pending.length - keep);
			if (!this.inside) visible += this.show(ready);
			return visible;
		}
	}

	/** Ends the stream: returns what was held back, unless it is inside a block. */
	flush(): string {
		const rest = this.inside ? '' : this.show(this.pending);
		this.pending = '';
		return rest;
	}

	private show(text: string): string {
		if (!this.trimLeading) return text;
		const trimmed = text.replace(/^\s+/, '');
		if (trimmed !== '') this.trimLeading = false;
		return trimmed;
	}
}

/** Length of the longest end of `text` that is the beginning of `tag`. */
function partialTagLength(text: string, tag: string): number {
	for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
		if (tag.startsWith(text.slice(text.length - length))) return length;
	}
	return 0;
}
