/**
 * The cloud edition's Nebula Block Chat Model (supply.cloud.ts: n8n's own `supplyModel` from
 * `@n8n/ai-node-sdk`) inside a real n8n: the cloud tarball (scripts/cloud-edition.ts pack)
 * installed like a community package, n8n's Basic LLM Chain and AI Agent around it, the fake
 * Nebula Block server behind it. On n8n 2.16 and newer the model runs; before 2.16 (no SDK) the
 * package still loads and the Chat Model fails with the error that says what to do.
 *
 *   N8N_CACHE_DIR=... N8N_E2E_VERSION=2.41.1 npx jest -c jest.e2e.config.js test/e2e/cloud-chat-model.e2e.ts
 */
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';
import { chainWorkflow, CHAIN_NODE_NAME, MODEL_NODE_NAME, type CredentialRef } from '../chat-model/workflows';
import { startFakeNebula, type FakeNebula, type RecordedRequest } from '../support/fake-nebula';
import { executeOrThrow, expectNoKey, lastRunOf, type RunOutcome } from './support/outcome';

const VERSION = rt.e2eN8nVersion();
const [major, minor] = VERSION.split('.').map(Number);
const HAS_SDK = major > 2 || (major === 2 && minor >= 16);

const AGENT_EXAMPLE = path.join(rt.EXAMPLES_DIR, 'chat-model-ai-agent.json');

const CREDENTIALS = {
	chain: { id: 'cloudModelChain1', name: 'Cloud Chat Model: chain' },
	thinking: { id: 'cloudModelThink1', name: 'Cloud Chat Model: thinking' },
	wrongKey: { id: 'cloudModelWrong1', name: 'Cloud Chat Model: wrong key' },
	serverError: { id: 'cloudModel5xx001', name: 'Cloud Chat Model: server error' },
} satisfies Record<string, CredentialRef>;

let ctx: rt.N8nContext;
let fake: FakeNebula;
const keys = {} as Record<keyof typeof CREDENTIALS | 'agent', string>;

const execute = async (workflowId: string): Promise<RunOutcome> => await executeOrThrow(ctx, workflowId);

function chatCalls(key: string): RecordedRequest[] {
	return fake.requests(key).filter((request) => request.path === '/v1/chat/completions');
}

const modelRun = (run: rt.ExecutionResult) => lastRunOf(run, MODEL_NODE_NAME);

beforeAll(async () => {
	const log = (line: string) => process.stdout.write(`${line}\n`);
	// Always the cloud edition, whatever N8N_E2E_EDITION says: the workflows below are imported
	// with its node types (`n8n-nodes-nebula-block-cloud.lmChatNebulaBlock`, ...).
	ctx = await rt.prepareSandbox({ version: VERSION, edition: 'cloud', log });

	fake = await startFakeNebula();
	for (const name of [...Object.keys(CREDENTIALS), 'agent'] as Array<keyof typeof keys>) keys[name] = fake.newKey(name);
	const credential = (ref: CredentialRef, apiKey: string) => ({
		...ref,
		type: rt.NEBULA_CREDENTIAL_TYPE,
		data: { apiKey, baseUrl: fake.url, textGenerateUrl: fake.url },
	});
	await rt.importCredentials(ctx, [
		{ ...rt.EXAMPLE_CREDENTIAL, type: rt.NEBULA_CREDENTIAL_TYPE, data: { apiKey: keys.agent, baseUrl: fake.url, textGenerateUrl: fake.url } },
		...Object.entries(CREDENTIALS).map(([name, ref]) => credential(ref, keys[name as keyof typeof CREDENTIALS])),
	]);
	await rt.importWorkflows(ctx, [
		rt.readWorkflowFile(AGENT_EXAMPLE),
		chainWorkflow('cloudModelChain', CREDENTIALS.chain, 'Say hello to the chain', { maxTokens: 64, temperature: 0.3, topP: 0.9, timeout: 30 }),
		chainWorkflow('cloudModelThinking', CREDENTIALS.thinking, 'Think, then answer'),
		chainWorkflow('cloudModelWrongKey', CREDENTIALS.wrongKey, 'Hello with a wrong key'),
		chainWorkflow('cloudModelServerError', CREDENTIALS.serverError, 'Hello to a failing server', { maxRetries: 3 }),
	]);
});

afterAll(async () => {
	await fake?.close();
	if (ctx) rt.removeUserFolder(ctx.folder);
});

(HAS_SDK ? describe : describe.skip)(`Cloud edition's Chat Model in n8n ${VERSION} (n8n's supplyModel)`, () => {
	test('Basic LLM Chain: the answer comes out, the options reach the request, n8n logs the call, the key stays hidden', async () => {
		const outcome = await execute('cloudModelChain');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, CHAIN_NODE_NAME)).toEqual([{ text: 'Echo: Say hello to the chain' }]);
		const calls = chatCalls(keys.chain);
		expect(calls).toHaveLength(1);
		expect(calls[0].headers.authorization).toBe(`Bearer ${keys.chain}`);
		expect(calls[0].body).toMatchObject({
			model: 'fake/chat-model',
			messages: [{ role: 'user', content: 'Say hello to the chain' }],
			max_tokens: 64,
			temperature: 0.3,
			top_p: 0.9,
		});
		const model = modelRun(run);
		expect(model.executionStatus).toBe('success');
		const logged = (model.data as any).ai_languageModel[0][0].json;
		expect(logged.tokenUsage).toEqual({ promptTokens: 5, completionTokens: 6, totalTokens: 11 });
		expectNoKey(keys.chain, outcome);
	});

	test("a reasoning model's <think> block stays out of the answer", async () => {
		fake.script(keys.thinking, { kind: 'reply', content: '<think>First weigh it up.</think>The answer is 42.' });
		const { run, command } = await execute('cloudModelThinking');
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, CHAIN_NODE_NAME)).toEqual([{ text: 'The answer is 42.' }]);
	});

	test('AI Agent example: the model calls the Calculator, gets its result back, and answers', async () => {
		fake.script(
			keys.agent,
			{ kind: 'reply', toolCalls: [{ id: 'call_calc_1', name: 'Calculator', arguments: JSON.stringify({ input: '37 * 12 * 6' }) }] },
			{ kind: 'reply', content: 'That is 2664 cookies in a 6-day week.' },
		);
		const outcome = await execute('exampleChatModelAgent');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, 'AI Agent')).toEqual([{ output: 'That is 2664 cookies in a 6-day week.' }]);
		expect(run.data.resultData.runData.Calculator?.[0]?.executionStatus).toBe('success');
		expect(chatCalls(keys.agent)).toHaveLength(2);
		expectNoKey(keys.agent, outcome);
	});

	test("a wrong key: the package's error on the model node, one request, the key nowhere", async () => {
		fake.script(keys.wrongKey, {
			kind: 'status',
			status: 401,
			body: { error: { message: `Incorrect API key provided: ${keys.wrongKey}`, type: 'invalid_request_error', code: 'invalid_api_key' } },
		});
		const outcome = await execute('cloudModelWrongKey');
		const { run } = outcome;
		expect(run.status).toBe('error');
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		expect(model.error?.message).toBe('Incorrect API key provided: ***');
		expect(model.error?.description).toContain('Check the API key in the Nebula Block API credential');
		expect(run.data.resultData.error?.node?.name).toBe(CHAIN_NODE_NAME);
		expect(chatCalls(keys.wrongKey)).toHaveLength(1);
		expectNoKey(keys.wrongKey, outcome);
	});

	test('no retries in this edition: a server error fails the chain after one request, whatever Max Retries says', async () => {
		fake.script(keys.serverError, { kind: 'status', status: 503 });
		const { run } = await execute('cloudModelServerError');
		expect(run.status).toBe('error');
		expect(chatCalls(keys.serverError)).toHaveLength(1);
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		expect(model.error?.description).toContain('HTTP 503');
	});
});

(HAS_SDK ? describe.skip : describe)(`Cloud edition's Chat Model in n8n ${VERSION} (before 2.16: no @n8n/ai-node-sdk)`, () => {
	test('the package loads; the Chat Model fails with the error naming n8n 2.16 and the main edition, and sends nothing', async () => {
		const { run } = await execute('cloudModelChain');
		expect(run.status).toBe('error');
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		expect(model.error?.message).toBe('The Nebula Block Chat Model of this edition needs n8n 2.16 or newer: this n8n does not have @n8n/ai-node-sdk');
		expect(model.error?.description).toContain('Update n8n to 2.16 or newer');
		expect(model.error?.description).toContain('n8n-nodes-nebula-block');
		expect(chatCalls(keys.chain)).toHaveLength(0);
	});
});
