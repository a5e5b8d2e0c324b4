/**
 * n8n's queue mode: one main process, Redis, and two `n8n worker` processes that run the
 * executions, all sharing the encryption key and one PostgreSQL database (the database n8n
 * supports for queue mode; with one SQLite file shared by three processes a worker now and then
 * failed an execution with SQLITE_BUSY).
 * Workflows are started through production webhooks of activated workflows, so the main process
 * only queues them and the workers run them: the package's nodes, its connection pool and the
 * credential decryption all happen in a worker.
 *
 * What runs where comes from the workers' own logs (`Worker started execution <id>`), matched
 * against the executions n8n saved. Nothing here is timed: waits have generous limits that only
 * turn a hang into a failure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';
import { startFakeNebula, type FakeNebula } from '../support/fake-nebula';
import { StepTimer } from '../support/step-timer';
import { ensurePostgres, startPostgres, type RunningPostgres } from './support/postgres';
import { ensureRedisServer, startRedis, type RunningRedis } from './support/redis';

const CHAT_TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
const TEXT_TYPE = 'n8n-nodes-nebula-block.nebulaBlockTextGenerate';
const MODEL_TYPE = 'n8n-nodes-nebula-block.lmChatNebulaBlock';
const MODEL_ID = { __rl: true, mode: 'id', value: 'fake/chat-model' };
/** Each scenario has its own key, so the fake's records tell the scenarios apart. */
const CREDENTIALS = {
	chat: { id: 'queueChatCred01', name: 'Queue: chat' },
	text: { id: 'queueTextCred01', name: 'Queue: text' },
	chain: { id: 'queueChainCred01', name: 'Queue: chain model' },
	items: { id: 'queueItemsCred01', name: 'Queue: items' },
	stop: { id: 'queueStopCred01', name: 'Queue: stop' },
} as const;
type Scenario = keyof typeof CREDENTIALS;
const ITEM_CALLS = 100;
const WORKER_CONCURRENCY = 5;

let ctx: rt.N8nContext;
let fake: FakeNebula;
/** Answers the stop scenario's request never, so it is in flight until someone closes it. */
let stopFake: FakeNebula;
let redis: RunningRedis;
let postgres: RunningPostgres;
let main: rt.RunningN8n;
const workers: Array<{ name: string; n8n: rt.RunningN8n; logFile: string }> = [];
let session: rt.RestSession;
const keys = {} as Record<Scenario, string>;
const timer = new StepTimer();

/**
 * How a webhook answers. `responseNode`: a Respond to Webhook node after ours answers with its first
 * item; in queue mode the worker sends that answer to the main process over Redis as the node runs.
 * (Not "When Last Node Finishes": there n8n 2.8.4's main enqueues the job, runs its hooks, and only
 * then waits with Bull's job.finished(); a job that a worker finished in between is already removed
 * (removeOnComplete), so the main waits forever: one of 100 calls hung now and then, while every
 * execution had succeeded on a worker and the main had logged it finished. n8n's race, not ours.)
 * `onReceived`: answers at once, the execution goes on in the worker.
 */
type ResponseMode = 'responseNode' | 'onReceived';

function webhookNode(webhookPath: string, responseMode: ResponseMode) {
	return {
		id: `webhook-${webhookPath}`,
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2.1,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path: webhookPath, responseMode, options: {} },
	};
}

/** Webhook -> one node of ours (-> Respond to Webhook with its first item). */
function webhookTo(id: string, node: Record<string, unknown>, responseMode: ResponseMode = 'responseNode'): rt.WorkflowFile {
	const workflow: rt.WorkflowFile = {
		id,
		name: `Queue mode: ${id}`,
		settings: { executionOrder: 'v1' },
		nodes: [webhookNode(id, responseMode), { id: `node-${id}`, position: [300, 0], ...node }],
		connections: { Webhook: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
	};
	if (responseMode === 'responseNode') {
		workflow.nodes.push({
			id: `respond-${id}`,
			name: 'Respond to Webhook',
			type: 'n8n-nodes-base.respondToWebhook',
			typeVersion: 1.1,
			position: [600, 0],
			parameters: { respondWith: 'firstIncomingItem', options: {} },
		});
		workflow.connections[node.name as string] = { main: [[{ node: 'Respond to Webhook', type: 'main', index: 0 }]] };
	}
	return workflow;
}

function chatNode(credential: Scenario, options: Record<string, unknown> = {}) {
	return {
		name: 'Chat',
		type: CHAT_TYPE,
		typeVersion: 1,
		parameters: { model: MODEL_ID, messages: { values: [{ role: 'user', content: '={{ $json.body.prompt }}' }] }, options },
		credentials: { nebulaBlockApi: CREDENTIALS[credential] },
	};
}

function workflows(): rt.WorkflowFile[] {
	const chain = webhookTo('queueChain', {
		name: 'Basic LLM Chain',
		type: '@n8n/n8n-nodes-langchain.chainLlm',
		typeVersion: 1.9,
		parameters: { promptType: 'define', text: '={{ $json.body.prompt }}' },
	});
	chain.nodes.push({
		id: 'model-queueChain',
		name: 'Nebula Block Chat Model',
		type: MODEL_TYPE,
		typeVersion: 1,
		position: [300, 240],
		parameters: { model: MODEL_ID, options: {} },
		credentials: { nebulaBlockApi: CREDENTIALS.chain },
	});
	chain.connections['Nebula Block Chat Model'] = { ai_languageModel: [[{ node: 'Basic LLM Chain', type: 'ai_languageModel', index: 0 }]] };
	return [
		webhookTo('queueChat', chatNode('chat')),
		webhookTo('queueText', {
			name: 'Text Generate',
			type: TEXT_TYPE,
			typeVersion: 1,
			parameters: { model: MODEL_ID, prompt: '={{ $json.body.prompt }}', options: {} },
			credentials: { nebulaBlockApi: CREDENTIALS.text },
		}),
		chain,
		// Each caller gets its own item back from a worker.
		webhookTo('queueItems', chatNode('items')),
		// Answers the webhook at once: the execution goes on in the worker until it is stopped.
		webhookTo('queueStop', chatNode('stop', { maxRetries: 0 }), 'onReceived'),
	];
}

async function callWebhook(webhookPath: string, body: unknown): Promise<{ status: number; body: any }> {
	const response = await fetch(`${main.url}/webhook/${webhookPath}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		// Only turns a hang into a failure that says so.
		signal: AbortSignal.timeout(180_000),
	});
	const text = await response.text();
	try {
		return { status: response.status, body: JSON.parse(text) };
	} catch {
		return { status: response.status, body: text };
	}
}

/** Polls until `check` returns a value; the limit only turns a hang into a failure. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, limitMs = 180_000): Promise<T> {
	const deadline = Date.now() + limitMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}`);
		await rt.sleep(250);
	}
}

interface ExecutionSummary {
	id: string;
	status: string;
	workflowId: string;
}

async function executionsOf(workflowId: string): Promise<ExecutionSummary[]> {
	const filter = encodeURIComponent(JSON.stringify({ workflowId }));
	const list = await session.get(`/rest/executions?filter=${filter}&limit=500`);
	if (list.status !== 200) throw new Error(`Listing executions failed: HTTP ${list.status} ${JSON.stringify(list.body).slice(0, 300)}`);
	return list.body.data.results as ExecutionSummary[];
}

/** Which worker started each execution, from the workers' logs: `Worker started execution 12 (job 7)`. */
function executionsByWorker(): Map<string, string[]> {
	const started = new Map<string, string[]>();
	for (const worker of workers) {
		const log = fs.readFileSync(worker.logFile, 'utf8');
		for (const match of log.matchAll(/Worker started execution (\d+) \(job /g)) {
			started.set(match[1], [...(started.get(match[1]) ?? []), worker.name]);
		}
	}
	return started;
}

/** The main process queued every execution of the workflow and exactly one worker ran each; returns the worker of each. */
async function expectRanOnWorkers(workflowId: string, count: number): Promise<string[]> {
	const executions = await waitFor(`${count} finished executions of ${workflowId}`, async () => {
		const found = await executionsOf(workflowId);
		return found.length >= count && found.every((execution) => execution.status !== 'running' && execution.status !== 'new') ? found : undefined;
	});
	expect(executions).toHaveLength(count);
	const byWorker = executionsByWorker();
	const ranOn = executions.map((execution) => ({ id: execution.id, workers: byWorker.get(String(execution.id)) ?? [] }));
	expect(ranOn.filter((execution) => execution.workers.length !== 1)).toEqual([]);
	const mainLog = main.output();
	expect(executions.filter((execution) => !mainLog.includes(`Enqueued execution ${execution.id} (job `))).toEqual([]);
	return ranOn.map((execution) => execution.workers[0]);
}

/** The n8n and PostgreSQL logs: kept after the run, they are what explains a failure here. */
function logFiles(): string[] {
	return ['main.log', 'worker-1.log', 'worker-2.log', 'postgres.log'].map((name) => path.join(ctx.folder.root, name));
}

beforeAll(async () => {
	// Ctrl-C ends jest without afterAll: then a watcher stops n8n, Redis and PostgreSQL and removes their files.
	rt.reapWhenGone();
	ensureRedisServer((line) => process.stdout.write(`${line}\n`));
	const postgresBin = ensurePostgres((line) => process.stdout.write(`${line}\n`));
	ctx = await timer.time('install n8n if needed, pack, install the package', () =>
		rt.prepareSandbox({ log: (line) => process.stdout.write(`${line}\n`) }),
	);
	rt.removeWhenGone(ctx.folder.root);
	postgres = await timer.time('start PostgreSQL (initdb, createdb)', () =>
		startPostgres({ binDir: postgresBin, logFile: path.join(ctx.folder.root, 'postgres.log') }),
	);
	redis = await timer.time('start redis-server', () => startRedis(path.join(ctx.folder.root, 'redis')));
	// What every process of the instance shares, the way workers on other machines would get it:
	// the database, the encryption key and Redis.
	const instanceEnv = { ...postgres.n8nEnv, N8N_ENCRYPTION_KEY: randomBytes(24).toString('base64') };
	const queueEnv = {
		...instanceEnv,
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(redis.port),
	};

	fake = await startFakeNebula();
	stopFake = await startFakeNebula();
	for (const scenario of Object.keys(CREDENTIALS) as Scenario[]) keys[scenario] = (scenario === 'stop' ? stopFake : fake).newKey(scenario);
	await timer.time('import credentials', () =>
		rt.importCredentials(
			ctx,
			(Object.keys(CREDENTIALS) as Scenario[]).map((scenario) => {
				const url = (scenario === 'stop' ? stopFake : fake).url;
				return { ...CREDENTIALS[scenario], type: rt.NEBULA_CREDENTIAL_TYPE, data: { apiKey: keys[scenario], baseUrl: url, textGenerateUrl: url } };
			}),
			instanceEnv,
		),
	);
	await timer.time('import workflows', () => rt.importWorkflows(ctx, workflows(), instanceEnv));

	main = await timer.time('n8n start (main, queue mode)', () =>
		rt.startN8n(ctx, { env: queueEnv, logFile: path.join(ctx.folder.root, 'main.log'), readyTimeoutMs: 300_000 }),
	);
	session = await rt.setupOwner(main.url);
	await timer.time('activate workflows', async () => {
		for (const workflow of workflows()) {
			const saved = await session.get(`/rest/workflows/${workflow.id}`);
			const activated = await session.post(`/rest/workflows/${workflow.id}/activate`, { versionId: saved.body.data.versionId });
			if (activated.status !== 200) throw new Error(`Activating ${workflow.id} failed: HTTP ${activated.status} ${JSON.stringify(activated.body)}`);
		}
	});
	for (const name of ['worker-1', 'worker-2']) {
		const logFile = path.join(ctx.folder.root, `${name}.log`);
		const healthPort = await rt.freePort();
		const n8n = await timer.time(`n8n worker (${name})`, () =>
			rt.startN8n(ctx, {
				command: ['worker', `--concurrency=${WORKER_CONCURRENCY}`],
				readyLine: 'n8n worker is now ready',
				env: { ...queueEnv, QUEUE_HEALTH_CHECK_PORT: String(healthPort) },
				logFile,
				readyTimeoutMs: 300_000,
			}),
		);
		workers.push({ name, n8n, logFile });
	}
});

afterAll(async () => {
	for (const worker of workers) await worker.n8n.stop();
	await main?.stop();
	await redis?.stop();
	await postgres?.stop();
	await fake?.close();
	await stopFake?.close();
	if (ctx) {
		const kept = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-queue-mode-logs-'));
		for (const file of logFiles()) if (fs.existsSync(file)) fs.copyFileSync(file, path.join(kept, path.basename(file)));
		process.stdout.write(`queue mode n8n and PostgreSQL logs: ${kept}\n`);
		rt.removeUserFolder(ctx.folder);
		rt.removeWhenGone(ctx.folder.root, true);
	}
	process.stdout.write(`queue mode e2e timings:\n  ${timer.lines.join('\n  ')}\n`);
});

describe('queue mode: main + Redis + two workers', () => {
	test('Chat Completion, Text Generate and a Basic LLM Chain with the Chat Model run on the workers with decrypted credentials', async () => {
		const chat = await callWebhook('queueChat', { prompt: 'Hello from the queue' });
		expect(chat).toMatchObject({ status: 200, body: { content: 'Echo: Hello from the queue', finishReason: 'stop' } });
		const text = await callWebhook('queueText', { prompt: 'Once upon a queue' });
		expect(text).toMatchObject({ status: 200, body: { text: 'Echo: Once upon a queue', finishReason: 'stop' } });
		const chain = await callWebhook('queueChain', { prompt: 'Chain through the queue' });
		expect(chain.status).toBe(200);
		expect(String(chain.body.text)).toContain('Echo: Chain through the queue');

		for (const workflowId of ['queueChat', 'queueText', 'queueChain']) await expectRanOnWorkers(workflowId, 1);
		// All of it went through PostgreSQL: no process fell back to an SQLite file in the user folder.
		expect(fs.readdirSync(path.join(ctx.folder.root, '.n8n')).filter((name) => name.includes('sqlite'))).toEqual([]);
		// The fake saw each credential's own key: the worker decrypted it with the shared key.
		expect(fake.requests(keys.chat).map((request) => request.path)).toEqual(['/v1/chat/completions']);
		expect(fake.requests(keys.text).map((request) => request.path)).toEqual(['/v1/text/generate']);
		expect(fake.requests(keys.chain).map((request) => request.path)).toEqual(['/v1/chat/completions']);
	});

	test(`${ITEM_CALLS} webhook calls are spread over both workers and none is lost`, async () => {
		let next = 0;
		const answers: Array<{ status: number; body: any }> = [];
		// Four times the workers' combined concurrency in flight, so both always have jobs waiting.
		await Promise.all(
			Array.from({ length: 4 * WORKER_CONCURRENCY }, async () => {
				while (next < ITEM_CALLS) {
					const index = next++;
					answers[index] = await callWebhook('queueItems', { prompt: `item number ${index}` });
				}
			}),
		);
		// Each caller got its own item back.
		const wrong = answers.flatMap((answer, index) =>
			answer.status === 200 && answer.body?.content === `Echo: item number ${index}` ? [] : [{ index, ...answer }],
		);
		expect(wrong).toEqual([]);

		const ranOn = await expectRanOnWorkers('queueItems', ITEM_CALLS);
		const perWorker = Object.fromEntries(workers.map((worker) => [worker.name, ranOn.filter((name) => name === worker.name).length]));
		process.stdout.write(`executions per worker: ${JSON.stringify(perWorker)}\n`);
		for (const worker of workers) expect(perWorker[worker.name]).toBeGreaterThan(0);

		// Every execution succeeded, and the fake got each of the 100 prompts exactly once.
		const executions = await executionsOf('queueItems');
		expect(executions.filter((execution) => execution.status !== 'success')).toEqual([]);
		const expected = Array.from({ length: ITEM_CALLS }, (_, index) => `item number ${index}`).sort();
		expect(fake.requests(keys.items).map((request) => request.body.messages[0].content).sort()).toEqual(expected);
	});

	test('stopping an execution from the main process cancels the request in flight on the worker', async () => {
		// The fake holds the answer back for ten minutes: only a cancel ends the request.
		stopFake.script(keys.stop, { kind: 'delayHeaders', ms: 10 * 60_000 });
		const accepted = await callWebhook('queueStop', { prompt: 'Never answered' });
		expect(accepted.status).toBe(200);
		await waitFor('the request to reach the fake', () => (stopFake.inFlightNow(keys.stop) === 1 ? true : undefined));
		const running = await waitFor('the running execution', async () => (await executionsOf('queueStop')).find((execution) => execution.status === 'running'));
		expect(executionsByWorker().get(String(running.id))).toHaveLength(1);

		const stopped = await session.post(`/rest/executions/${running.id}/stop`, {});
		expect(stopped.status).toBe(200);
		// The fake saw the worker close the connection before any answer (it was holding the
		// headers back), and no second request came.
		await waitFor('the fake to see the connection closed', () => (stopFake.inFlightNow(keys.stop) === 0 ? true : undefined));
		expect(stopFake.requests(keys.stop).map((request) => request.answered)).toEqual([false]);
		const final = await waitFor('the execution to end', async () =>
			(await executionsOf('queueStop')).find((execution) => execution.id === running.id && execution.status !== 'running'),
		);
		expect(final.status).toBe('canceled');
	});

	test('no API key appears in anything the main process or the workers printed', () => {
		const printed = [main.output(), ...workers.map((worker) => fs.readFileSync(worker.logFile, 'utf8'))];
		for (const key of Object.values(keys)) for (const output of printed) expect(output).not.toContain(key);
	});
});
