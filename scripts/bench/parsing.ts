/**
 * Figure 4, stream parsing: MB/s of the package's SSE decoder against eventsource-parser on the
 * same in-memory stream of chat.completion.chunk events, fed in network-sized chunks; and the same
 * for chunk assembly (decoder + JSON + assembler, as the node runs them, against
 * eventsource-parser + JSON.parse + string concatenation).
 */
import { performance } from 'node:perf_hooks';

import { createParser } from 'eventsource-parser';

import type { SseEvent } from '../../dist/nodes/shared/transport/sse';
import { gc, median, MiB, packageModule, round, type BenchConfig } from './support';

interface Parsers {
	SseDecoder: typeof import('../../dist/nodes/shared/transport/sse').SseDecoder;
	EventStreamReader: typeof import('../../dist/nodes/shared/transport/stream').EventStreamReader;
	ChatAssembler: typeof import('../../dist/nodes/shared/chat/assemble').ChatAssembler;
}

let ours: Parsers;

export interface ParsingRow {
	task: 'decode' | 'assemble';
	chunkBytes: number;
	/** MiB per second of CPU time (user + system): what the code costs, whatever else runs. */
	oursMiBps: number;
	eventsourceParserMiBps: number;
	/** ours / eventsource-parser, by CPU time: above 1 is faster. */
	ratio: number;
	/** The same by wall time, which other processes on the machine can disturb. */
	oursWallMiBps: number;
	eventsourceParserWallMiBps: number;
	wallRatio: number;
}

export interface ParsingResult {
	streamBytes: number;
	events: number;
	rounds: number;
	rows: ParsingRow[];
}

type Contender = (chunks: Uint8Array[]) => Promise<string | number>;

export async function measureParsing(config: BenchConfig): Promise<ParsingResult> {
	ours = {
		SseDecoder: packageModule<typeof import('../../dist/nodes/shared/transport/sse')>(config, 'dist/nodes/shared/transport/sse').SseDecoder,
		EventStreamReader: packageModule<typeof import('../../dist/nodes/shared/transport/stream')>(config, 'dist/nodes/shared/transport/stream')
			.EventStreamReader,
		ChatAssembler: packageModule<typeof import('../../dist/nodes/shared/chat/assemble')>(config, 'dist/nodes/shared/chat/assemble').ChatAssembler,
	};
	const stream = buildStream(config.parsingMiB * MiB);
	const rows: ParsingRow[] = [];
	for (const chunkBytes of config.parsingChunkBytes) {
		const chunks = sliceStream(stream.bytes, chunkBytes);
		rows.push(await race('decode', chunkBytes, chunks, stream, decodeOurs, decodeEventsourceParser, config.rounds));
		rows.push(await race('assemble', chunkBytes, chunks, stream, assembleOurs, assembleEventsourceParser, config.rounds));
	}
	return { streamBytes: stream.bytes.length, events: stream.events, rounds: config.rounds, rows };
}

async function race(
	task: ParsingRow['task'],
	chunkBytes: number,
	chunks: Uint8Array[],
	stream: BuiltStream,
	ours: Contender,
	theirs: Contender,
	rounds: number,
): Promise<ParsingRow> {
	const expected = task === 'decode' ? stream.events : stream.content;
	const oursTimes: PassTimes = { wall: [], cpu: [] };
	const theirsTimes: PassTimes = { wall: [], cpu: [] };
	// One untimed pass each warms the JIT; then the rounds alternate who goes first.
	for (let index = -1; index < rounds; index++) {
		const order: Array<[Contender, PassTimes]> = [
			[ours, oursTimes],
			[theirs, theirsTimes],
		];
		if (index % 2 === 1) order.reverse();
		for (const [contender, times] of order) {
			gc();
			const cpuBefore = process.cpuUsage();
			const started = performance.now();
			const result = await contender(chunks);
			const wallMs = performance.now() - started;
			const cpu = process.cpuUsage(cpuBefore);
			if (result !== expected) throw new Error(`${task}: a parser got a different result than the stream holds`);
			if (index < 0) continue;
			times.wall.push(wallMs);
			times.cpu.push((cpu.user + cpu.system) / 1000);
		}
	}
	const mibps = (times: number[]) => stream.bytes.length / MiB / (median(times) / 1000);
	return {
		task,
		chunkBytes,
		oursMiBps: round(mibps(oursTimes.cpu), 1),
		eventsourceParserMiBps: round(mibps(theirsTimes.cpu), 1),
		ratio: round(mibps(oursTimes.cpu) / mibps(theirsTimes.cpu), 3),
		oursWallMiBps: round(mibps(oursTimes.wall), 1),
		eventsourceParserWallMiBps: round(mibps(theirsTimes.wall), 1),
		wallRatio: round(mibps(oursTimes.wall) / mibps(theirsTimes.wall), 3),
	};
}

interface PassTimes {
	wall: number[];
	cpu: number[];
}

// ---------------------------------------------------------------------------------------------
// Contenders
// ---------------------------------------------------------------------------------------------

async function decodeOurs(chunks: Uint8Array[]): Promise<number> {
	const decoder = new ours.SseDecoder();
	const events: SseEvent[] = [];
	let count = 0;
	for (const chunk of chunks) {
		decoder.push(chunk, events);
		count += events.length;
		events.length = 0;
	}
	decoder.end(events);
	return count + events.length;
}

async function decodeEventsourceParser(chunks: Uint8Array[]): Promise<number> {
	// eventsource-parser takes text: the UTF-8 decoding our decoder does inside is done here.
	const text = new TextDecoder();
	let count = 0;
	const parser = createParser({ onEvent: () => void count++ });
	for (const chunk of chunks) parser.feed(text.decode(chunk, { stream: true }));
	parser.feed(text.decode());
	return count;
}

/** What the node runs for a streamed answer: the transport's event reader feeding the assembler. */
async function assembleOurs(chunks: Uint8Array[]): Promise<string> {
	const assembler = new ours.ChatAssembler();
	const reader = new ours.EventStreamReader((payload) => void assembler.push(payload), { secrets: ['bench-key'] });
	// Read from the same async body as the other contender, as the transport reads the socket.
	for await (const chunk of asNetworkBody(chunks)) reader.push(chunk);
	reader.end();
	return assembler.completion().choices[0].message.content ?? '';
}

/** The naive alternative: parse every event and append the first choice's content. */
async function assembleEventsourceParser(chunks: Uint8Array[]): Promise<string> {
	const text = new TextDecoder();
	let content = '';
	const parser = createParser({
		onEvent: (event) => {
			if (event.data === '[DONE]') return;
			const payload = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: unknown } }> };
			const delta = payload.choices?.[0]?.delta?.content;
			if (typeof delta === 'string') content += delta;
		},
	});
	for await (const chunk of asNetworkBody(chunks)) parser.feed(text.decode(chunk, { stream: true }));
	parser.feed(text.decode());
	return content;
}

/** Both assembly contenders read the chunks the way a response body is read: asynchronously. */
async function* asNetworkBody(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
	for (const chunk of chunks) yield chunk;
}

// ---------------------------------------------------------------------------------------------
// The stream
// ---------------------------------------------------------------------------------------------

interface BuiltStream {
	bytes: Buffer;
	events: number;
	content: string;
}

/** Mostly English words, some accents, CJK and emoji: multi-byte characters cross chunk edges. */
const TOKENS = [
	' the', ' model', ' answer', 's', ' of', ' a', ',', ' streaming', ' request', '.', ' In', ' n8n', ' workflow',
	' tokens', ' arrive', ' one', ' by', ' ing', ' café', ' naïve', ' 東京', ' データ', ' 🚀', ' über', '\n\n', ' "quoted"',
	' back\\slash', ' 42', ' and', ' to', ' is', ' it',
];

/** Events shaped like the fake server's (and OpenAI's) chunks, until `targetBytes` is reached. */
function buildStream(targetBytes: number): BuiltStream {
	const parts: string[] = [];
	const contentParts: string[] = [];
	let bytes = 0;
	let events = 0;
	const push = (payload: unknown) => {
		const frame = `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
		parts.push(frame);
		bytes += Buffer.byteLength(frame);
		events++;
	};
	const chunk = (delta: Record<string, unknown>, finishReason: string | null, usage?: unknown) => ({
		id: 'chatcmpl-bench',
		object: 'chat.completion.chunk',
		created: 1735689600,
		model: 'deepseek-ai/DeepSeek-V3-0324',
		system_fingerprint: 'fp_fake_nebula',
		choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
		...(usage ? { usage } : {}),
	});
	push(chunk({ role: 'assistant', content: '' }, null));
	// A fixed-step walk over the tokens: deterministic, with no period the chunk size lines up with.
	for (let index = 0; bytes < targetBytes; index++) {
		const token = TOKENS[(index * 7 + (index >> 5)) % TOKENS.length];
		contentParts.push(token);
		push(chunk({ content: token }, null));
	}
	push(chunk({}, 'stop'));
	push(chunk({}, null, { prompt_tokens: 12, completion_tokens: events, total_tokens: events + 12 }));
	push('[DONE]');
	return { bytes: Buffer.from(parts.join(''), 'utf8'), events, content: contentParts.join('') };
}

function sliceStream(bytes: Buffer, size: number): Uint8Array[] {
	const chunks: Uint8Array[] = [];
	for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
	return chunks;
}
