/**
 * How long a text is in a model's tokens, without the model's tokenizer (the package ships none):
 * an estimate meant to err on the long side, and a lower bound that is sure.
 *
 * The listed embedding models (BAAI/bge-large-en-v1.5, WhereIsAI/UAE-Large-V1) are BERT models with
 * a WordPiece tokenizer and a 512-token context, two of which go to the special tokens [CLS] and
 * [SEP]. WordPiece splits on whitespace and punctuation first, so:
 * - every word and every punctuation mark is at least one token (the lower bound);
 * - an ASCII run of letters and digits is estimated at one token per 4 characters, rounded up
 *   ("embedding" 3, "the" 1; common English averages about 1.3 tokens a word, the estimate about 1.5);
 * - a letter or digit outside ASCII counts one token each (CJK characters are single tokens;
 *   other scripts fall apart into pieces in an English vocabulary).
 * Where the estimate still falls short (rare words, random IDs), the service's own refusal
 * tells by how much, and the texts are cut again (embed.ts).
 */

/** [CLS] and [SEP]. */
export const SPECIAL_TOKENS = 2;

/** The context of the documented embedding models; a model ID the table does not know gets the same. */
export const DEFAULT_CONTEXT_TOKENS = 512;

const CONTEXT_TOKENS: Record<string, number> = {
	'BAAI/bge-large-en-v1.5': 512,
	'WhereIsAI/UAE-Large-V1': 512,
};

export function contextOf(model: string): number {
	return CONTEXT_TOKENS[model] ?? DEFAULT_CONTEXT_TOKENS;
}

/** A run of ASCII letters and digits, a run of other letters and digits, or any other visible character. */
const PIECE = /[A-Za-z0-9]+|[\p{L}\p{N}\p{M}]+|\S/gu;
const ASCII_WORD = /^[A-Za-z0-9]+$/;
const CHARS_PER_TOKEN = 4;

function pieceTokens(piece: string): number {
	if (ASCII_WORD.test(piece)) return Math.ceil(piece.length / CHARS_PER_TOKEN);
	return Array.from(piece).length;
}

/** The estimate, special tokens included: meant to be at least what the model counts. */
export function estimateTokens(text: string): number {
	let tokens = SPECIAL_TOKENS;
	for (const match of text.matchAll(PIECE)) tokens += pieceTokens(match[0]);
	return tokens;
}

/** What the model counts at least, special tokens included: one token per whitespace-separated word. */
export function leastTokens(text: string): number {
	return SPECIAL_TOKENS + (text.match(/\S+/g)?.length ?? 0);
}

/**
 * The longest start of `text` whose estimate fits `budget` tokens (special tokens included), cut
 * between pieces, or inside a piece that alone is too long. Returns the text itself when it fits.
 */
export function cutToTokens(text: string, budget: number): string {
	let tokens = SPECIAL_TOKENS;
	for (const match of text.matchAll(PIECE)) {
		const piece = match[0];
		const cost = pieceTokens(piece);
		if (tokens + cost <= budget) {
			tokens += cost;
			continue;
		}
		const room = Math.max(0, budget - tokens);
		const start = match.index ?? 0;
		const keep = ASCII_WORD.test(piece) ? piece.slice(0, room * CHARS_PER_TOKEN) : Array.from(piece).slice(0, room).join('');
		return (text.slice(0, start) + keep).trimEnd();
	}
	return text;
}
