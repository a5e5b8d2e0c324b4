/**
 * Streaming to the chat in a real n8n 2.8.4: the packed package installed like a community
 * package, one `n8n start` shared by every test here, production webhooks (Webhook with
 * Response Mode "Streaming", and a Chat Trigger) read by an HTTP client as the bytes arrive,
 * and the fake Nebula Block server behind it. Run with `npm run test:e2e`.
 *
 * n8n answers a streaming webhook with one JSON object per line:
 * `{type: begin|item|end|error, content, metadata: {nodeId, nodeName, itemIndex, runIndex}}`.
 */
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';
import { createGate, startFakeNebula, type FakeNebula, type RecordedRequest } from '../support/fake-nebula';
import { StepTimer } from '../support/step-timer';
import { CHAT_MODEL_NEEDS, CHAT_MODEL_REFUSAL, EDITION } from './edition';

const CHAT_TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
const CHAT_TOOL_TYPE = 'n8n-nodes-nebula-block.nebulaBlockChatTool';
const MODEL_TYPE = 'n8n-nodes-nebula-block.lmChatNebulaBlock';
const EXAMPLE_FILE = path.join(rt.EXAMPLES_DIR, 'chatbot-streaming.json');
const EXAMPLE_WORKFLOW = rt.readWorkflowFile(EXAMPLE_FILE);
const EXAMPLE_TRIGGER = EXAMPLE_WORKFLOW.nodes.find((node: any) => node.type === '@n8n/n8n-nodes-langchain.chatTrigger') as { webhookId: string };

/** Each credential has its own key, so every test scripts and reads only its own requests. */
const CREDENTIALS = {
	single: { id: 'streamSingle0001', name: 'Stream: single answer' },
	items: { id: 'streamItems00001', name: 'Stream: three items' },
	agentModel: { id: 'streamAgentModel', name: 'Stream: agent model' },
	agentTool: { id: 'streamAgentTool1', name: 'Stream: agent tool' },
	quietModel: { id: 'streamQuietModel', name: 'Stream: agent not streaming' },
};

const PATHS = { single: 'nebula-stream-single', items: 'nebula-stream-items', agent: 'nebula-stream-agent', quiet: 'nebula-agent-quiet' };
const WEBHOOK_IDS: Record<string, string> = {
	[PATHS.single]: '5e1a0c3b-1d2e-4f30-9a41-b52c63d74e01',
	[PATHS.items]: '5e1a0c3b-1d2e-4f30-9a41-b52c63d74e02',
	[PATHS.agent]: '5e1a0c3b-1d2e-4f30-9a41-b52c63d74e03',
	[PATHS.quiet]: '5e1a0c3b-1d2e-4f30-9a41-b52c63d74e04',
};

interface StreamChunk {
	type: 'begin' | 'item' | 'end' | 'error';
	content?: string;
	metadata: { nodeId: string; nodeName: string; itemIndex: number; runIndex: number };
}

let ctx: rt.N8nContext;
let fake: FakeNebula;
let n8n: rt.RunningN8n;
let session: rt.RestSession;
const keys = {} as Record<keyof typeof CREDENTIALS | 'example', string>;
const timer = new StepTimer();

/** A streaming HTTP response, read line by line as it arrives. */
class ChunkReader {
	readonly chunks: StreamChunk[] = [];
	readonly finished: Promise<void>;
	private readonly listeners = new Set<() => void>();
	private ended = false;

	constructor(response: Response) {
		if (!response.body) throw new Error(`HTTP ${response.status} without a body`);
		this.finished = this.pump(response.body.getReader()).finally(() => {
			this.ended = true;
			this.notify();
		});
		// A test that failed early leaves its stream unread; n8n stopping later must not crash jest.
		this.finished.catch(() => undefined);
	}

	/** Resolves with the first chunk that matches, as soon as it has arrived. */
	waitFor(predicate: (chunk: StreamChunk) => boolean, what: string): Promise<StreamChunk> {
		return new Promise((resolve, reject) => {
			const check = () => {
				const found = this.chunks.find(predicate);
				if (found) {
					this.listeners.delete(check);
					resolve(found);
				} else if (this.ended) {
					this.listeners.delete(check);
					reject(new Error(`The stream ended without ${what}; it held:\n${JSON.stringify(this.chunks, null, 1)}`));
				}
			};
			this.listeners.add(check);
			check();
		});
	}

	private async pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
		const decoder = new TextDecoder();
		let buffer = '';
		for (;;) {
			const { value, done } = await reader.read();
			if (done) break;
			buffer += decoder.decode(value, { stream: true });
			let newline: number;
			while ((newline = buffer.indexOf('\n')) !== -1) {
				const line = buffer.slice(0, newline).trim();
				buffer = buffer.slice(newline + 1);
				if (line !== '') this.chunks.push(JSON.parse(line) as StreamChunk);
			}
			this.notify();
		}
		if (buffer.trim() !== '') this.chunks.push(JSON.parse(buffer) as StreamChunk);
	}

	private notify(): void {
		for (const listener of [...this.listeners]) listener();
	}
}

async function post(route: string, body: unknown): Promise<ChunkReader> {
	const response = await fetch(`${n8n.url}${route}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	expect(response.status).toBe(200);
	return new ChunkReader(response);
}

function ofNode(chunks: StreamChunk[], nodeName: string): StreamChunk[] {
	return chunks.filter((chunk) => chunk.metadata?.nodeName === nodeName);
}

function textOf(chunks: StreamChunk[]): string {
	return chunks
		.filter((chunk) => chunk.type === 'item')
		.map((chunk) => chunk.content)
		.join('');
}

function chatCalls(key: string): RecordedRequest[] {
	return fake.requests(key).filter((request) => request.path === '/v1/chat/completions');
}

function webhookNode(webhookPath: string, responseMode = 'streaming') {
	return {
		id: `webhook-${webhookPath}`,
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2.1,
		position: [0, 0],
		webhookId: WEBHOOK_IDS[webhookPath],
		parameters: { httpMethod: 'POST', path: webhookPath, responseMode, options: {} },
	};
}

function chatNode(name: string, credential: { id: string; name: string }, content: string, options: Record<string, unknown> = {}) {
	return {
		id: `chat-${name}`,
		name,
		type: CHAT_TYPE,
		typeVersion: 1,
		position: [440, 0],
		parameters: {
			model: { __rl: true, mode: 'id', value: 'fake/chat-model' },
			messages: { values: [{ role: 'user', content }] },
			options,
		},
		credentials: { nebulaBlockApi: credential },
	};
}

/** Webhook (streaming) -> Chat Completion. */
function singleWorkflow(): rt.WorkflowFile {
	return {
		id: 'streamSingle',
		name: 'Streaming: one Chat Completion',
		settings: { executionOrder: 'v1' },
		nodes: [webhookNode(PATHS.single), chatNode('Chat', CREDENTIALS.single, '={{ $json.body.question }}')],
		connections: { Webhook: { main: [[{ node: 'Chat', type: 'main', index: 0 }]] } },
	};
}

/** Webhook (streaming) -> Split Out (one item per question) -> Chat Completion, Concurrency 3. */
function itemsWorkflow(): rt.WorkflowFile {
	return {
		id: 'streamItems',
		name: 'Streaming: three items at once',
		settings: { executionOrder: 'v1' },
		nodes: [
			webhookNode(PATHS.items),
			{
				id: 'split-questions',
				name: 'Split Out',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				position: [220, 0],
				parameters: { fieldToSplitOut: 'body.questions', options: {} },
			},
			chatNode('Chat', CREDENTIALS.items, '={{ $json.question }}', { concurrency: 3 }),
		],
		connections: {
			Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
			'Split Out': { main: [[{ node: 'Chat', type: 'main', index: 0 }]] },
		},
	};
}

/**
 * Webhook -> AI Agent 3.1 with the Chat Model and a Chat Completion tool. Streaming: the Webhook
 * streams and the agent's Enable Streaming is on; otherwise the Webhook answers with the last
 * node's output and the agent does not stream.
 */
function agentWorkflow(
	id = 'streamAgent',
	webhookPath = PATHS.agent,
	streaming = true,
	modelCredential = CREDENTIALS.agentModel,
): rt.WorkflowFile {
	return {
		id,
		name: `Streaming: AI Agent with a Nebula Block tool (${id})`,
		settings: { executionOrder: 'v1' },
		nodes: [
			webhookNode(webhookPath, streaming ? 'streaming' : 'lastNode'),
			{
				id: 'agent-node',
				name: 'AI Agent',
				type: '@n8n/n8n-nodes-langchain.agent',
				typeVersion: 3.1,
				position: [440, 0],
				parameters: { promptType: 'define', text: '={{ $json.body.question }}', options: { enableStreaming: streaming } },
			},
			{
				id: 'model-node',
				name: 'Nebula Block Chat Model',
				type: MODEL_TYPE,
				typeVersion: 1,
				position: [380, 240],
				parameters: { model: { __rl: true, mode: 'id', value: 'fake/chat-model' }, options: {} },
				credentials: { nebulaBlockApi: modelCredential },
			},
			{
				id: 'tool-node',
				name: 'Copywriter',
				type: CHAT_TOOL_TYPE,
				typeVersion: 1,
				position: [600, 240],
				parameters: {
					toolDescription: 'Writes marketing copy. Give it the full brief.',
					model: { __rl: true, mode: 'id', value: 'fake/chat-model' },
					messages: { values: [{ role: 'user', content: "={{ $fromAI('brief', 'What to write', 'string') }}" }] },
					options: {},
				},
				credentials: { nebulaBlockApi: CREDENTIALS.agentTool },
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'Nebula Block Chat Model': { ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]] },
			Copywriter: { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
		},
	};
}

/** Publishes a workflow, so its production webhook answers. */
async function activate(workflowId: string): Promise<void> {
	const workflow = await session.get(`/rest/workflows/${workflowId}`);
	expect(workflow.status).toBe(200);
	const activated = await session.post(`/rest/workflows/${workflowId}/activate`, { versionId: workflow.body.data.versionId });
	if (activated.status !== 200) throw new Error(`Activating ${workflowId} failed: HTTP ${activated.status} ${JSON.stringify(activated.body)}`);
}

/** The run data of the latest execution of a workflow, as n8n saved it. */
async function lastExecution(workflowId: string): Promise<rt.ExecutionResult> {
	const list = await session.get(`/rest/executions?filter=${encodeURIComponent(JSON.stringify({ workflowId }))}&limit=1`);
	const [summary] = list.body.data.results as Array<{ id: string }>;
	const execution = await session.get(`/rest/executions/${summary.id}`);
	// n8n stores run data in the `flatted` format; its own copy reads it.
	const flatted = require(require.resolve('flatted', { paths: [ctx.install.dir] })) as { parse(text: string): unknown };
	return { ...execution.body.data, data: flatted.parse(execution.body.data.data) } as rt.ExecutionResult;
}

/** A workflow's saved executions, newest first. */
async function executions(workflowId: string): Promise<Array<{ id: string; status: string }>> {
	const list = await session.get(`/rest/executions?filter=${encodeURIComponent(JSON.stringify({ workflowId }))}&limit=20`);
	return list.body.data.results as Array<{ id: string; status: string }>;
}

/**
 * A test of the Chat Model under an agent. On an n8n the edition's Chat Model does not run on, the
 * same request instead must end an execution that failed at the Chat Model with its own words,
 * with nothing sent to Nebula Block.
 */
function modelTest(title: string, fn: () => Promise<void>, refused: { workflowId: string; streams: boolean; send: () => Promise<Response> }): void {
	if (CHAT_MODEL_REFUSAL === undefined) {
		test(title, fn);
		return;
	}
	test.skip(title, fn);
	const what = title.split(':')[0];
	test(`${what}, on n8n before ${CHAT_MODEL_NEEDS.n8n}: the ${EDITION} edition's Chat Model fails the execution, saying it needs n8n ${CHAT_MODEL_NEEDS.n8n} or newer, and sends nothing`, async () => {
		const requestsBefore = fake.requests().length;
		const before = new Set((await executions(refused.workflowId)).map((execution) => execution.id));
		const response = await refused.send();
		// A streaming webhook hands the client n8n's error chunk with the model's words; one that answers at the end, n8n's HTTP 500.
		expect(`HTTP ${response.status} ${await response.text()}`).toContain(refused.streams ? `HTTP 200 {"type":"error","content":${JSON.stringify(CHAT_MODEL_REFUSAL)}` : 'HTTP 500 {"message":"Error in workflow"}');
		// n8n may finish saving the execution a moment after the response ends.
		let finished: { id: string; status: string } | undefined;
		for (let tries = 0; tries < 40 && finished === undefined; tries++) {
			finished = (await executions(refused.workflowId)).find((execution) => !before.has(execution.id) && !['new', 'running'].includes(execution.status));
			if (finished === undefined) await rt.sleep(250);
		}
		expect(finished?.status).toBe('error');
		const run = await lastExecution(refused.workflowId);
		expect(run.data.resultData.runData['Nebula Block Chat Model']?.[0]?.error?.message).toBe(CHAT_MODEL_REFUSAL);
		expect(String(run.data.resultData.error?.message)).toMatch(/Nebula Block Chat Model/);
		expect(fake.requests().length).toBe(requestsBefore);
	});
}

function postJson(route: string, body: unknown): Promise<Response> {
	return fetch(`${n8n.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

beforeAll(async () => {
	ctx = await timer.time('install n8n if needed, pack, install the package', () =>
		rt.prepareSandbox({ log: (line) => process.stdout.write(`${line}\n`) }),
	);
	fake = await startFakeNebula();
	for (const name of Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>) keys[name] = fake.newKey(name);
	keys.example = fake.newKey('example');
	const credential = (ref: { id: string; name: string }, apiKey: string) => ({
		...ref,
		type: rt.NEBULA_CREDENTIAL_TYPE,
		data: { apiKey, baseUrl: fake.url, textGenerateUrl: fake.url },
	});
	await timer.time('import credentials', () =>
		rt.importCredentials(ctx, [
			rt.exampleCredential({ apiKey: keys.example, baseUrl: fake.url, textGenerateUrl: fake.url }),
			...(Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>).map((name) => credential(CREDENTIALS[name], keys[name])),
		]),
	);
	const workflows = [
		singleWorkflow(),
		itemsWorkflow(),
		agentWorkflow(),
		agentWorkflow('streamAgentQuiet', PATHS.quiet, false, CREDENTIALS.quietModel),
		rt.readWorkflowFile(EXAMPLE_FILE),
	];
	await timer.time('import workflows', () => rt.importWorkflows(ctx, workflows));
	n8n = await timer.time('n8n start', () => rt.startN8n(ctx));
	session = await rt.setupOwner(n8n.url);
	await timer.time('activate workflows', async () => {
		for (const workflow of workflows) await activate(workflow.id);
	});
});

afterAll(async () => {
	await n8n?.stop();
	await fake?.close();
	if (ctx) rt.removeUserFolder(ctx.folder);
	process.stdout.write(`streaming e2e timings:\n  ${timer.lines.join('\n  ')}\n`);
});

describe(`streaming to the chat in n8n ${rt.e2eN8nVersion()}`, () => {
	test('Webhook (Streaming) -> Chat Completion: the first token reaches the client while the server still holds the rest', async () => {
		const gate = createGate();
		// The role chunk and the first word go out; the rest waits until the test has seen the word.
		fake.script(keys.single, [{ kind: 'gate', afterChunks: 2, gate }]);
		const reader = await post(`/webhook/${PATHS.single}`, { question: 'alpha beta gamma delta' });
		await gate.reached;
		const first = await reader.waitFor((chunk) => chunk.type === 'item', 'a text chunk');
		expect(first).toMatchObject({ content: 'Echo: ', metadata: { nodeName: 'Chat', itemIndex: 0 } });
		// The server has not sent more than the first word: everything else is still held.
		expect(textOf(reader.chunks)).toBe('Echo: ');
		gate.release();
		await reader.finished;

		const own = ofNode(reader.chunks, 'Chat');
		expect(own[0].type).toBe('begin');
		expect(own.at(-1)?.type).toBe('end');
		expect(textOf(own)).toBe('Echo: alpha beta gamma delta');
		expect(own.filter((chunk) => chunk.type === 'item').length).toBeGreaterThan(2);
		expect(chatCalls(keys.single)[0].body.stream).toBe(true);
	});

	test('three items with Concurrency 3: three whole answers, in input order, never mixed', async () => {
		// Whichever request arrives first answers slowest: left alone, the tokens would interleave.
		fake.script(keys.items, [{ kind: 'drip', intervalMs: 60 }], [{ kind: 'drip', intervalMs: 35 }], [{ kind: 'drip', intervalMs: 10 }]);
		const questions = ['A1 A2 A3 A4', 'B1 B2 B3 B4', 'C1 C2 C3 C4'];
		const reader = await post(`/webhook/${PATHS.items}`, { questions: questions.map((question) => ({ question })) });
		await reader.finished;

		expect(fake.maxInFlight(keys.items)).toBe(3);
		const own = ofNode(reader.chunks, 'Chat');
		const items = own.map((chunk) => chunk.metadata.itemIndex);
		// Item 0 whole, then item 1, then item 2: the index never goes back.
		expect(items).toEqual([...items].sort());
		questions.forEach((question, itemIndex) => {
			const chunks = own.filter((chunk) => chunk.metadata.itemIndex === itemIndex);
			expect(chunks[0].type).toBe('begin');
			expect(chunks.at(-1)?.type).toBe('end');
			expect(textOf(chunks)).toBe(`Echo: ${question}`);
		});
	});

	modelTest('AI Agent with the Chat Completion node as its tool: the client gets the agent answer, token by token, and none of the tool text', async () => {
		const toolText = 'PRIVATE tool notes: one two three';
		const finalAnswer = 'The best tagline is Fresh code, fresh bread.';
		const gate = createGate();
		fake.script(
			keys.agentModel,
			{ kind: 'reply', toolCalls: [{ id: 'call_stream_1', name: 'Copywriter', arguments: JSON.stringify({ brief: 'Three taglines' }) }] },
			[{ kind: 'reply', content: finalAnswer, usage: { prompt_tokens: 41, completion_tokens: 9, total_tokens: 50 } }, { kind: 'gate', afterChunks: 2, gate }],
		);
		fake.script(keys.agentTool, { kind: 'reply', content: toolText });
		const reader = await post(`/webhook/${PATHS.agent}`, { question: 'Find us a tagline' });

		// The agent's answer streams from Nebula Block: its first word is in the chat while the rest is held.
		await gate.reached;
		await reader.waitFor((chunk) => chunk.type === 'item' && chunk.metadata.nodeName === 'AI Agent' && chunk.content !== '', 'an agent text chunk');
		expect(textOf(ofNode(reader.chunks, 'AI Agent'))).toBe('The ');
		gate.release();
		await reader.finished;

		expect(JSON.stringify(reader.chunks)).not.toContain('PRIVATE');
		expect(ofNode(reader.chunks, 'Copywriter')).toEqual([]);
		expect(textOf(ofNode(reader.chunks, 'AI Agent'))).toBe(finalAnswer);
		// The tool did run, with a streamed request of its own.
		const toolCalls = chatCalls(keys.agentTool);
		expect(toolCalls).toHaveLength(1);
		expect(toolCalls[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'Three taglines' });
		// The Chat Model asked for a streamed answer with usage; the tool result went back to it.
		const modelCalls = chatCalls(keys.agentModel);
		expect(modelCalls).toHaveLength(2);
		for (const call of modelCalls) expect(call.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
		expect(JSON.stringify(modelCalls[1].body.messages)).toContain(toolText);

		// n8n logged the service's own token counts on the model node, not an estimate.
		const run = await lastExecution('streamAgent');
		const modelRuns = run.data.resultData.runData['Nebula Block Chat Model'];
		const logged = (modelRuns.at(-1)?.data as any).ai_languageModel[0][0].json;
		expect(logged.tokenUsage).toEqual({ promptTokens: 41, completionTokens: 9, totalTokens: 50 });
	}, { workflowId: 'streamAgent', streams: true, send: () => postJson(`/webhook/${PATHS.agent}`, { question: 'Find us a tagline' }) });

	modelTest('a reasoning model under the agent: its <think> block and reasoning_content stay out of the streamed answer', async () => {
		fake.script(keys.agentModel, {
			kind: 'reply',
			content: '<think>PRIVATE musing about the question</think>\n\nThe answer is 42.',
			reasoningContent: 'PRIVATE reasoning in its own field',
		});
		const reader = await post(`/webhook/${PATHS.agent}`, { question: 'What is the answer?' });
		await reader.finished;
		expect(JSON.stringify(reader.chunks)).not.toContain('PRIVATE');
		expect(textOf(ofNode(reader.chunks, 'AI Agent'))).toBe('The answer is 42.');
	}, { workflowId: 'streamAgent', streams: true, send: () => postJson(`/webhook/${PATHS.agent}`, { question: 'What is the answer?' }) });

	modelTest('a reasoning model under an agent that does not stream: its <think> block and reasoning_content stay out of the answer', async () => {
		fake.script(keys.quietModel, {
			kind: 'reply',
			content: '<think>PRIVATE musing</think>\n\nThe answer is 42.',
			reasoningContent: 'PRIVATE reasoning in its own field',
		});
		const response = await fetch(`${n8n.url}/webhook/${PATHS.quiet}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ question: 'What is the answer?' }),
		});
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ output: 'The answer is 42.' });
		const [call] = chatCalls(keys.quietModel);
		expect(call.body.stream).not.toBe(true);
	}, { workflowId: 'streamAgentQuiet', streams: false, send: () => postJson(`/webhook/${PATHS.quiet}`, { question: 'What is the answer?' }) });

	modelTest('the chatbot example: Chat Trigger (streaming) -> AI Agent, the answer streams and the tool text stays out', async () => {
		const finalAnswer = 'Here is your tagline: Crumbs and code, baked daily.';
		const gate = createGate();
		fake.script(
			keys.example,
			{ kind: 'reply', toolCalls: [{ id: 'call_chat_1', name: 'Copywriter', arguments: JSON.stringify({ brief: 'One tagline for a bakery' }) }] },
			{ kind: 'reply', content: 'PRIVATE draft from the copywriter' },
			[{ kind: 'reply', content: finalAnswer }, { kind: 'gate', afterChunks: 2, gate }],
		);
		const example = rt.readWorkflowFile(EXAMPLE_FILE);
		const trigger = example.nodes.find((node: any) => node.type === '@n8n/n8n-nodes-langchain.chatTrigger') as { webhookId: string };
		const reader = await post(`/webhook/${trigger.webhookId}/chat`, {
			action: 'sendMessage',
			sessionId: 'e2e-session-1',
			chatInput: 'Write a tagline for our bakery',
		});
		await gate.reached;
		await reader.waitFor((chunk) => chunk.type === 'item' && chunk.content !== '', 'a text chunk');
		expect(textOf(reader.chunks)).toBe('Here ');
		gate.release();
		await reader.finished;

		expect(JSON.stringify(reader.chunks)).not.toContain('PRIVATE');
		const nodes = new Set(reader.chunks.map((chunk) => chunk.metadata?.nodeName));
		expect([...nodes]).toEqual(['AI Agent']);
		expect(textOf(reader.chunks)).toBe(finalAnswer);
		const calls = chatCalls(keys.example);
		expect(calls).toHaveLength(3);
		expect(calls[1].body.messages.at(-1)).toEqual({ role: 'user', content: 'One tagline for a bakery' });
	}, { workflowId: EXAMPLE_WORKFLOW.id, streams: true, send: () => postJson(`/webhook/${EXAMPLE_TRIGGER.webhookId}/chat`, { action: 'sendMessage', sessionId: 'e2e-session-refused', chatInput: 'Write a tagline for our bakery' }) });
});
