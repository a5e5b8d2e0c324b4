/**
 * `npm run bench`: runs every measurement against the fake Nebula Block server, each in a fresh
 * child process (one at a time: they share the machine's cores), prints a table with the target
 * checks and writes the JSON to bench-results/latest.json (and a timestamped copy).
 *
 * Options: --latency-ms N (100), --token-interval-ms N (0), --items N (200), --rounds N (5),
 * --rate-limit-items N (1000, items of the rate limit figure), --rate-limit-headers (its server
 * also sends x-ratelimit-*-requests headers), --recovery-burst-s N (12) and --recovery-observe-s N
 * (60) (the recovery figure's time at R and after the lift), --only a,b (measurements:
 * throughput, overhead, connections, parsing, ttfc, memoryItems, memoryStreamedAnswer,
 * memoryStreamedAnswerBareUndici, rateLimit, rateLimitRecovery, editions, embeddings; e.g. `npm run bench -- --only
 * rateLimit --rate-limit-items 200` for a quick look at one figure), --memory-runs N (5: fresh
 * processes of the 10,000-item memory figure, whose median is reported), --out FILE, --docs (also write
 * docs/benchmark.json), --quick (small sizes, for checking the benchmark itself; not for figures),
 * --package DIR (measure the build in another checkout of this package, e.g. a worktree with a
 * candidate fix; it must be built and inside a folder whose node_modules has the dependencies),
 * --cloud-package DIR (the cloud edition's built package for figure 8, `editions`; default
 * build/cloud/package, written by `npm run build:cloud`). Figure 8 measures a copy of it taken
 * when the run starts (under bench-results/, so n8n-workflow still resolves from this repository's
 * node_modules; removed at the end), so a rebuild during the run does not change what is measured.
 * Figure 9 (`embeddings`): --embeddings-chunks N (10,000), --embeddings-batch-size N (32, for both
 * sides), --embeddings-n8n VERSION (2.8.4: the n8n install in the cache, N8N_CACHE_DIR or
 * <repo>/.cache, whose Simple Vector Store and Embeddings OpenAI run; installed there on first use).
 *
 * Expects a build (`npm run bench` builds first): the node runs from dist/ as n8n loads it.
 */
import { execFileSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ChildMessage, MeasurementName } from './child';
import { CLOUD_PACKAGE_NAME } from './editions';
import { medianRun, type MemoryResult } from './memory';
import { checkTargets, formatReport, headlineRatios, type Figures } from './report';
import { DEFAULT_CONFIG, REPO_ROOT, type BenchConfig } from './support';

const ALL: MeasurementName[] = [
	'throughput',
	'overhead',
	'connections',
	'parsing',
	'ttfc',
	'memoryItems',
	'memoryStreamedAnswer',
	'memoryStreamedAnswerBareUndici',
	'rateLimit',
	'rateLimitRecovery',
	'editions',
	'embeddings',
];
const CHILD_TIME_LIMIT_MS = 15 * 60_000;

interface Args {
	config: BenchConfig;
	only: MeasurementName[];
	out: string;
	docs: boolean;
}

function parseArgs(argv: string[]): Args {
	const value = (name: string): string | undefined => {
		const index = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
		if (index === -1) return undefined;
		const arg = argv[index];
		return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
	};
	const number = (name: string, fallback: number): number => {
		const raw = value(name);
		if (raw === undefined) return fallback;
		const parsed = Number(raw);
		if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} needs a number, got ${raw}`);
		return parsed;
	};
	const quick = argv.includes('--quick');
	const base: BenchConfig = quick
		? { ...DEFAULT_CONFIG, items: 40, rounds: 2, overheadRequests: 50, parsingMiB: 4, ttfcSamples: 5, memoryItems: 500, memoryItemsRuns: 1, memoryAnswerMiB: 1, rateLimitItems: 100, recoveryBatchItems: 200, recoveryUnlimitedMs: 6000, recoveryBurstMs: 4000, recoveryObserveMs: 15_000, embeddingsChunks: 1000 }
		: DEFAULT_CONFIG;
	const config: BenchConfig = {
		...base,
		latencyMs: number('latency-ms', base.latencyMs),
		tokenIntervalMs: number('token-interval-ms', base.tokenIntervalMs),
		items: number('items', base.items),
		rounds: Math.max(1, number('rounds', base.rounds)),
		memoryItemsRuns: Math.max(1, number('memory-runs', base.memoryItemsRuns)),
		rateLimitItems: Math.max(1, number('rate-limit-items', base.rateLimitItems)),
		rateLimitHeaders: argv.includes('--rate-limit-headers') || base.rateLimitHeaders,
		recoveryBurstMs: number('recovery-burst-s', base.recoveryBurstMs / 1000) * 1000,
		recoveryObserveMs: Math.max(base.recoveryWindowMs / 1000, number('recovery-observe-s', base.recoveryObserveMs / 1000)) * 1000,
		packageDir: path.resolve(value('package') ?? base.packageDir),
		cloudPackageDir: path.resolve(value('cloud-package') ?? base.cloudPackageDir),
		embeddingsChunks: Math.max(1, number('embeddings-chunks', base.embeddingsChunks)),
		embeddingsBatchSize: Math.max(1, number('embeddings-batch-size', base.embeddingsBatchSize)),
		embeddingsN8nVersion: value('embeddings-n8n') ?? base.embeddingsN8nVersion,
	};
	const only = (value('only')?.split(',').map((name) => name.trim()).filter(Boolean) ?? ALL) as MeasurementName[];
	const unknown = only.filter((name) => !ALL.includes(name));
	if (unknown.length > 0) throw new Error(`Unknown measurement(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
	return { config, only, out: path.resolve(REPO_ROOT, value('out') ?? 'bench-results/latest.json'), docs: argv.includes('--docs') };
}

/** Runs one measurement in its own process; resolves with its result. */
function runChild(name: MeasurementName, config: BenchConfig): Promise<unknown> {
	return new Promise((resolve, reject) => {
		const child = fork(path.join(__dirname, 'child.ts'), [name, JSON.stringify(config)], {
			// process.execArgv carries tsx's loader; --expose-gc lets measurements start from a collected heap.
			execArgv: [...process.execArgv, '--expose-gc'],
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		});
		let settled: ChildMessage | undefined;
		const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIME_LIMIT_MS);
		child.on('message', (message: ChildMessage) => {
			settled = message;
		});
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			if (settled?.ok) resolve(settled.result);
			else if (settled) reject(new Error(settled.error));
			else reject(new Error(`exited with ${signal ?? `code ${code}`} before reporting`));
		});
	});
}

/**
 * The 10,000-item memory figure in `memoryItemsRuns` fresh processes, one after another: the run
 * with the median RSS growth, every run's figures with it. Nothing is forced: each run's growth
 * is what that process measured.
 */
async function runMemoryItems(config: BenchConfig): Promise<MemoryResult> {
	const runs: MemoryResult[] = [];
	for (let run = 1; run <= config.memoryItemsRuns; run++) {
		const result = (await runChild('memoryItems', config)) as MemoryResult;
		process.stderr.write(`[bench] memoryItems run ${run} of ${config.memoryItemsRuns}: RSS growth ${result.rssGrowthMiB} MiB, heap growth ${result.heapGrowthMiB} MiB, live heap ${result.liveHeapGrowthMiB} MiB\n`);
		runs.push(result);
	}
	return medianRun(runs);
}

function environment(packageDir: string): Record<string, unknown> {
	const versionOf = (name: string) => {
		try {
			return (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
		} catch {
			return undefined;
		}
	};
	const git = (...args: string[]) => {
		try {
			return execFileSync('git', args, { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
		} catch {
			return undefined;
		}
	};
	const cpus = os.cpus();
	return {
		node: process.version,
		platform: `${os.platform()} ${os.release()} ${os.arch()}`,
		cpus: cpus.length,
		cpuModel: cpus[0]?.model,
		totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
		package: path.relative(REPO_ROOT, packageDir) || '.',
		commit: git('rev-parse', '--short', 'HEAD'),
		uncommittedChanges: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '',
		undici: versionOf('undici'),
		n8nCore: versionOf('n8n-core'),
		n8nWorkflow: versionOf('n8n-workflow'),
		eventsourceParser: versionOf('eventsource-parser'),
	};
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2));
	const started = new Date();
	const env = environment(args.config.packageDir);
	const loadBefore = os.loadavg();
	const figures: Figures = {};
	const errors: Record<string, string> = {};
	const seconds: Record<string, number> = {};
	let cloudCopy: string | undefined;
	let only = args.only;
	if (only.includes('editions')) {
		try {
			cloudCopy = snapshotCloudPackage(args.config, started);
			process.stderr.write(`[bench] editions: the cloud edition from ${path.relative(REPO_ROOT, args.config.cloudPackageDir) || '.'}, copied to ${path.relative(REPO_ROOT, cloudCopy)}\n`);
		} catch (error) {
			errors.editions = error instanceof Error ? error.message : String(error);
			process.stderr.write(`[bench] editions FAILED: ${errors.editions}\n`);
			only = only.filter((name) => name !== 'editions');
		}
	}
	const measuredConfig: BenchConfig = cloudCopy ? { ...args.config, cloudPackageDir: cloudCopy } : args.config;
	for (const name of only) {
		process.stderr.write(`[bench] ${name} ...\n`);
		const begin = Date.now();
		try {
			(figures as Record<string, unknown>)[name] = name === 'memoryItems' ? await runMemoryItems(measuredConfig) : await runChild(name, measuredConfig);
		} catch (error) {
			errors[name] = error instanceof Error ? error.message : String(error);
			process.stderr.write(`[bench] ${name} FAILED: ${errors[name]}\n`);
		}
		seconds[name] = Math.round((Date.now() - begin) / 100) / 10;
		process.stderr.write(`[bench] ${name} took ${seconds[name]} s\n`);
	}
	if (cloudCopy) fs.rmSync(path.dirname(cloudCopy), { recursive: true, force: true });
	const loadAfter = os.loadavg();
	const checks = checkTargets(figures);
	const document = {
		generatedAt: started.toISOString(),
		environment: { ...env, loadAverage1mBefore: round2(loadBefore[0]), loadAverage1mAfter: round2(loadAfter[0]) },
		config: args.config,
		ratios: headlineRatios(figures),
		targets: checks,
		figures,
		secondsPerMeasurement: seconds,
		...(Object.keys(errors).length > 0 && { errors }),
	};

	const header = [
		`Nebula Block nodes benchmark, ${started.toISOString()}`,
		`node ${env.node}, ${env.platform}, ${env.cpus} x ${env.cpuModel}, load average ${round2(loadBefore[0])} -> ${round2(loadAfter[0])}`,
		`package ${env.package} at commit ${env.commit}${env.uncommittedChanges ? ' (with uncommitted changes)' : ''}; undici ${env.undici}, n8n-core ${env.n8nCore}, eventsource-parser ${env.eventsourceParser}`,
	];
	process.stdout.write(`\n${formatReport(figures, checks, header)}\n`);

	const json = `${JSON.stringify(document, null, '\t')}\n`;
	fs.mkdirSync(path.dirname(args.out), { recursive: true });
	fs.writeFileSync(args.out, json);
	const stamped = path.join(path.dirname(args.out), `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
	fs.writeFileSync(stamped, json);
	process.stdout.write(`\nWrote ${path.relative(REPO_ROOT, args.out)} and ${path.relative(REPO_ROOT, stamped)}\n`);
	if (args.docs) {
		const docsFile = path.join(REPO_ROOT, 'docs', 'benchmark.json');
		fs.mkdirSync(path.dirname(docsFile), { recursive: true });
		fs.writeFileSync(docsFile, json);
		process.stdout.write(`Wrote docs/benchmark.json\n`);
	}
	// Missed targets are a finding, printed above; only a measurement that could not run fails the command.
	if (Object.keys(errors).length > 0) process.exitCode = 1;
}

/**
 * Copies the cloud edition's built package to bench-results/cloud-package-<run>/package (under the
 * repository: its dist/ requires n8n-workflow, which resolves from the repository's node_modules),
 * so figure 8 measures one build even if build/cloud is rebuilt while the run goes on.
 */
function snapshotCloudPackage(config: BenchConfig, started: Date): string {
	const source = config.cloudPackageDir;
	const manifest = path.join(source, 'package.json');
	const name = fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name : undefined;
	if (name !== CLOUD_PACKAGE_NAME || !fs.existsSync(path.join(source, 'dist'))) {
		throw new Error(`Figure 8 (editions) needs the cloud edition built in ${source} (npm run build:cloud, or --cloud-package DIR); found ${name ?? 'no package'}`);
	}
	const target = path.join(REPO_ROOT, 'bench-results', `cloud-package-${started.toISOString().replace(/[:.]/g, '-')}`, 'package');
	fs.mkdirSync(path.dirname(target), { recursive: true });
	fs.cpSync(source, target, { recursive: true });
	return target;
}

function round2(value: number): number {
	return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
