/**
 * Figure 9, embeddings: N chunks (10,000 of about 1,000 characters, generated) into n8n's Simple
 * Vector Store, in this process, once through this package's Embeddings sub-node and once through
 * n8n's own Embeddings OpenAI (LangChain's OpenAIEmbeddings), both pointed at the fake server.
 *
 * What runs, all loaded from a real n8n install (scripts/n8n-runtime.ts, installed into the cache
 * on first use like the e2e tests do; N8N_CACHE_DIR, default <repo>/.cache):
 * - the store: n8n's MemoryVectorStoreManager (the singleton behind the Simple Vector Store node,
 *   over @langchain/classic's MemoryVectorStore), fed as the node's insert does from v1.1 on: the
 *   documents in slices of embeddingBatchSize (200), `addDocuments(memoryKey, slice, clearStore)`
 *   each, so one `embeddings.embedDocuments(<= 200 texts)` per slice. The node's shell (document
 *   loader, items in and out) is not run; clearStore is true for the first slice only.
 * - ours: what the sub-node's supplyData builds (dist/nodes/shared/embeddings/supply.ts): the form
 *   read by embeddingsSetup from a minimal supply-data context (credential, model, Batch Size; the
 *   other options at their defaults, so Auto's limiter and the default Max Retries), the calls of
 *   embeddingCalls, in the subclass of the install's LangChain Embeddings (langChainEmbeddings).
 * - n8n's: `new OpenAIEmbeddings({ model, apiKey, batchSize, encodingFormat: 'float',
 *   configuration: { baseURL } })` from the @langchain/openai that n8n's LangChain nodes resolve,
 *   as its EmbeddingsOpenAi node builds it (no maxRetries, so LangChain's 6; maxConcurrency 2).
 * n8n's logWrapper, which both nodes' outputs go through in a workflow, is left out for both.
 *
 * Reported per side: requests the server received (429s included), wall time, the process's CPU
 * time (user + system; the server runs in a process of its own), then the same with the API key
 * limited to R requests/s, burst B (figure 7's), with the chunks that failed and the 429s, and once
 * more under a tighter limit (5 requests/s, burst 2: below what n8n's two requests at once ask for,
 * which figure 7's R is not at the default 100 ms latency, so its retries are put to work). A slice
 * whose embedDocuments throws is counted as failed chunks and the next slice goes on (in a
 * workflow the node would stop at the first one).
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import type { INode, ISupplyDataFunctions } from 'n8n-workflow';

import { ensureN8n, isN8nInstalled, n8nInstallDir } from '../n8n-runtime';
import { fakeEmbedding } from '../../test/support/fake-nebula';
import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { gc, packageModule, round, type BenchConfig } from './support';

export const EMBEDDINGS_MODEL = 'BAAI/bge-large-en-v1.5';
/** n8n's Simple Vector Store: documents per populateVectorStore call (parameter embeddingBatchSize, default 200). */
export const STORE_SLICE = 200;
const MEMORY_KEY = 'nebula_bench_embeddings';

interface EmbeddingsLike {
	embedDocuments(texts: string[]): Promise<number[][]>;
	embedQuery(text: string): Promise<number[]>;
}

interface StoreManager {
	addDocuments(memoryKey: string, documents: unknown[], clearStore?: boolean): Promise<void>;
	getVectorStore(memoryKey: string): Promise<{ memoryVectors: Array<{ content: string; embedding: number[] }> }>;
}

interface StoreManagerClass {
	getInstance(embeddings: EmbeddingsLike, logger: unknown): StoreManager;
}

export interface EmbeddingsRun {
	/** Requests the server received for this run's key, 429s included. */
	requests: number;
	wallMs: number;
	/** User + system CPU time of this process over the run. */
	cpuMs: number;
	/** Chunks of the slices whose embedDocuments threw. */
	failedChunks: number;
	/** The first error, shortened, when a slice failed. */
	firstError?: string;
	/** 429s the server sent (rate-limited runs). */
	rateLimited: number;
	/** Most requests the server was answering at once for this key. */
	peakInFlight: number;
}

export interface EmbeddingsSide {
	label: string;
	unlimited: EmbeddingsRun;
	/** Under figure 7's limit, R requests/s with burst B. */
	rateLimited: EmbeddingsRun;
	/** Under a tighter limit, below what two requests at once ask for (`tightRequestsPerSecond`). */
	tightLimited: EmbeddingsRun;
}

export interface EmbeddingsResult {
	chunks: number;
	averageChunkChars: number;
	batchSize: number;
	storeSlice: number;
	latencyMs: number;
	requestsPerSecond: number;
	burst: number;
	tightRequestsPerSecond: number;
	tightBurst: number;
	n8nVersion: string;
	langchainOpenAi: string;
	ours: EmbeddingsSide;
	n8n: EmbeddingsSide;
	/** ours.unlimited.wallMs / n8n.unlimited.wallMs: below 1, ours is faster. */
	wallVsN8n: number;
	cpuVsN8n: number;
}

export async function measureEmbeddings(config: BenchConfig): Promise<EmbeddingsResult> {
	const n8n = await n8nParts(config);
	const chunks = englishChunks(config.embeddingsChunks);
	const server = await startServerProcess({ latencyMs: config.latencyMs });
	try {
		const limit = { requestsPerSecond: config.rateLimitRequestsPerSecond, burst: config.rateLimitBurst };
		const tight = { requestsPerSecond: config.embeddingsTightRequestsPerSecond, burst: 2 };
		const sides = {
			ours: { label: 'Nebula Block Embeddings (this package)', make: (key: string) => ourEmbeddings(config, server, key) },
			n8n: { label: `n8n's Embeddings OpenAI (@langchain/openai ${n8n.openAiVersion})`, make: (key: string) => n8n.openAiEmbeddings(config, server, key) },
		};
		// Loads and warms both paths (not timed): a few slices' worth each.
		const warmUp = chunks.slice(0, Math.min(chunks.length, 2 * STORE_SLICE));
		for (const side of Object.values(sides)) await intoStore(n8n.manager, await side.make(await server.newKey('warm-up')), warmUp, server, undefined);

		const result: Partial<Record<'ours' | 'n8n', EmbeddingsSide>> = {};
		for (const [id, side] of Object.entries(sides) as Array<['ours' | 'n8n', (typeof sides)['ours']]>) {
			const unlimitedKey = await server.newKey(`${id}-unlimited`);
			const unlimited = await intoStore(n8n.manager, await side.make(unlimitedKey), chunks, server, unlimitedKey);
			const limitedKey = await server.newKey(`${id}-rate-limited`);
			await server.setRateLimit(limit, limitedKey);
			const rateLimited = await intoStore(n8n.manager, await side.make(limitedKey), chunks, server, limitedKey);
			const tightKey = await server.newKey(`${id}-tight`);
			await server.setRateLimit(tight, tightKey);
			const tightLimited = await intoStore(n8n.manager, await side.make(tightKey), chunks, server, tightKey);
			result[id] = { label: side.label, unlimited, rateLimited, tightLimited };
			process.stderr.write(`[bench] embeddings ${id}: ${JSON.stringify(result[id])}\n`);
		}
		const ours = result.ours as EmbeddingsSide;
		const theirs = result.n8n as EmbeddingsSide;
		return {
			chunks: chunks.length,
			averageChunkChars: Math.round(chunks.reduce((sum, chunk) => sum + chunk.length, 0) / chunks.length),
			batchSize: config.embeddingsBatchSize,
			storeSlice: STORE_SLICE,
			latencyMs: config.latencyMs,
			requestsPerSecond: limit.requestsPerSecond,
			burst: limit.burst,
			tightRequestsPerSecond: tight.requestsPerSecond,
			tightBurst: tight.burst,
			n8nVersion: n8n.version,
			langchainOpenAi: n8n.openAiVersion,
			ours,
			n8n: theirs,
			wallVsN8n: round(ours.unlimited.wallMs / theirs.unlimited.wallMs, 3),
			cpuVsN8n: round(ours.unlimited.cpuMs / theirs.unlimited.cpuMs, 3),
		};
	} finally {
		await server.close();
	}
}

/**
 * The chunks into the store as the Simple Vector Store's insert does, timed; then checks that
 * every chunk that did not fail is in the store with the fake's vector for its text.
 */
async function intoStore(
	manager: StoreManagerClass,
	embeddings: EmbeddingsLike,
	chunks: string[],
	server: RemoteFakeNebula,
	key: string | undefined,
): Promise<EmbeddingsRun> {
	const documents = chunks.map((pageContent, index) => ({ pageContent, metadata: { chunk: index } }));
	gc();
	const cpuBefore = process.cpuUsage();
	const started = performance.now();
	let failedChunks = 0;
	let firstError: string | undefined;
	const store = manager.getInstance(embeddings, silentLogger);
	for (let start = 0; start < documents.length; start += STORE_SLICE) {
		const slice = documents.slice(start, start + STORE_SLICE);
		try {
			await store.addDocuments(MEMORY_KEY, slice, start === 0);
		} catch (error) {
			failedChunks += slice.length;
			firstError ??= (error instanceof Error ? error.message : String(error)).slice(0, 200);
		}
	}
	const wallMs = performance.now() - started;
	const cpu = process.cpuUsage(cpuBefore);
	await checkStore(store, chunks.length - failedChunks);
	// The next run starts from an empty store: this one's vectors are garbage from here.
	await store.addDocuments(MEMORY_KEY, [], true);
	if (key === undefined) return { requests: 0, wallMs: 0, cpuMs: 0, failedChunks, rateLimited: 0, peakInFlight: 0 };
	const stats = await server.rateLimitStats(key);
	return {
		requests: await server.requestCount(key),
		wallMs: round(wallMs, 0),
		cpuMs: round((cpu.user + cpu.system) / 1000, 0),
		failedChunks,
		...(firstError !== undefined && { firstError }),
		rateLimited: stats.rejected.rate + stats.rejected.concurrency,
		peakInFlight: stats.peakInFlight,
	};
}

async function checkStore(store: StoreManager, expected: number): Promise<void> {
	const { memoryVectors } = await store.getVectorStore(MEMORY_KEY);
	if (memoryVectors.length !== expected) throw new Error(`The store holds ${memoryVectors.length} vectors, expected ${expected}`);
	// Every 97th vector against the fake's own for its text: a benchmark of wrong vectors measured nothing.
	for (let index = 0; index < memoryVectors.length; index += 97) {
		const { content, embedding } = memoryVectors[index];
		const wanted = fakeEmbedding(content);
		if (embedding.length !== wanted.length || embedding.some((value, at) => Math.abs(value - wanted[at]) > 1e-9)) {
			throw new Error(`Vector ${index} in the store is not the fake's vector for its text`);
		}
	}
}

const silentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** This package's embeddings as its supplyData builds them, minus n8n's logWrapper (supply.ts). */
async function ourEmbeddings(config: BenchConfig, server: RemoteFakeNebula, key: string): Promise<EmbeddingsLike> {
	const calls = packageModule<typeof import('../../dist/nodes/shared/embeddings/calls')>(config, 'dist/nodes/shared/embeddings/calls');
	const supply = packageModule<typeof import('../../dist/nodes/shared/embeddings/supply')>(config, 'dist/nodes/shared/embeddings/supply');
	const aiSdk = packageModule<typeof import('../../dist/nodes/shared/model/aiSdk')>(config, 'dist/nodes/shared/model/aiSdk');
	const node: INode = {
		id: 'embeddings',
		name: 'Nebula Block Embeddings',
		type: 'n8n-nodes-nebula-block.embeddingsNebulaBlock',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const parameters: Record<string, unknown> = { model: EMBEDDINGS_MODEL, options: { batchSize: config.embeddingsBatchSize } };
	const context = {
		getNode: () => node,
		getCredentials: async () => ({ apiKey: key, baseUrl: server.url }),
		getNodeParameter: (name: string, _itemIndex: number, fallback?: unknown) => parameters[name] ?? fallback,
		getExecutionCancelSignal: () => undefined,
		helpers: {},
		logger: silentLogger,
	} as unknown as ISupplyDataFunctions;
	const setup = await calls.embeddingsSetup(context, 0);
	const parts = aiSdk.loadEmbeddingsParts(aiSdk.loadAiSdk([n8nNodeModules(config)]));
	const NebulaBlockEmbeddings = supply.langChainEmbeddings(parts.Embeddings);
	return new NebulaBlockEmbeddings(calls.embeddingCalls(node, setup, 0));
}

function n8nNodeModules(config: BenchConfig): string {
	return path.join(n8nInstallDir(config.embeddingsN8nVersion), 'node_modules');
}

/** The install's store manager and OpenAIEmbeddings; installs n8n into the cache first if needed. */
async function n8nParts(config: BenchConfig) {
	const version = config.embeddingsN8nVersion;
	if (!isN8nInstalled(version)) {
		process.stderr.write(`[bench] embeddings: n8n ${version} is not in ${n8nInstallDir(version)}; installing it (several minutes, once)\n`);
		try {
			await ensureN8n({ version, log: (line: string) => process.stderr.write(`[bench] ${line}\n`) });
		} catch (error) {
			throw new Error(`Figure 9 (embeddings) skipped: it needs n8n ${version} in ${n8nInstallDir(version)} (N8N_CACHE_DIR), and installing it failed: ${(error as Error).message}`);
		}
	}
	const modules = n8nNodeModules(config);
	const langChainNodes = path.join(modules, '@n8n', 'n8n-nodes-langchain');
	const manager = loadStoreManager(modules, langChainNodes);
	const openAiFile = require.resolve('@langchain/openai', { paths: [langChainNodes] });
	const { OpenAIEmbeddings } = require(openAiFile) as { OpenAIEmbeddings: new (fields: Record<string, unknown>) => EmbeddingsLike };
	const openAiVersion = packageVersion(openAiFile, '@langchain/openai');
	return {
		version,
		manager,
		openAiVersion,
		openAiEmbeddings: async (benchConfig: BenchConfig, server: RemoteFakeNebula, key: string): Promise<EmbeddingsLike> =>
			new OpenAIEmbeddings({
				model: EMBEDDINGS_MODEL,
				apiKey: key,
				batchSize: benchConfig.embeddingsBatchSize,
				encodingFormat: 'float',
				configuration: { baseURL: server.url },
			}),
	};
}

/**
 * The Simple Vector Store's memory manager: n8n's LangChain nodes' own copy (n8n 2.8) or the one
 * they import from @n8n/ai-utilities (later versions).
 */
function loadStoreManager(modules: string, langChainNodes: string): StoreManagerClass {
	const ownCopy = path.join(langChainNodes, 'dist', 'nodes', 'vector_store', 'shared', 'MemoryManager', 'MemoryVectorStoreManager.js');
	const candidates = [ownCopy, () => require.resolve('@n8n/ai-utilities', { paths: [langChainNodes, modules] })];
	for (const candidate of candidates) {
		let file: string;
		try {
			file = typeof candidate === 'string' ? require.resolve(candidate) : candidate();
		} catch {
			continue;
		}
		const { MemoryVectorStoreManager } = require(file) as { MemoryVectorStoreManager?: StoreManagerClass };
		if (MemoryVectorStoreManager) return MemoryVectorStoreManager;
	}
	throw new Error(`n8n's MemoryVectorStoreManager not found under ${modules}`);
}

function packageVersion(file: string, name: string): string {
	const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
	const root = file.slice(0, file.lastIndexOf(marker) + marker.length);
	return (require(path.join(root, 'package.json')) as { version: string }).version;
}

// ---------------------------------------------------------------------------------------------
// The chunks
// ---------------------------------------------------------------------------------------------

const WORDS = (
	'the a of and to in is that for it as with on by this be are from at or an was which can not have ' +
	'data model vector store search text chunk document query answer service request batch limit token ' +
	'memory process server client network latency throughput engine workflow node input output item ' +
	'river mountain garden library window morning evening village harbour station market forest valley ' +
	'measure build check read write send keep find give take show make run wait start stop follow ' +
	'quickly slowly often never always together carefully simply early later nearly mostly'
).split(' ');

/**
 * `count` deterministic English-like chunks of about 1,000 characters (a seeded generator: the same
 * chunks on every run), sentences of 6 to 17 words, each chunk different.
 */
export function englishChunks(count: number, targetChars = 1000): string[] {
	let seed = 0x2545f491;
	const next = (): number => {
		seed ^= seed << 13;
		seed ^= seed >>> 17;
		seed ^= seed << 5;
		return (seed >>> 0) / 0x1_0000_0000;
	};
	const chunks: string[] = [];
	for (let index = 0; index < count; index++) {
		let chunk = `Chunk ${index + 1}.`;
		while (chunk.length < targetChars - 60) {
			const length = 6 + Math.floor(next() * 12);
			const words = Array.from({ length }, () => WORDS[Math.floor(next() * WORDS.length)]);
			words[0] = words[0][0].toUpperCase() + words[0].slice(1);
			chunk += ` ${words.join(' ')}.`;
		}
		chunks.push(chunk);
	}
	return chunks;
}
