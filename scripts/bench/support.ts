/**
 * What several figures share: the benchmark's settings, running the Chat Completion node and
 * the n8n-helper node through n8n's engine, and small statistics.
 */
import * as path from 'node:path';

import type { IDataObject, INodeExecutionData, StructuredChunk } from 'n8n-workflow';

import { runNode } from '../../test/support/n8n-harness';
import { N8N_VERSION } from '../n8n-runtime';
import { createHelperPackage, HELPER_NODE_TYPE } from './fixture';
import type { RemoteFakeNebula } from './serverProcess';

export interface BenchConfig {
	/** The package measured: its built dist/ is what runs. Default: this repository. */
	packageDir: string;
	/** Fake server delay before the answer starts, for the throughput figure. */
	latencyMs: number;
	/** Fake server pause between streamed chunks, for the throughput figure. */
	tokenIntervalMs: number;
	/** Items per throughput run and per connection count. */
	items: number;
	concurrencies: number[];
	/** Rounds whose median is reported, for the short measurements. */
	rounds: number;
	/** Requests per round of the client overhead figure. */
	overheadRequests: number;
	/** Size of the in-memory SSE stream of the parsing figure. */
	parsingMiB: number;
	parsingChunkBytes: number[];
	ttfcSamples: number;
	/** Pause between tokens in the "token bytes to chunk" part of time to first chunk. */
	ttfcDripMs: number;
	memoryItems: number;
	/**
	 * Fresh processes for the 10,000-item memory figure, whose median is reported: one run's peak
	 * depends on when V8 got round to collecting (one in five or so reads two to three times the
	 * others), so a single run says little.
	 */
	memoryItemsRuns: number;
	memoryAnswerMiB: number;
	/** Characters per streamed delta of the big answer (the fake sends a word per chunk). */
	memoryDeltaChars: number;
	/** Items of the rate limit figure, against R requests/s with burst B and a fixed latency per answer. */
	rateLimitItems: number;
	rateLimitRequestsPerSecond: number;
	rateLimitBurst: number;
	rateLimitLatencyMs: number;
	/** Whether the rate-limited server sends OpenAI's x-ratelimit-*-requests headers on every answer. */
	rateLimitHeaders: boolean;
	/** Recovery figure (7b): items per execution, the executions running one after another. */
	recoveryBatchItems: number;
	/** Recovery figure: how long the unlimited reference runs, the burst at R lasts, and the run goes on after the lift. */
	recoveryUnlimitedMs: number;
	recoveryBurstMs: number;
	recoveryObserveMs: number;
	/** Recovery figure: the span throughput is counted over. */
	recoveryWindowMs: number;
	/**
	 * Editions figure (8): the cloud edition's built package (`npm run build:cloud` writes
	 * build/cloud/package); run.ts measures a copy of it taken when the run starts.
	 */
	cloudPackageDir: string;
	/** Editions figure: fresh processes per edition, run in the order main, cloud, cloud, main, ... */
	editionsProcesses: number;
	/** Editions figure: concurrency of the Concurrency Mode Fixed runs. */
	editionsConcurrency: number;
	/** Embeddings figure (9): chunks of about 1,000 characters put into n8n's Simple Vector Store. */
	embeddingsChunks: number;
	/** Embeddings figure: texts per request, the same for both embeddings (this package's default Batch Size). */
	embeddingsBatchSize: number;
	/** Embeddings figure: the n8n install (in the cache of scripts/n8n-runtime.ts) whose store and OpenAIEmbeddings run. */
	embeddingsN8nVersion: string;
	/** Embeddings figure: R of its tighter rate limit (burst 2), below what two requests at once ask for. */
	embeddingsTightRequestsPerSecond: number;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export const DEFAULT_CONFIG: BenchConfig = {
	packageDir: REPO_ROOT,
	latencyMs: 100,
	tokenIntervalMs: 0,
	items: 200,
	concurrencies: [1, 8, 32],
	rounds: 7,
	overheadRequests: 300,
	parsingMiB: 50,
	parsingChunkBytes: [16 * 1024, 1024],
	ttfcSamples: 40,
	ttfcDripMs: 25,
	memoryItems: 10_000,
	memoryItemsRuns: 5,
	memoryAnswerMiB: 10,
	memoryDeltaChars: 64,
	rateLimitItems: 1000,
	rateLimitRequestsPerSecond: 20,
	rateLimitBurst: 5,
	rateLimitLatencyMs: 200,
	rateLimitHeaders: false,
	recoveryBatchItems: 1000,
	recoveryUnlimitedMs: 20_000,
	recoveryBurstMs: 12_000,
	recoveryObserveMs: 60_000,
	recoveryWindowMs: 5000,
	cloudPackageDir: path.join(REPO_ROOT, 'build', 'cloud', 'package'),
	editionsProcesses: 2,
	editionsConcurrency: 32,
	embeddingsChunks: 10_000,
	embeddingsBatchSize: 32,
	embeddingsN8nVersion: N8N_VERSION,
	embeddingsTightRequestsPerSecond: 5,
};

export const CHAT_NODE_TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
/** The cloud edition's package name: its node types are `n8n-nodes-nebula-block-cloud.<name>`. */
export const CLOUD_CHAT_NODE_TYPE = 'n8n-nodes-nebula-block-cloud.nebulaBlockChat';
export const MODEL = 'fake/bench-model';

/** Each item asks a different question; the fake answers `Echo: <question>` (4 words). */
export function questionItems(count: number): IDataObject[] {
	return Array.from({ length: count }, (_, index) => ({ question: `Question number ${index + 1}` }));
}

export function expectedAnswer(item: IDataObject): string {
	return `Echo: ${String(item.question)}`;
}

export interface ChatRun {
	packageDir: string;
	server: RemoteFakeNebula;
	key: string;
	items: IDataObject[];
	/** A fixed Concurrency, or 'auto' for Concurrency Mode Auto (the shared adaptive limiter). */
	concurrency: number | 'auto';
	stream: boolean;
	onChunk?: (chunk: StructuredChunk) => void;
	/** A scripted question instead of `{{ $json.question }}`. */
	content?: string;
	/** Node type; default CHAT_NODE_TYPE (the main edition's). */
	type?: string;
	/** Sets Concurrency Mode Fixed explicitly (a numeric Concurrency alone selects it too). */
	fixedMode?: boolean;
}

/** Runs the Chat Completion node on `items` through n8n's engine; throws if the run failed. */
export async function runChatNode(run: ChatRun): Promise<INodeExecutionData[]> {
	const { items, error } = await runNode({
		type: run.type ?? CHAT_NODE_TYPE,
		packageDir: run.packageDir,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: run.content ?? '={{ $json.question }}' }] },
			options:
				run.concurrency === 'auto'
					? { concurrencyMode: 'auto', stream: run.stream }
					: { ...(run.fixedMode && { concurrencyMode: 'fixed' }), concurrency: run.concurrency, stream: run.stream },
		},
		credentials: { nebulaBlockApi: { apiKey: run.key, baseUrl: run.server.url } },
		inputItems: run.items,
		onChunk: run.onChunk,
	});
	if (error) throw new Error(`The Chat Completion node failed: ${error.message}`);
	return items;
}

/**
 * A module of the measured package's build, e.g. `packageModule<typeof import(
 * '../../dist/nodes/shared/transport/sse')>(config, 'dist/nodes/shared/transport/sse')`. The
 * node loaded by the harness requires the same file, so both share one module instance (one
 * connection pool).
 */
export function packageModule<T>(config: Pick<BenchConfig, 'packageDir'>, relativePath: string): T {
	return require(path.join(config.packageDir, relativePath)) as T;
}

let helperPackageDir: string | undefined;

/** The same items through n8n's own `helpers.httpRequest`, one by one (see fixture.ts). */
export async function runHelperNode(server: RemoteFakeNebula, key: string, items: IDataObject[]): Promise<INodeExecutionData[]> {
	helperPackageDir ??= createHelperPackage();
	const { items: output, error } = await runNode({
		type: HELPER_NODE_TYPE,
		packageDir: helperPackageDir,
		parameters: {
			url: `${server.url}/chat/completions`,
			apiKey: key,
			model: MODEL,
			prompt: '={{ $json.question }}',
		},
		inputItems: items,
	});
	if (error) throw new Error(`The n8n helper node failed: ${error.message}`);
	return output;
}

/** A benchmark that got wrong answers measured nothing: every item must carry its own echo. */
export function assertEchoes(output: INodeExecutionData[], items: IDataObject[], label: string): void {
	if (output.length !== items.length) throw new Error(`${label}: ${output.length} items out for ${items.length} in`);
	output.forEach((item, index) => {
		if (item.json.content !== expectedAnswer(items[index])) {
			throw new Error(`${label}: item ${index} answered ${JSON.stringify(item.json).slice(0, 200)}`);
		}
	});
}

export function median(values: number[]): number {
	return percentile(values, 50);
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const MiB = 1024 * 1024;

export function round(value: number, digits = 2): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}

export function gc(): void {
	(globalThis as { gc?: () => void }).gc?.();
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
