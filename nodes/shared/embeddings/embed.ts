/**
 * The one way texts become vectors, for the Embeddings sub-node and the Embed node alike:
 * strip new lines, fit each text to the model's context (truncate or fail), split into batches,
 * send the batches, up to BATCHES_IN_FLIGHT at once, each through the transport (its retry engine
 * and the limiter of the API key and origin, shared with every other node), and check what comes
 * back (vectors.ts), in the order of the texts.
 */
import { InputError, describeValue } from '../inputError';
import { requestJson, type Connection, type RequestPolicy } from '../transport/client';
import { NebulaBlockError } from '../transport/errors';
import { contextOf, cutToTokens, estimateTokens, leastTokens } from './length';
import { invalidVectors, readEmbeddings, type EmbeddingUsage } from './vectors';

export const EMBEDDINGS_PATH = '/embeddings';
export const DEFAULT_EMBEDDING_MODEL = 'BAAI/bge-large-en-v1.5';

export type TooLong = 'truncate' | 'fail';

export interface EmbeddingSettings {
	/** Texts per request. */
	batchSize: number;
	stripNewLines: boolean;
	tooLong: TooLong;
}

export const DEFAULT_EMBEDDING_SETTINGS: EmbeddingSettings = { batchSize: 32, stripNewLines: true, tooLong: 'truncate' };

export interface EmbedInput {
	connection: Connection;
	model: string;
	texts: unknown[];
	settings: EmbeddingSettings;
	policy: RequestPolicy;
	/** How errors name the text at an index, e.g. "Text 3 of 20" or "The text of item 4". */
	nameOf: (index: number) => string;
}

export interface Embedded {
	/** One per text, in the order of the texts. */
	vectors: number[][];
	/** The model the service says answered, else the one asked for. */
	model: string;
	usage: Required<EmbeddingUsage>;
	/** The indexes of the texts that were cut to fit the model's context. */
	truncated: number[];
}

/** The request body: `encoding_format` always "float", so no client or proxy default (base64) applies. */
export function embeddingsBody(model: string, input: string[]): { model: string; input: string[]; encoding_format: 'float' } {
	return { model, input, encoding_format: 'float' };
}

export function batchesOf<T>(items: T[], size: number): T[][] {
	const batches: T[][] = [];
	for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
	return batches;
}

/** Line breaks (\n, \r\n, \r) become spaces. */
export function stripNewLines(text: string): string {
	return text.replace(/\r\n|\r|\n/g, ' ');
}

/** The texts as they are sent: checked, stripped of line breaks if asked, fitted to the context. */
export function prepareTexts(input: Pick<EmbedInput, 'model' | 'texts' | 'settings' | 'nameOf'>): { texts: string[]; truncated: number[] } {
	const context = contextOf(input.model);
	const truncated: number[] = [];
	const texts = input.texts.map((given, index) => {
		if (typeof given !== 'string') {
			throw new InputError(`${input.nameOf(index)} is not text but ${describeValue(given)}`, 'Give the text to embed as a string, e.g. with {{ JSON.stringify($json.data) }} for an object.');
		}
		if (given.trim() === '') {
			throw new InputError(`${input.nameOf(index)} is empty`, 'There is nothing to embed: check that the expression or document gives text for it.');
		}
		const text = input.settings.stripNewLines ? stripNewLines(given) : given;
		if (input.settings.tooLong === 'fail') {
			const least = leastTokens(text);
			if (least > context) throw tooLongError(input, index, text, `at least ${least} tokens`, context);
			return text;
		}
		const cut = cutToTokens(text, context);
		if (cut !== text) truncated.push(index);
		return cut;
	});
	return { texts, truncated };
}

function tooLongError(input: Pick<EmbedInput, 'model' | 'nameOf'>, index: number, text: string, counted: string, context: number): InputError {
	return new InputError(
		`${input.nameOf(index)} is too long for ${input.model}: ${counted} (${text.length} characters), and the model takes ${context}`,
		"Split long texts into smaller pieces before embedding them (a Text Splitter with a Chunk Size of about 1,000 characters fits this model), or set the option Text Longer Than the Model's Context to Truncate.",
	);
}

/** The most times a batch is cut again and resent after the service said a text is still too long. */
const RECUTS = 2;

/**
 * Batches sent at once by one call, at most. LangChain's OpenAIEmbeddings sends 2; a few more
 * hide the service's latency, while the limiter of the API key and origin (Auto) still decides
 * when each request goes, so a rate limit slows them down instead of failing them.
 */
export const BATCHES_IN_FLIGHT = 4;

export async function embedTexts(input: EmbedInput): Promise<Embedded> {
	const prepared = prepareTexts(input);
	const truncated = new Set(prepared.truncated);
	const size = Math.max(1, Math.floor(input.settings.batchSize));
	const batches = batchesOf(prepared.texts, size);
	const answers = await inOrder(batches.length, BATCHES_IN_FLIGHT, async (batchIndex) => await embedBatch(input, batches[batchIndex], batchIndex * size, truncated));
	const vectors: number[][] = [];
	const usage = { prompt_tokens: 0, total_tokens: 0 };
	let model = input.model;
	for (const [batchIndex, answer] of answers.entries()) {
		const offset = batchIndex * size;
		const length = vectors[0]?.length ?? answer.vectors[0].length;
		if (answer.vectors[0].length !== length) {
			throw invalidVectors(
				`The vectors have different lengths: those of texts 0 to ${offset - 1} have ${length} numbers, those from text ${offset} on ${answer.vectors[0].length}`,
				answer.requestId,
			);
		}
		for (const vector of answer.vectors) vectors.push(vector);
		usage.prompt_tokens += answer.usage?.prompt_tokens ?? 0;
		usage.total_tokens += answer.usage?.total_tokens ?? answer.usage?.prompt_tokens ?? 0;
		model = answer.model ?? model;
	}
	return { vectors, model, usage, truncated: [...truncated].sort((a, b) => a - b) };
}

/**
 * `task(0)` to `task(count - 1)`, at most `limit` running at once, started in index order; the
 * results in index order. After a failure nothing new starts; once the running ones are over, the
 * error of the lowest index that failed is thrown (the same one whatever finished first).
 */
export async function inOrder<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
	const results = new Array<T>(count);
	let next = 0;
	const failures: Array<{ index: number; error: unknown }> = [];
	const worker = async (): Promise<void> => {
		while (failures.length === 0 && next < count) {
			const index = next++;
			const outcome = await task(index).then(
				(value) => ({ ok: true as const, value }),
				(error: unknown) => ({ ok: false as const, error }),
			);
			if (outcome.ok) results[index] = outcome.value;
			else failures.push({ index, error: outcome.error });
		}
	};
	await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), count) }, worker));
	if (failures.length > 0) throw failures.reduce((first, failure) => (failure.index < first.index ? failure : first)).error;
	return results;
}

type Attempt = { ok: true; value: Awaited<ReturnType<typeof requestJson>> } | { ok: false; error: unknown };

/**
 * One batch. Under Truncate, a refusal for length (the service counted more tokens than the
 * estimate said) cuts the batch's texts again, by the ratio the service's own count gives, and
 * sends it again, at most RECUTS times. Under Fail it names the text that is most likely too long.
 */
async function embedBatch(input: EmbedInput, batch: string[], offset: number, truncated: Set<number>) {
	let texts = batch;
	let budget = contextOf(input.model);
	for (let recut = 0; ; recut++) {
		const body = embeddingsBody(input.model, texts);
		const attempt: Attempt = await requestJson(input.connection, { method: 'POST', path: EMBEDDINGS_PATH, body }, input.policy).then(
			(value) => ({ ok: true as const, value }),
			(error: unknown) => ({ ok: false as const, error }),
		);
		if (attempt.ok) return { ...readEmbeddings(attempt.value.body, texts.length, attempt.value.requestId), requestId: attempt.value.requestId };
		const refusal = lengthRefusal(attempt.error);
		if (refusal === undefined) throw attempt.error;
		if (input.settings.tooLong === 'fail' || recut >= RECUTS) {
			const longest = longestIndex(texts);
			throw tooLongError(input, offset + longest, texts[longest], `the service counted ${refusal.requested} tokens`, refusal.context);
		}
		budget = Math.max(1, Math.floor((budget * refusal.context) / refusal.requested) - 1);
		texts = texts.map((text, index) => {
			const cut = cutToTokens(text, budget);
			if (cut !== text) truncated.add(offset + index);
			return cut;
		});
	}
}

/** vLLM's words for a text longer than the context, with the two counts they give. */
const LENGTH_REFUSAL = /maximum context length is (\d+) tokens.*?requested (\d+) tokens/is;

export function lengthRefusal(error: unknown): { context: number; requested: number } | undefined {
	if (!(error instanceof NebulaBlockError) || error.status !== 400) return undefined;
	const match = LENGTH_REFUSAL.exec(error.message);
	if (!match) return undefined;
	const context = Number(match[1]);
	const requested = Number(match[2]);
	return context > 0 && requested > context ? { context, requested } : undefined;
}

function longestIndex(texts: string[]): number {
	let longest = 0;
	for (let index = 1; index < texts.length; index++) {
		if (estimateTokens(texts[index]) > estimateTokens(texts[longest])) longest = index;
	}
	return longest;
}
