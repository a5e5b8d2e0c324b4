/**
 * Figure 7, rate limit: N items through the Chat Completion node against a fake server that
 * allows R requests per second with a burst of B per API key (fake-rate-limit.ts) and takes
 * `latencyMs` per answer. Each setting runs with Continue On Fail, so an item that runs out of
 * retries is counted, not thrown, and with the node's default Max Retries. What is reported comes
 * from what the server saw: requests it accepted per second of wall time, over R (1.0 = the whole
 * limit used), and the 429s it sent per item; plus the items that failed.
 */
import { performance } from 'node:perf_hooks';

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { runNode } from '../../test/support/n8n-harness';
import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { CHAT_NODE_TYPE, expectedAnswer, MODEL, questionItems, round, type BenchConfig } from './support';

export interface RateLimitSetting {
	/** Key of the row in the headline ratios, e.g. `c5` -> rateLimitThroughputVsLimitC5. */
	id: string;
	label: string;
	/** The node's Concurrency option, passed as it is; 'auto' is the adaptive limiter's setting. */
	concurrency: number | 'auto';
	/** Executions of the workflow at once, on the same key, sharing the items. Default 1. */
	executions?: number;
}

/** The rows, in order. Rows with `concurrency: 'auto'` get the targets in report.ts. */
const RATE_LIMIT_SETTINGS: RateLimitSetting[] = [
	{ id: 'c5', label: 'fixed Concurrency 5 (the default)', concurrency: 5 },
	{ id: 'c32', label: 'fixed Concurrency 32', concurrency: 32 },
	{ id: 'c5TwoExecutions', label: 'fixed Concurrency 5, two executions at once', concurrency: 5, executions: 2 },
	{ id: 'auto', label: 'Auto (the default)', concurrency: 'auto' },
	{ id: 'autoTwoExecutions', label: 'Auto, two executions at once', concurrency: 'auto', executions: 2 },
];

export interface RateLimitRow {
	id: string;
	label: string;
	concurrency: number | 'auto';
	executions: number;
	wallMs: number;
	/** Requests the server let through (each one answered an item). */
	accepted: number;
	/** accepted per second of wall time / R: 1.0 uses the whole limit (B adds a little over a short run). */
	throughputVsLimit: number;
	/** Items whose output is an error (Continue On Fail), i.e. that ran out of retries. */
	failedItems: number;
	/** 429s the server sent, over the items. */
	rateLimitedPerItem: number;
	rejected: { rate: number; concurrency: number };
	/** Most accepted requests being answered at once. */
	peakInFlight: number;
}

export interface RateLimitResult {
	items: number;
	requestsPerSecond: number;
	burst: number;
	latencyMs: number;
	/** Whether the server sent x-ratelimit-*-requests headers. */
	sendHeaders: boolean;
	rows: RateLimitRow[];
}

export async function measureRateLimit(config: BenchConfig): Promise<RateLimitResult> {
	const { rateLimitRequestsPerSecond: requestsPerSecond, rateLimitBurst: burst, rateLimitLatencyMs: latencyMs, rateLimitHeaders: sendHeaders } = config;
	// Per key, as the service limits per account: each row has a key, hence a full bucket, of its own.
	const server = await startServerProcess({ latencyMs, rateLimit: { requestsPerSecond, burst, sendHeaders } });
	try {
		const items = questionItems(config.rateLimitItems);
		// Loads n8n-core and the package: not timed. Fewer items than B, so no 429 either.
		await runSetting(config, server, await server.newKey('warm-up'), items.slice(0, Math.min(burst, 4)), { id: 'warmUp', label: 'warm-up', concurrency: 2 });
		const rows: RateLimitRow[] = [];
		for (const setting of RATE_LIMIT_SETTINGS) {
			const key = await server.newKey(setting.id);
			const started = performance.now();
			const failedItems = await runSetting(config, server, key, items, setting);
			const wallMs = performance.now() - started;
			const stats = await server.rateLimitStats(key);
			const rejected = stats.rejected.rate + stats.rejected.concurrency;
			rows.push({
				id: setting.id,
				label: setting.label,
				concurrency: setting.concurrency,
				executions: setting.executions ?? 1,
				wallMs: round(wallMs, 0),
				accepted: stats.accepted,
				throughputVsLimit: round(stats.accepted / (wallMs / 1000) / requestsPerSecond, 3),
				failedItems,
				rateLimitedPerItem: round(rejected / items.length, 3),
				rejected: stats.rejected,
				peakInFlight: stats.peakInFlight,
			});
		}
		return { items: items.length, requestsPerSecond, burst, latencyMs, sendHeaders, rows };
	} finally {
		await server.close();
	}
}

/** Runs the setting's executions at once, each on its share of the items; returns the failed items. */
async function runSetting(config: BenchConfig, server: RemoteFakeNebula, key: string, items: IDataObject[], setting: RateLimitSetting): Promise<number> {
	const executions = Math.max(1, setting.executions ?? 1);
	const share = Math.ceil(items.length / executions);
	const parts = Array.from({ length: executions }, (_, index) => items.slice(index * share, (index + 1) * share));
	const outputs = await Promise.all(parts.map((part) => runExecution(config, server, key, part, setting)));
	return outputs.reduce((sum, output, index) => sum + countFailed(output, parts[index], setting.label), 0);
}

/** One execution of the figure's workflow (also figure 7b's, recovery.ts); `signal` cancels it. */
export async function runExecution(
	config: BenchConfig,
	server: RemoteFakeNebula,
	key: string,
	items: IDataObject[],
	setting: Pick<RateLimitSetting, 'label' | 'concurrency'>,
	signal?: AbortSignal,
): Promise<INodeExecutionData[]> {
	const { items: output, error } = await runNode({
		type: CHAT_NODE_TYPE,
		packageDir: config.packageDir,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: '={{ $json.question }}' }] },
			// Auto is Concurrency Mode Auto; a number alone is Fixed (a saved Concurrency keeps Fixed).
			options: setting.concurrency === 'auto' ? { concurrencyMode: 'auto' } : { concurrency: setting.concurrency },
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: server.url } },
		inputItems: items,
		continueOnFail: true,
		signal,
	});
	if (error) throw new Error(`${setting.label}: the Chat Completion node failed despite Continue On Fail: ${error.message}`);
	return output;
}

/**
 * Items that ran out of retries on the limit. Anything else (a wrong answer, another error, a
 * missing item) means the figure measured something else, so it stops the benchmark.
 */
export function countFailed(output: INodeExecutionData[], items: IDataObject[], label: string): number {
	if (output.length !== items.length) throw new Error(`${label}: ${output.length} items out for ${items.length} in`);
	let failed = 0;
	output.forEach((item, index) => {
		const error = item.json.error;
		if (error === undefined) {
			if (item.json.content !== expectedAnswer(items[index])) throw new Error(`${label}: item ${index} answered ${JSON.stringify(item.json).slice(0, 200)}`);
			return;
		}
		if (!/rate limit|concurrent requests/i.test(String(error))) throw new Error(`${label}: item ${index} failed on something else than the limit: ${String(error)}`);
		failed++;
	});
	return failed;
}
