/**
 * Figure 2, client overhead: CPU time and wall time per request of the package's transport
 * (dist/nodes/shared/transport/client.js) against a bare `undici.request` to the same server in
 * the same process, sequentially, in interleaved rounds after a warm-up. The server runs in
 * another process and answers at once, so this process's CPU time is the client's alone.
 */
import { performance } from 'node:perf_hooks';

import { createParser } from 'eventsource-parser';
import { Agent, getGlobalDispatcher, request, type Dispatcher } from 'undici';

import type { Connection } from '../../dist/nodes/shared/transport/client';
import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { gc, median, MODEL, packageModule, round, type BenchConfig } from './support';

type ClientModule = typeof import('../../dist/nodes/shared/transport/client');

type ArmName =
	| 'transportJson'
	| 'bareUndiciJson'
	| 'transportStream'
	| 'bareUndiciStream'
	| 'packageUndiciJson'
	| 'packageUndiciStream';

interface Arm {
	name: ArmName;
	/** Sends one request and returns the answer text, which is checked. */
	send: (question: string) => Promise<string>;
}

export interface ArmFigures {
	/** Median over rounds of CPU microseconds (user + system) per request. */
	cpuUsPerRequest: number;
	/** Median over rounds of wall microseconds per request. */
	wallUsPerRequest: number;
	/** TCP connections the arm opened over all its rounds. */
	connectionsOpened: number;
}

export interface OverheadResult {
	requestsPerRound: number;
	rounds: number;
	/**
	 * What the bare arms run on: undici.request() uses the global dispatcher, and once n8n is
	 * loaded in a process that is Node's bundled undici (another version than the package's).
	 */
	bareDispatcher: string;
	arms: Record<ArmName, ArmFigures>;
	/** transport / bare undici, per mode: the target. */
	ratios: {
		json: { cpu: number; wall: number };
		stream: { cpu: number; wall: number };
	};
	/**
	 * For information: transport / the same bare requests on a default Agent of the package's
	 * own undici, i.e. what the transport adds to the HTTP library it uses.
	 */
	ratiosVsPackageUndici: {
		json: { cpu: number; wall: number };
		stream: { cpu: number; wall: number };
	};
}

export async function measureOverhead(config: BenchConfig): Promise<OverheadResult> {
	const server = await startServerProcess({ latencyMs: 0, tokenIntervalMs: 0 });
	try {
		return await measureWith(server, config);
	} finally {
		await server.close();
	}
}

async function measureWith(server: RemoteFakeNebula, config: BenchConfig): Promise<OverheadResult> {
	const packageUndiciAgent = new Agent();
	const arms = createArms(server, packageModule<ClientModule>(config, 'dist/nodes/shared/transport/client'), packageUndiciAgent);
	const perRound = config.overheadRequests;
	const samples = new Map<ArmName, { cpu: number[]; wall: number[]; connections: number }>(
		arms.map((arm) => [arm.name, { cpu: [], wall: [], connections: 0 }]),
	);
	for (const arm of arms) await runBatch(arm, Math.min(200, perRound));

	const rounds = config.rounds * 2;
	for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
		// Rotating the order spreads whatever the machine does meanwhile over all arms.
		const order = arms.map((_, index) => arms[(index + roundIndex) % arms.length]);
		for (const arm of order) {
			gc();
			const connectionsBefore = await server.connectionCount();
			const cpuBefore = process.cpuUsage();
			const started = performance.now();
			await runBatch(arm, perRound);
			const wallMs = performance.now() - started;
			const cpu = process.cpuUsage(cpuBefore);
			const sample = samples.get(arm.name)!;
			sample.cpu.push((cpu.user + cpu.system) / perRound);
			sample.wall.push((wallMs * 1000) / perRound);
			sample.connections += (await server.connectionCount()) - connectionsBefore;
		}
	}

	const figures = {} as Record<ArmName, ArmFigures>;
	for (const [name, sample] of samples) {
		figures[name] = {
			cpuUsPerRequest: round(median(sample.cpu), 1),
			wallUsPerRequest: round(median(sample.wall), 1),
			connectionsOpened: sample.connections,
		};
	}
	await packageUndiciAgent.close();
	const ratio = (ours: ArmFigures, bare: ArmFigures) => ({
		cpu: round(ours.cpuUsPerRequest / bare.cpuUsPerRequest, 3),
		wall: round(ours.wallUsPerRequest / bare.wallUsPerRequest, 3),
	});
	return {
		requestsPerRound: perRound,
		rounds,
		bareDispatcher: describeGlobalDispatcher(),
		arms: figures,
		ratios: {
			json: ratio(figures.transportJson, figures.bareUndiciJson),
			stream: ratio(figures.transportStream, figures.bareUndiciStream),
		},
		ratiosVsPackageUndici: {
			json: ratio(figures.transportJson, figures.packageUndiciJson),
			stream: ratio(figures.transportStream, figures.packageUndiciStream),
		},
	};
}

async function runBatch(arm: Arm, count: number): Promise<void> {
	for (let index = 0; index < count; index++) {
		const question = `Question number ${index + 1}`;
		const answer = await arm.send(question);
		if (answer !== `Echo: ${question}`) throw new Error(`${arm.name} answered ${JSON.stringify(answer)}`);
	}
}

function chatBody(question: string) {
	return { model: MODEL, messages: [{ role: 'user', content: question }], max_tokens: 64 };
}

/** Which undici the bare arms' undici.request() really dispatches to. */
function describeGlobalDispatcher(): string {
	return getGlobalDispatcher() instanceof Agent
		? 'the package\'s undici'
		: `Node's bundled undici ${process.versions.undici ?? '(unknown version)'}`;
}

function createArms(server: RemoteFakeNebula, { requestJson, requestStream }: ClientModule, packageUndici: Dispatcher): Arm[] {
	const connection: Connection = { baseUrl: server.url, apiKey: server.defaultKey };
	const url = `${server.url}/chat/completions`;
	// The node always hands the transport the execution's cancel signal; so does this arm.
	const cancel = new AbortController();
	const headers = (accept: string) => ({
		authorization: `Bearer ${server.defaultKey}`,
		accept,
		'content-type': 'application/json',
	});

	const transportJson: Arm = {
		name: 'transportJson',
		send: async (question) => {
			const { body } = await requestJson<ChatCompletionBody>(
				connection,
				{ method: 'POST', path: '/chat/completions', body: chatBody(question) },
				{ signal: cancel.signal },
			);
			return body.choices[0].message.content;
		},
	};

	const bareJson = (name: ArmName, dispatcher: Dispatcher | undefined): Arm => ({
		name,
		send: async (question) => {
			const response = await request(url, {
				method: 'POST',
				headers: headers('application/json'),
				body: JSON.stringify(chatBody(question)),
				dispatcher,
			});
			if (response.statusCode >= 400) throw new Error(`HTTP ${response.statusCode}: ${await response.body.text()}`);
			const body = (await response.body.json()) as ChatCompletionBody;
			return body.choices[0].message.content;
		},
	});

	const transportStream: Arm = {
		name: 'transportStream',
		send: async (question) => {
			let content = '';
			await requestStream(
				connection,
				{
					method: 'POST',
					path: '/chat/completions',
					body: { ...chatBody(question), stream: true, stream_options: { include_usage: true } },
				},
				{ signal: cancel.signal },
				(payload) => {
					content += deltaContent(payload);
				},
			);
			return content;
		},
	};

	const bareStream = (name: ArmName, dispatcher: Dispatcher | undefined): Arm => ({
		name,
		send: async (question) => {
			const response = await request(url, {
				method: 'POST',
				headers: headers('text/event-stream'),
				body: JSON.stringify({ ...chatBody(question), stream: true, stream_options: { include_usage: true } }),
				dispatcher,
			});
			if (response.statusCode >= 400) throw new Error(`HTTP ${response.statusCode}: ${await response.body.text()}`);
			let content = '';
			const parser = createParser({
				onEvent: (event) => {
					if (event.data !== '[DONE]') content += deltaContent(JSON.parse(event.data));
				},
			});
			const text = new TextDecoder();
			for await (const chunk of response.body) parser.feed(text.decode(chunk as Buffer, { stream: true }));
			return content;
		},
	});

	// The target's arms use the global dispatcher, as a bare undici.request() does; the package
	// undici arms only show how much of the difference is the HTTP library's version.
	return [
		transportJson,
		bareJson('bareUndiciJson', undefined),
		transportStream,
		bareStream('bareUndiciStream', undefined),
		bareJson('packageUndiciJson', packageUndici),
		bareStream('packageUndiciStream', packageUndici),
	];
}

interface ChatCompletionBody {
	choices: Array<{ message: { content: string } }>;
}

function deltaContent(payload: Record<string, unknown>): string {
	const choices = payload.choices as Array<{ delta?: { content?: unknown } }> | undefined;
	const content = choices?.[0]?.delta?.content;
	return typeof content === 'string' ? content : '';
}
