/**
 * Figure 8, editions side by side: the main edition (undici, a keep-alive pool) and the cloud
 * edition (n8n's `httpRequestWithAuthentication`, a new connection per request) through the Chat
 * Completion node in n8n-core's engine against the fake server, in one run.
 *
 * Each edition runs in fresh processes of its own (this file, forked with `<edition> <config>`),
 * in the order main, cloud, cloud, main (ABBA, `editionsProcesses` per edition), so a machine
 * getting busier or quieter during the run weighs on both alike. Each process starts its own
 * fake servers (in processes of their own: this process's CPU time is the client's alone), warms
 * up, then:
 * - concurrent: `items` at `latencyMs`, Concurrency Mode Fixed at `editionsConcurrency` (both
 *   editions send that many at once; the server's peak in flight shows it), `rounds` rounds:
 *   wall time over the ideal ceil(items / C) x latency, and process CPU time per request;
 * - sequential: `items` one by one (Concurrency 1) against a server that answers at once,
 *   `rounds` rounds: process CPU time per request, wall per request, and the TCP connections the
 *   server accepted (the main edition's pool is emptied before each round, so its count includes
 *   the connection it has to open).
 * Nothing is asserted on timing; a round that fails is counted and its error kept.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { shutdownHarness } from '../../test/support/n8n-harness';
import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { assertEchoes, CHAT_NODE_TYPE, CLOUD_CHAT_NODE_TYPE, gc, median, packageModule, questionItems, round, runChatNode, type BenchConfig } from './support';

type DispatcherModule = typeof import('../../dist/nodes/shared/transport/dispatcher');

export type Edition = 'main' | 'cloud';

/** The cloud edition's package name (run.ts checks the folder it copies holds it). */
export const CLOUD_PACKAGE_NAME = 'n8n-nodes-nebula-block-cloud';

/** One process's figures for one edition. */
export interface EditionProcessResult {
	edition: Edition;
	concurrent: { roundsMs: number[]; cpuUsPerRequest: number[]; peakInFlight: number };
	sequential: { roundsCpuUsPerRequest: number[]; roundsWallUsPerRequest: number[]; connections: number[] };
	failedRounds: number;
	errors: string[];
}

export interface EditionFigures {
	packageName: string;
	/** Concurrent: median wall of all rounds over all processes, and wall / ideal. */
	wallMs: number;
	vsIdeal: number;
	peakInFlight: number;
	/** Process CPU time / requests, medians over rounds. */
	cpuUsPerRequestConcurrent: number;
	cpuUsPerRequestSequential: number;
	wallUsPerRequestSequential: number;
	/** TCP connections per `items` sequential requests, every round. */
	connections: number[];
	failedRounds: number;
	errors: string[];
	processes: EditionProcessResult[];
}

export interface EditionsResult {
	items: number;
	latencyMs: number;
	concurrency: number;
	idealMs: number;
	rounds: number;
	processesPerEdition: number;
	order: Edition[];
	main: EditionFigures;
	cloud: EditionFigures;
	/** cloud / main. */
	ratios: { wall: number; cpuConcurrent: number; cpuSequential: number; wallSequential: number };
}

/** Runs in the `editions` child: forks the per-edition processes one after another, then sums up. */
export async function measureEditions(config: BenchConfig): Promise<EditionsResult> {
	const order: Edition[] = [];
	for (let index = 0; index < config.editionsProcesses; index++) order.push(...(index % 2 === 0 ? (['main', 'cloud'] as const) : (['cloud', 'main'] as const)));
	const results: EditionProcessResult[] = [];
	for (const edition of order) {
		process.stderr.write(`[bench] editions: ${edition} ...\n`);
		results.push(await runEditionProcess(edition, config));
	}
	const idealMs = Math.ceil(config.items / config.editionsConcurrency) * config.latencyMs;
	const figures = (edition: Edition): EditionFigures => {
		const mine = results.filter((result) => result.edition === edition);
		const all = <T>(pick: (result: EditionProcessResult) => T[]) => mine.flatMap(pick);
		const wallMs = median(all((result) => result.concurrent.roundsMs));
		return {
			packageName: edition === 'main' ? 'n8n-nodes-nebula-block' : CLOUD_PACKAGE_NAME,
			wallMs: round(wallMs, 1),
			vsIdeal: round(wallMs / idealMs, 3),
			peakInFlight: Math.max(0, ...mine.map((result) => result.concurrent.peakInFlight)),
			cpuUsPerRequestConcurrent: round(median(all((result) => result.concurrent.cpuUsPerRequest)), 0),
			cpuUsPerRequestSequential: round(median(all((result) => result.sequential.roundsCpuUsPerRequest)), 0),
			wallUsPerRequestSequential: round(median(all((result) => result.sequential.roundsWallUsPerRequest)), 0),
			connections: all((result) => result.sequential.connections),
			failedRounds: mine.reduce((sum, result) => sum + result.failedRounds, 0),
			errors: all((result) => result.errors),
			processes: mine,
		};
	};
	const main = figures('main');
	const cloud = figures('cloud');
	return {
		items: config.items,
		latencyMs: config.latencyMs,
		concurrency: config.editionsConcurrency,
		idealMs,
		rounds: config.rounds,
		processesPerEdition: config.editionsProcesses,
		order,
		main,
		cloud,
		ratios: {
			wall: round(cloud.wallMs / main.wallMs, 3),
			cpuConcurrent: round(cloud.cpuUsPerRequestConcurrent / main.cpuUsPerRequestConcurrent, 2),
			cpuSequential: round(cloud.cpuUsPerRequestSequential / main.cpuUsPerRequestSequential, 2),
			wallSequential: round(cloud.wallUsPerRequestSequential / main.wallUsPerRequestSequential, 2),
		},
	};
}

function runEditionProcess(edition: Edition, config: BenchConfig): Promise<EditionProcessResult> {
	return new Promise((resolve, reject) => {
		const child = fork(__filename, [edition, JSON.stringify(config)], {
			// process.execArgv carries tsx's loader; --expose-gc lets rounds start from a collected heap.
			execArgv: [...process.execArgv.filter((arg) => arg !== '--expose-gc'), '--expose-gc'],
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		});
		let message: { ok: true; result: EditionProcessResult } | { ok: false; error: string } | undefined;
		child.on('message', (received: typeof message) => (message = received));
		child.on('exit', (code, signal) => {
			if (message?.ok) resolve(message.result);
			else reject(new Error(`editions, ${edition}: ${message ? message.error : `exited with ${signal ?? `code ${code}`} before reporting`}`));
		});
	});
}

/** One edition in this process. */
async function measureEdition(edition: Edition, config: BenchConfig): Promise<EditionProcessResult> {
	const packageDir = edition === 'main' ? config.packageDir : config.cloudPackageDir;
	const type = edition === 'main' ? CHAT_NODE_TYPE : CLOUD_CHAT_NODE_TYPE;
	const closeDispatchers = edition === 'main' ? packageModule<DispatcherModule>(config, 'dist/nodes/shared/transport/dispatcher').closeDispatchers : async () => undefined;
	const slow = await startServerProcess({ latencyMs: config.latencyMs, tokenIntervalMs: 0 });
	const fast = await startServerProcess({ latencyMs: 0, tokenIntervalMs: 0 });
	const result: EditionProcessResult = {
		edition,
		concurrent: { roundsMs: [], cpuUsPerRequest: [], peakInFlight: 0 },
		sequential: { roundsCpuUsPerRequest: [], roundsWallUsPerRequest: [], connections: [] },
		failedRounds: 0,
		errors: [],
	};
	const items = questionItems(config.items);
	const run = (server: RemoteFakeNebula, key: string, runItems = items, concurrency = config.editionsConcurrency) =>
		runChatNode({ packageDir, type, server, key, items: runItems, concurrency, fixedMode: true, stream: false });
	try {
		// Loads n8n-core and the package and warms the JIT on both paths: none of that is measured.
		for (const server of [slow, fast]) await run(server, server.defaultKey, items.slice(0, 16), 8);
		await run(fast, fast.defaultKey, items.slice(0, 50), 1);

		for (let index = 0; index < config.rounds; index++) {
			const key = await slow.newKey(`editions-${edition}`);
			const measured = await measureRound(() => run(slow, key).then((output) => assertEchoes(output, items, `${edition} C=${config.editionsConcurrency}`)), result);
			if (!measured) continue;
			result.concurrent.roundsMs.push(round(measured.wallMs, 1));
			result.concurrent.cpuUsPerRequest.push(round(measured.cpuUs / items.length, 1));
			result.concurrent.peakInFlight = Math.max(result.concurrent.peakInFlight, await slow.maxInFlight(key));
		}
		for (let index = 0; index < config.rounds; index++) {
			await closeDispatchers();
			const key = await fast.newKey(`editions-${edition}-sequential`);
			const connectionsBefore = await fast.connectionCount();
			const measured = await measureRound(() => run(fast, key, items, 1).then((output) => assertEchoes(output, items, `${edition} sequential`)), result);
			if (!measured) continue;
			const requests = await fast.requestCount(key);
			if (requests !== items.length) throw new Error(`${edition}: ${requests} requests reached the server, expected ${items.length}`);
			result.sequential.connections.push((await fast.connectionCount()) - connectionsBefore);
			result.sequential.roundsCpuUsPerRequest.push(round(measured.cpuUs / requests, 1));
			result.sequential.roundsWallUsPerRequest.push(round((measured.wallMs * 1000) / requests, 1));
		}
	} finally {
		await closeDispatchers();
		await slow.close();
		await fast.close();
	}
	return result;
}

/** Times one round (wall and this process's CPU, user + system); a failure is counted, not thrown. */
async function measureRound(body: () => Promise<void>, result: EditionProcessResult): Promise<{ wallMs: number; cpuUs: number } | undefined> {
	gc();
	const cpuBefore = process.cpuUsage();
	const started = performance.now();
	try {
		await body();
	} catch (error) {
		result.failedRounds++;
		if (result.errors.length < 3) result.errors.push(error instanceof Error ? error.message.slice(0, 300) : String(error));
		return undefined;
	}
	const wallMs = performance.now() - started;
	const cpu = process.cpuUsage(cpuBefore);
	return { wallMs, cpuUs: cpu.user + cpu.system };
}

async function main(): Promise<void> {
	const [edition, rawConfig] = process.argv.slice(2);
	if (edition !== 'main' && edition !== 'cloud') throw new Error(`editions.ts main|cloud <config JSON>, got ${edition}`);
	const result = await measureEdition(edition, JSON.parse(rawConfig) as BenchConfig);
	await shutdownHarness();
	process.send?.({ ok: true, result }, () => process.exit(0));
}

if (require.main === module) {
	main().catch((error: unknown) =>
		process.send?.({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1)),
	);
}
