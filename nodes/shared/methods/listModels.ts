import { requestJson, type Connection } from '../transport/client';
import { NebulaBlockError } from '../transport/errors';

export interface ModelInfo {
	id: string;
	contextLength?: number;
	/** Whether the list says the model takes images; undefined when it says nothing either way. */
	takesImages?: boolean;
}

export type ModelListing = { ok: true; models: ModelInfo[] } | { ok: false; failure: Error };

const LIST_TIMEOUT_MS = 15_000;

/**
 * The text models the credential can use. The service documents two list shapes, so both are
 * asked at once and merged: the Nebula one knows each model's type and context length, the
 * OpenAI one is what compatible servers offer. One failing is fine; both failing gives the
 * failure that says most (a rejected key over an endpoint that does not exist).
 */
export async function listTextModels(connection: Connection): Promise<ModelListing> {
	const [serverless, openai] = await Promise.allSettled([listServerless(connection), listOpenAi(connection)]);
	if (serverless.status === 'rejected' && openai.status === 'rejected') {
		const failures = [openai.reason as Error, serverless.reason as Error];
		return { ok: false, failure: failures.find((failure) => statusOf(failure) !== 404) ?? failures[0] };
	}
	return {
		ok: true,
		models: mergeModels(
			serverless.status === 'fulfilled' ? serverless.value : [],
			openai.status === 'fulfilled' ? openai.value : [],
		),
	};
}

/** What to do about a failed list, in the words of the credential and the Model field. */
export function listFailureFix(failure: Error): string {
	const status = statusOf(failure);
	if (status === 401 || status === 403) return 'Check the API key in the Nebula Block API credential';
	if (status === 404 || (failure instanceof NebulaBlockError && failure.kind === 'network')) {
		return 'Check the Base URL in the credential';
	}
	return 'Check the Base URL in the credential or try again later';
}

function statusOf(failure: Error): number | undefined {
	return failure instanceof NebulaBlockError ? failure.status : undefined;
}

/** The Nebula list's entries that name a model (`model_name`), of every type. */
async function serverlessEntries(connection: Connection): Promise<Array<Record<string, unknown>>> {
	const { body } = await requestJson<{ data?: { models?: unknown } }>(
		connection,
		{ method: 'GET', path: '/serverless/models' },
		{ timeoutMs: LIST_TIMEOUT_MS, maxRetries: 0 },
	);
	const models = Array.isArray(body?.data?.models) ? (body.data.models as Array<Record<string, unknown>>) : [];
	return models.filter((model) => typeof model.model_name === 'string');
}

async function listServerless(connection: Connection): Promise<ModelInfo[]> {
	return (await serverlessEntries(connection))
		.filter((model) => model.model_type === undefined || model.model_type === 'Text' || takesImages(model) === true)
		.map((model) => withImages({ id: model.model_name as string, contextLength: numberOrUndefined(model.context_length) }, model));
}

async function listOpenAi(connection: Connection): Promise<ModelInfo[]> {
	const { body } = await requestJson<{ data?: unknown }>(
		connection,
		{ method: 'GET', path: '/models' },
		{ timeoutMs: LIST_TIMEOUT_MS, maxRetries: 0 },
	);
	const models = Array.isArray(body?.data) ? (body.data as Array<Record<string, unknown>>) : [];
	return models
		.filter((model) => typeof model.id === 'string')
		.map((model) =>
			withImages({ id: model.id as string, contextLength: numberOrUndefined(model.context_length ?? model.max_model_len) }, model),
		);
}

/**
 * The embedding models the credential can use: the Nebula list's entries of type Embedding. The
 * OpenAI-style list names no types (and the service's lists only text models there), so it is not asked.
 */
export async function listEmbeddingModels(connection: Connection): Promise<ModelListing> {
	return await serverlessEntries(connection).then(
		(entries) => ({
			ok: true as const,
			models: entries
				.filter((model) => model.model_type === 'Embedding')
				.map((model) => ({ id: model.model_name as string, contextLength: numberOrUndefined(model.context_length) }))
				.sort((a, b) => a.id.localeCompare(b.id)),
		}),
		(failure: unknown) => ({ ok: false as const, failure: failure as Error }),
	);
}

function mergeModels(serverless: ModelInfo[], openai: ModelInfo[]): ModelInfo[] {
	const byId = new Map<string, ModelInfo>();
	for (const model of [...serverless, ...openai]) {
		const known = byId.get(model.id);
		const takes = known?.takesImages ?? model.takesImages;
		byId.set(model.id, withImages({ id: model.id, contextLength: known?.contextLength ?? model.contextLength }, takes));
	}
	// The Nebula list names non-text models too; when it answered, keep only what it calls Text.
	const textIds = serverless.length > 0 ? new Set(serverless.map((model) => model.id)) : undefined;
	return [...byId.values()]
		.filter((model) => !textIds || textIds.has(model.id))
		.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Whether a list entry says its model takes images. Nebula Block's lists (seeds 000-003) have no
 * such field today, so this reads the shapes other OpenAI-compatible lists use: a model_type naming
 * vision, input modalities with "image" (top level or under `architecture`), `capabilities.vision`.
 */
export function takesImages(model: Record<string, unknown>): boolean | undefined {
	if (typeof model.model_type === 'string' && /vision|multimodal|vlm/i.test(model.model_type)) return true;
	const architecture = model.architecture as Record<string, unknown> | undefined;
	for (const modalities of [model.input_modalities, model.modalities, architecture?.input_modalities]) {
		if (Array.isArray(modalities)) return modalities.includes('image');
	}
	const capabilities = model.capabilities as Record<string, unknown> | undefined;
	if (typeof capabilities?.vision === 'boolean') return capabilities.vision;
	return undefined;
}

function withImages(info: ModelInfo, source: Record<string, unknown> | boolean | undefined): ModelInfo {
	const takes = typeof source === 'object' ? takesImages(source) : source;
	return takes === undefined ? info : { ...info, takesImages: takes };
}

function numberOrUndefined(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
