/**
 * Reads the answer of POST /embeddings: exactly one vector per text sent, put in order by its
 * `index` (never by position), all of one length, every entry a finite number. Anything else is an
 * error that says what the service sent: a vector store must never get a wrong or empty vector.
 */
import { describeValue } from '../inputError';
import { isObject } from '../json';
import { NebulaBlockError } from '../transport/errors';

export interface EmbeddingUsage {
	prompt_tokens?: number;
	total_tokens?: number;
}

export interface EmbeddingAnswer {
	vectors: number[][];
	usage?: EmbeddingUsage;
	model?: string;
}

const HINT =
	'The embeddings service sent vectors that cannot be used, so nothing was embedded: try again, and if it keeps happening, try the other embedding model or report it to Nebula Block with the request ID.';

/** The error for an answer whose vectors cannot be used, with what to do about it. */
export function invalidVectors(message: string, requestId: string | undefined): NebulaBlockError {
	return new NebulaBlockError({ kind: 'invalidResponse', message, requestId, hint: HINT });
}

/** `count` texts were sent; the answer must hold their vectors. */
export function readEmbeddings(body: unknown, count: number, requestId?: string): EmbeddingAnswer {
	const data = isObject(body) ? body.data : undefined;
	if (!Array.isArray(data)) {
		throw invalidVectors('The service\'s reply has no list of vectors: expected {"data":[{"index":0,"embedding":[...]}]}', requestId);
	}
	if (data.length !== count) {
		throw invalidVectors(`The service sent ${data.length} vector${data.length === 1 ? '' : 's'} for ${count} text${count === 1 ? '' : 's'}`, requestId);
	}
	const vectors: number[][] = new Array(count);
	for (const [position, entry] of data.entries()) {
		const index = isObject(entry) ? entry.index : undefined;
		if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
			throw invalidVectors(`Vector ${position} of the reply has the index ${describeValue(index)}: expected a whole number from 0 to ${count - 1}`, requestId);
		}
		if (vectors[index] !== undefined) throw invalidVectors(`The reply has two vectors with the index ${index}`, requestId);
		vectors[index] = checkedVector((entry as { embedding?: unknown }).embedding, index, requestId);
	}
	const length = vectors[0].length;
	const other = vectors.findIndex((vector) => vector.length !== length);
	if (other !== -1) {
		throw invalidVectors(`The vectors have different lengths: the vector of text 0 has ${length} numbers, that of text ${other} ${vectors[other].length}`, requestId);
	}
	return {
		vectors,
		...(readUsage(isObject(body) ? body.usage : undefined) ?? {}),
		...(isObject(body) && typeof body.model === 'string' ? { model: body.model } : {}),
	};
}

function checkedVector(embedding: unknown, index: number, requestId: string | undefined): number[] {
	if (typeof embedding === 'string') {
		throw invalidVectors(`The vector of text ${index} is a text (base64?), not a list of numbers, though the request asked for encoding_format "float"`, requestId);
	}
	if (!Array.isArray(embedding) || embedding.length === 0) {
		throw invalidVectors(`The vector of text ${index} is ${Array.isArray(embedding) ? 'empty' : describeValue(embedding)}, not a list of numbers`, requestId);
	}
	const bad = embedding.findIndex((value) => typeof value !== 'number' || !Number.isFinite(value));
	if (bad !== -1) {
		throw invalidVectors(`The vector of text ${index} holds ${describeValue(embedding[bad])} at position ${bad}, not a finite number`, requestId);
	}
	return embedding as number[];
}

function readUsage(value: unknown): { usage: EmbeddingUsage } | undefined {
	if (!isObject(value)) return undefined;
	const usage: EmbeddingUsage = {};
	for (const key of ['prompt_tokens', 'total_tokens'] as const) {
		if (typeof value[key] === 'number' && Number.isFinite(value[key])) usage[key] = value[key] as number;
	}
	return Object.keys(usage).length > 0 ? { usage } : undefined;
}
