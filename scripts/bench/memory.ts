/**
 * Figure 6, memory: peak RSS growth of this process (the runner starts one per measurement, so
 * the baseline is clean) while (a) 10,000 small items go through the Chat Completion node in
 * n8n's engine, (b) one 10 MiB answer is streamed through it, and (c) for scale, the same
 * 10 MiB answer read with bare undici + eventsource-parser + string concatenation.
 *
 * Baseline: after a warm-up run of the same path (modules loaded, JIT warm, pools open) and a
 * full GC. Peak: the highest RSS seen by a 2 ms sampler during the run, or the kernel's maxRSS
 * if that rose past it between two samples.
 */
import { performance } from 'node:perf_hooks';

import { createParser } from 'eventsource-parser';
import { request } from 'undici';

import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { assertEchoes, gc, MiB, MODEL, questionItems, round, runChatNode, sleep, type BenchConfig } from './support';

export type MemoryMode = 'items' | 'streamedAnswer' | 'streamedAnswerBareUndici';

export interface MemoryResult {
	mode: MemoryMode;
	/** Items, or answer characters. */
	size: number;
	baselineMiB: number;
	peakMiB: number;
	rssGrowthMiB: number;
	heapGrowthMiB: number;
	/**
	 * Heap growth after a full GC at the end, the outputs still held: what the run keeps. The peak
	 * figures mostly say when V8 got round to a full GC (none runs in a few seconds), so they move
	 * between runs; this one does not.
	 */
	liveHeapGrowthMiB: number;
	durationMs: number;
	/**
	 * The items figure is the median of several fresh processes (run.ts): every run's figures, in
	 * the order they ran; the fields above are those of the run with the median RSS growth.
	 */
	runs?: MemoryRun[];
}

export type MemoryRun = Pick<MemoryResult, 'rssGrowthMiB' | 'heapGrowthMiB' | 'liveHeapGrowthMiB' | 'durationMs'>;

/**
 * The run with the median RSS growth (the lower middle one of an even count), carrying every
 * run's figures. The median, not the mean: about one run in five reads two to three times the
 * others (V8 had not collected yet), and one such run would move a mean of five by a third.
 */
export function medianRun(results: MemoryResult[]): MemoryResult {
	if (results.length === 0) throw new Error('No memory run to take the median of');
	const sorted = [...results].sort((a, b) => a.rssGrowthMiB - b.rssGrowthMiB);
	const middle = sorted[Math.ceil(sorted.length / 2) - 1];
	const runs = results.map(({ rssGrowthMiB, heapGrowthMiB, liveHeapGrowthMiB, durationMs }) => ({ rssGrowthMiB, heapGrowthMiB, liveHeapGrowthMiB, durationMs }));
	return { ...middle, runs };
}

/** The items run as a user's node does by default: Concurrency Mode Auto, up to 64 at once. */
const ITEMS_CONCURRENCY = 'auto';

export async function measureMemory(config: BenchConfig, mode: MemoryMode): Promise<MemoryResult> {
	const server = await startServerProcess({ latencyMs: 0, tokenIntervalMs: 0 });
	try {
		const workload = await prepare(server, config, mode);
		await workload.warmUp();
		await settle();
		const baseline = process.memoryUsage();
		const sampler = startSampler();
		const started = performance.now();
		const kept = await workload.run();
		const durationMs = performance.now() - started;
		const peak = sampler.stop();
		await settle();
		const live = process.memoryUsage().heapUsed;
		void kept;
		return {
			mode,
			size: workload.size,
			baselineMiB: round(baseline.rss / MiB, 1),
			peakMiB: round(peak.rss / MiB, 1),
			rssGrowthMiB: round((peak.rss - baseline.rss) / MiB, 1),
			heapGrowthMiB: round((peak.heapUsed - baseline.heapUsed) / MiB, 1),
			liveHeapGrowthMiB: round((live - baseline.heapUsed) / MiB, 1),
			durationMs: round(durationMs, 0),
		};
	} finally {
		await server.close();
	}
}

interface Workload {
	size: number;
	warmUp: () => Promise<void>;
	/** Resolves with what the run produced, so it is still held when the live heap is measured. */
	run: () => Promise<unknown>;
}

async function prepare(server: RemoteFakeNebula, config: BenchConfig, mode: MemoryMode): Promise<Workload> {
	if (mode === 'items') {
		const items = questionItems(config.memoryItems);
		const warmUpItems = items.slice(0, 200);
		return {
			size: items.length,
			warmUp: async () => {
				const output = await runChatNode({ packageDir: config.packageDir, server, key: server.defaultKey, items: warmUpItems, concurrency: ITEMS_CONCURRENCY, stream: true });
				assertEchoes(output, warmUpItems, 'memory warm-up');
			},
			run: async () => {
				const output = await runChatNode({ packageDir: config.packageDir, server, key: server.defaultKey, items, concurrency: ITEMS_CONCURRENCY, stream: true });
				assertEchoes(output, items, 'memory 10,000 items');
				return output;
			},
		};
	}
	const answer = bigAnswer(config.memoryAnswerMiB * MiB, config.memoryDeltaChars);
	const warmUpAnswer = bigAnswer(MiB / 4, config.memoryDeltaChars);
	const readAnswer = mode === 'streamedAnswer' ? (server: RemoteFakeNebula, key: string) => readWithNode(config, server, key) : readWithBareUndici;
	const once = async (content: string) => {
		const key = await server.newKey('memory');
		await server.script(key, { kind: 'reply', content });
		const received = await readAnswer(server, key);
		if (received !== content) throw new Error(`${mode}: got ${received.length} characters, expected ${content.length}`);
	};
	return { size: answer.length, warmUp: () => once(warmUpAnswer), run: () => once(answer) };
}

async function readWithNode(config: BenchConfig, server: RemoteFakeNebula, key: string): Promise<string> {
	const [item] = await runChatNode({ packageDir: config.packageDir, server, key, items: [{}], concurrency: 1, stream: true, content: 'Write a long answer' });
	return String(item?.json.content ?? '');
}

async function readWithBareUndici(server: RemoteFakeNebula, key: string): Promise<string> {
	const response = await request(`${server.url}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'content-type': 'application/json' },
		body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Write a long answer' }] }),
	});
	let content = '';
	const parser = createParser({
		onEvent: (event) => {
			if (event.data === '[DONE]') return;
			const delta = (JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: unknown } }> }).choices?.[0]?.delta?.content;
			if (typeof delta === 'string') content += delta;
		},
	});
	const text = new TextDecoder();
	for await (const chunk of response.body) parser.feed(text.decode(chunk as Buffer, { stream: true }));
	return content;
}

/**
 * `size` characters in words of `wordChars` (the fake streams one word per chunk). Words differ,
 * so nothing can share one string; the last has no trailing space, so the node's result (which
 * trims nothing else) must equal the whole text.
 */
function bigAnswer(size: number, wordChars: number): string {
	const words: string[] = [];
	let length = 0;
	for (let index = 0; length < size; index++) {
		const word = `w${index.toString(36)}-`.padEnd(wordChars - 1, 'abcdefghijklmnopqrstuvwxyz') + ' ';
		const piece = length + word.length >= size ? word.slice(0, Math.max(1, size - length - 1)) + 'x' : word;
		words.push(piece);
		length += piece.length;
	}
	return words.join('');
}

async function settle(): Promise<void> {
	for (let index = 0; index < 3; index++) {
		gc();
		await sleep(50);
	}
}

interface Peak {
	rss: number;
	heapUsed: number;
}

function startSampler(): { stop: () => Peak } {
	const peak: Peak = { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed };
	const maxRssBefore = process.resourceUsage().maxRSS * 1024;
	let ticks = 0;
	const sample = () => {
		peak.rss = Math.max(peak.rss, process.memoryUsage.rss());
		// heapUsed needs a heap walk of statistics: every 5th tick is enough.
		if (ticks++ % 5 === 0) peak.heapUsed = Math.max(peak.heapUsed, process.memoryUsage().heapUsed);
	};
	const timer = setInterval(sample, 2);
	return {
		stop: () => {
			clearInterval(timer);
			sample();
			const maxRss = process.resourceUsage().maxRSS * 1024;
			// maxRSS is the process's all-time peak: it says something only if this run raised it.
			if (maxRss > maxRssBefore) peak.rss = Math.max(peak.rss, maxRss);
			return peak;
		},
	};
}
