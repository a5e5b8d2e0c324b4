/**
 * Figure 5, time to first chunk: how long after bytes reach this process's socket n8n gets the
 * first `item` chunk of a streamed answer (the harness's onChunk, i.e. the engine's sendChunk
 * hook), for the Chat Completion node run through the engine, next to a bare undici request +
 * eventsource-parser seeing its first content delta.
 *
 * "Socket" time: a 'readable' listener put in front of undici's own on every connection it opens
 * (diagnostics channel undici:client:connected). That is the moment Node hands the received bytes
 * to JavaScript, before any HTTP parsing. Two measurements:
 *  - from response start: the server sends headers, the role chunk and the first content chunk at
 *    once; first readable after the request -> first item chunk. It covers response setup: HTTP
 *    parsing, the retry/deadline wrapper, the SSE reader, the assembler and the engine's hook.
 *  - per token: the server pauses `ttfcDripMs` before each chunk, so the first content chunk comes
 *    in a read of its own; that read -> the item chunk. It is the latency every token pays.
 */
import * as diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import { createParser } from 'eventsource-parser';
import { request } from 'undici';

import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { median, MODEL, percentile, round, runChatNode, type BenchConfig } from './support';

export interface TtfcFigures {
	medianMs: number;
	p95Ms: number;
	samples: number;
}

export interface TtfcResult {
	dripMs: number;
	fromResponseStart: { node: TtfcFigures; bareUndici: TtfcFigures };
	perToken: { node: TtfcFigures; bareUndici: TtfcFigures };
}

type Scenario = 'fromResponseStart' | 'perToken';

const readStamps: number[] = [];
let recording = false;

function watchSockets(): void {
	diagnostics.subscribe('undici:client:connected', (message) => {
		const { socket } = message as { socket: Socket };
		socket.prependListener('readable', () => {
			if (recording) readStamps.push(performance.now());
		});
	});
}

export async function measureTtfc(config: BenchConfig): Promise<TtfcResult> {
	watchSockets();
	const server = await startServerProcess({ latencyMs: 0, tokenIntervalMs: 0 });
	try {
		const measure = async (scenario: Scenario, arm: Arm) => {
			const key = await server.newKey(`${scenario}-${arm.name}`);
			const warmUp = 5;
			if (scenario === 'perToken') {
				const drip = { kind: 'drip' as const, intervalMs: config.ttfcDripMs };
				await server.script(key, ...Array.from({ length: config.ttfcSamples + warmUp }, () => drip));
			}
			const samples: number[] = [];
			for (let index = 0; index < config.ttfcSamples + warmUp; index++) {
				const ms = await sampleOnce(scenario, () => arm.run(server, key));
				if (index >= warmUp) samples.push(ms);
			}
			return figuresOf(samples);
		};
		const node = nodeArm(config);
		const bare = bareArm();
		return {
			dripMs: config.ttfcDripMs,
			fromResponseStart: { node: await measure('fromResponseStart', node), bareUndici: await measure('fromResponseStart', bare) },
			perToken: { node: await measure('perToken', node), bareUndici: await measure('perToken', bare) },
		};
	} finally {
		await server.close();
	}
}

interface Arm {
	name: string;
	/** Runs one streamed request; resolves with when the first content reached its consumer. */
	run: (server: RemoteFakeNebula, key: string) => Promise<number>;
}

async function sampleOnce(scenario: Scenario, run: () => Promise<number>): Promise<number> {
	readStamps.length = 0;
	recording = true;
	let firstContentAt: number;
	try {
		firstContentAt = await run();
	} finally {
		recording = false;
	}
	const before = readStamps.filter((stamp) => stamp <= firstContentAt);
	if (before.length === 0) throw new Error('No socket read was seen before the first chunk');
	return firstContentAt - (scenario === 'fromResponseStart' ? before[0] : before[before.length - 1]);
}

function nodeArm(config: BenchConfig): Arm {
	return {
		name: 'node',
		run: async (server, key) => {
			let firstItemAt: number | undefined;
			await runChatNode({
				packageDir: config.packageDir,
				server,
				key,
				items: [{ question: 'What is the first chunk?' }],
				concurrency: 1,
				stream: true,
				onChunk: (chunk) => {
					if (chunk.type === 'item' && firstItemAt === undefined) firstItemAt = performance.now();
				},
			});
			if (firstItemAt === undefined) throw new Error('The node sent no item chunk');
			return firstItemAt;
		},
	};
}

function bareArm(): Arm {
	return {
		name: 'bareUndici',
		run: async (server, key) => {
			const response = await request(`${server.url}/chat/completions`, {
				method: 'POST',
				headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'content-type': 'application/json' },
				body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'What is the first chunk?' }] }),
			});
			if (response.statusCode >= 400) throw new Error(`HTTP ${response.statusCode}`);
			let firstContentAt: number | undefined;
			const parser = createParser({
				onEvent: (event) => {
					if (firstContentAt !== undefined || event.data === '[DONE]') return;
					const payload = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: string } }> };
					if (payload.choices?.[0]?.delta?.content) firstContentAt = performance.now();
				},
			});
			const text = new TextDecoder();
			for await (const chunk of response.body) parser.feed(text.decode(chunk as Buffer, { stream: true }));
			if (firstContentAt === undefined) throw new Error('The bare stream had no content');
			return firstContentAt;
		},
	};
}

function figuresOf(samples: number[]): TtfcFigures {
	return { medianMs: round(median(samples), 3), p95Ms: round(percentile(samples, 95), 3), samples: samples.length };
}
