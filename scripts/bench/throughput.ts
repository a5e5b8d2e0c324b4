/**
 * Figure 1, throughput: N items against a server that takes `latencyMs` per answer, through the
 * Chat Completion node at several concurrencies, against the ideal ceil(N / C) x latency; and
 * the same items one by one through n8n's own helpers.httpRequest, for the speed-up. For scale,
 * the same requests from bare undici at the same concurrency, outside n8n (the floor this machine
 * and the fake server's timers allow).
 */
import { performance } from 'node:perf_hooks';

import type { IDataObject } from 'n8n-workflow';
import { request } from 'undici';

import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { assertEchoes, expectedAnswer, median, MODEL, questionItems, round, runChatNode, runHelperNode, type BenchConfig } from './support';

export interface ThroughputRow {
	path: 'node' | 'n8nHelper' | 'bareUndici';
	stream: boolean;
	/** 'auto': Concurrency Mode Auto, whose ideal is the best fixed setting's (the largest C). */
	concurrency: number | 'auto';
	wallMs: number;
	idealMs: number;
	/** wall / ideal; 1.0 is perfect. */
	vsIdeal: number;
	/** The helper's wall time / this row's wall time. */
	speedUpVsHelper: number;
	/** Most requests the server saw at once: proves the concurrency was real. */
	peakInFlight: number;
	/** Wall times of every round (the median is reported). */
	roundsMs: number[];
	/** Auto only: its wall time / the fastest fixed setting's, same stream setting (target <= 1.1). */
	vsBestFixed?: number;
}

export interface ThroughputResult {
	items: number;
	latencyMs: number;
	tokenIntervalMs: number;
	rows: ThroughputRow[];
}

/** The fake streams role, one chunk per answer word (4), finish, usage, [DONE]: 7 pauses between 8 events. */
const STREAM_PAUSES_PER_ANSWER = 7;

export async function measureThroughput(config: BenchConfig): Promise<ThroughputResult> {
	const server = await startServerProcess({ latencyMs: config.latencyMs, tokenIntervalMs: config.tokenIntervalMs });
	try {
		return await measureWith(server, config);
	} finally {
		await server.close();
	}
}

async function measureWith(server: RemoteFakeNebula, config: BenchConfig): Promise<ThroughputResult> {
	const items = questionItems(config.items);
	// Loads n8n-core, the package and the fixture, and warms the JIT: none of that is timed.
	await runChatNode({ packageDir: config.packageDir, server, key: server.defaultKey, items: items.slice(0, 8), concurrency: 8, stream: false });
	await runChatNode({ packageDir: config.packageDir, server, key: server.defaultKey, items: items.slice(0, 8), concurrency: 8, stream: true });
	await runHelperNode(server, server.defaultKey, items.slice(0, 2));

	const perAnswerMs = (stream: boolean) => config.latencyMs + (stream ? STREAM_PAUSES_PER_ANSWER * config.tokenIntervalMs : 0);
	const helper = await timeRuns(server, 1, async (key) => assertEchoes(await runHelperNode(server, key, items), items, 'n8n helper'));
	const rows: ThroughputRow[] = [];
	const bestFixed = Math.max(...config.concurrencies);
	const addRow = (path: ThroughputRow['path'], stream: boolean, concurrency: number | 'auto', timing: Timing) => {
		const idealMs = Math.ceil(items.length / (concurrency === 'auto' ? bestFixed : concurrency)) * perAnswerMs(stream);
		rows.push({
			path,
			stream,
			concurrency,
			wallMs: round(timing.wallMs, 1),
			idealMs,
			vsIdeal: round(timing.wallMs / idealMs, 3),
			speedUpVsHelper: round(helper.wallMs / timing.wallMs, 2),
			peakInFlight: timing.peakInFlight,
			roundsMs: timing.roundsMs.map((ms) => round(ms, 1)),
		});
	};
	addRow('n8nHelper', false, 1, helper);

	for (const concurrency of config.concurrencies) {
		const rounds = concurrency === 1 ? 1 : config.rounds;
		addRow('bareUndici', false, concurrency, await timeRuns(server, rounds, (key) => runBareUndici(server, key, items, concurrency)));
	}
	for (const stream of [false, true]) {
		for (const concurrency of config.concurrencies) {
			// A sequential run of N items takes N x latency (20 s by default): once is enough, and
			// the streamed variant of it says nothing the concurrent ones do not.
			if (concurrency === 1 && stream) continue;
			const rounds = concurrency === 1 ? 1 : config.rounds;
			const timing = await timeRuns(server, rounds, async (key) => {
				const output = await runChatNode({ packageDir: config.packageDir, server, key, items, concurrency, stream });
				assertEchoes(output, items, `node C=${concurrency}${stream ? ' streamed' : ''}`);
			});
			addRow('node', stream, concurrency, timing);
		}
		// Auto with no rate limit: each round has a key of its own, so its limiter starts cold.
		const timing = await timeRuns(server, config.rounds, async (key) => {
			const output = await runChatNode({ packageDir: config.packageDir, server, key, items, concurrency: 'auto', stream });
			assertEchoes(output, items, `node Auto${stream ? ' streamed' : ''}`);
		});
		addRow('node', stream, 'auto', timing);
		const fixedWalls = rows.filter((row) => row.path === 'node' && row.stream === stream && row.concurrency !== 'auto').map((row) => row.wallMs);
		rows[rows.length - 1].vsBestFixed = round(timing.wallMs / Math.min(...fixedWalls), 3);
	}
	return { items: items.length, latencyMs: config.latencyMs, tokenIntervalMs: config.tokenIntervalMs, rows };
}

interface Timing {
	wallMs: number;
	roundsMs: number[];
	peakInFlight: number;
}

/** Median wall time of `rounds` runs, each with its own key so the server counts it apart. */
async function timeRuns(server: RemoteFakeNebula, rounds: number, run: (key: string) => Promise<void>): Promise<Timing> {
	const roundsMs: number[] = [];
	let peakInFlight = 0;
	for (let index = 0; index < rounds; index++) {
		const key = await server.newKey('throughput');
		const started = performance.now();
		await run(key);
		roundsMs.push(performance.now() - started);
		peakInFlight = Math.max(peakInFlight, await server.maxInFlight(key));
	}
	return { wallMs: median(roundsMs), roundsMs, peakInFlight };
}

/** The same chat requests from undici directly, `concurrency` at a time. */
async function runBareUndici(server: RemoteFakeNebula, key: string, items: IDataObject[], concurrency: number): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const item = items[next++];
			const response = await request(`${server.url}/chat/completions`, {
				method: 'POST',
				headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
				body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: item.question }] }),
			});
			const body = (await response.body.json()) as { choices: Array<{ message: { content: string } }> };
			if (body.choices[0].message.content !== expectedAnswer(item)) throw new Error('bare undici: wrong answer');
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
}
