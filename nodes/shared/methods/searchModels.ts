import type { ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readConnection } from '../connection';
import { requestJson, type Connection } from '../transport/client';

interface ModelInfo {
	id: string;
	contextLength?: number;
}

const LIST_TIMEOUT_MS = 15_000;

/**
 * The "From List" search of the Model field. The service documents two list shapes, so both
 * are asked at once and merged: the Nebula one knows each model's type and context length, the
 * OpenAI one is what compatible servers offer. One failing is fine; both failing says why.
 */
export async function searchModels(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	const connection = await readConnection(this);
	const [serverless, openai] = await Promise.allSettled([
		listServerless(connection),
		listOpenAi(connection),
	]);
	if (serverless.status === 'rejected' && openai.status === 'rejected') {
		const reason = (openai.reason as Error).message;
		throw new NodeOperationError(this.getNode(), `Could not load the model list: ${reason}`, {
			description: 'Check the credential, or switch Model to "By ID" and type the model ID, e.g. meta-llama/Llama-3.3-70B-Instruct.',
		});
	}
	const models = mergeModels(
		serverless.status === 'fulfilled' ? serverless.value : [],
		openai.status === 'fulfilled' ? openai.value : [],
	);
	const needle = filter?.trim().toLowerCase();
	const results: INodeListSearchItems[] = models
		.filter((model) => !needle || model.id.toLowerCase().includes(needle))
		.map((model) => ({ name: displayName(model), value: model.id }));
	return { results };
}

async function listServerless(connection: Connection): Promise<ModelInfo[]> {
	const { body } = await requestJson<{ data?: { models?: unknown } }>(
		connection,
		{ method: 'GET', path: '/serverless/models' },
		{ timeoutMs: LIST_TIMEOUT_MS, maxRetries: 0 },
	);
	const models = Array.isArray(body?.data?.models) ? (body.data.models as Array<Record<string, unknown>>) : [];
	return models
		.filter((model) => typeof model.model_name === 'string')
		.filter((model) => model.model_type === undefined || model.model_type === 'Text')
		.map((model) => ({ id: model.model_name as string, contextLength: numberOrUndefined(model.context_length) }));
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
		.map((model) => ({
			id: model.id as string,
			contextLength: numberOrUndefined(model.context_length ?? model.max_model_len),
		}));
}

function mergeModels(serverless: ModelInfo[], openai: ModelInfo[]): ModelInfo[] {
	const byId = new Map<string, ModelInfo>();
	for (const model of [...serverless, ...openai]) {
		const known = byId.get(model.id);
		byId.set(model.id, { id: model.id, contextLength: known?.contextLength ?? model.contextLength });
	}
	// The Nebula list names non-text models too; when it answered, keep only what it calls Text.
	const textIds = serverless.length > 0 ? new Set(serverless.map((model) => model.id)) : undefined;
	return [...byId.values()]
		.filter((model) => !textIds || textIds.has(model.id))
		.sort((a, b) => a.id.localeCompare(b.id));
}

function displayName(model: ModelInfo): string {
	if (!model.contextLength) return model.id;
	const thousands = Math.round(model.contextLength / 1024);
	return `${model.id} (${thousands}K context)`;
}

function numberOrUndefined(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
