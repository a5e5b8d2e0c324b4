/**
 * The packed package inside a real n8n (2.8.4, or N8N_E2E_VERSION), installed like a community package, talking HTTP
 * to the fake Nebula Block server. Workflows run through the n8n CLI (`execute --id`); the
 * editor's REST API is checked with `n8n start`. Run with `npm run test:e2e`.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';
import { startFakeNebula, type FakeNebula, type RecordedRequest } from '../support/fake-nebula';
import { StepTimer } from '../support/step-timer';
import { CHAT_MODEL_NEEDS, CHAT_MODEL_REFUSAL, PACKAGE_NAME } from './edition';

const FIXTURES_DIR = path.join(__dirname, 'workflows');
const CHAT_TYPE = `${PACKAGE_NAME}.nebulaBlockChat`;
const TEXT_TYPE = `${PACKAGE_NAME}.nebulaBlockTextGenerate`;

/** Looks like a real key, so a leak would be a recognisable string. */
const WRONG_KEY = `nb-live-${randomBytes(12).toString('hex')}`;
const WRONG_KEY_CREDENTIAL = { id: 'nebulaWrongKey01', name: 'Nebula Block (wrong key)' };

let ctx: rt.N8nContext;
let fake: FakeNebula;
let exampleKey: string;
const timer = new StepTimer();

/** Everything n8n printed during the suite, checked for API keys at the end. */
const printed: string[] = [];

async function execute(workflowId: string): Promise<{ run: rt.ExecutionResult; outcome: rt.ExecuteOutcome }> {
	const outcome = await timer.time(`execute ${workflowId}`, () => rt.executeWorkflow(ctx, workflowId));
	printed.push(outcome.command.stdout, outcome.command.stderr);
	if (!outcome.run) {
		throw new Error(
			`n8n printed no run for ${workflowId} (exit ${outcome.command.code}):\n${outcome.command.stdout.slice(-3000)}\n${outcome.command.stderr.slice(-3000)}`,
		);
	}
	return { run: outcome.run, outcome };
}

/** The chat/text requests the fake got for one key whose body mentions the marker text. */
function requestsMentioning(key: string, marker: string): RecordedRequest[] {
	return fake.requests(key).filter((request) => JSON.stringify(request.body ?? '').includes(marker));
}

function workflowError(run: rt.ExecutionResult) {
	const error = run.data.resultData.error;
	if (!error) throw new Error('The workflow did not fail');
	return error;
}

/** The Chat Model on an n8n it does not run on: its own words on its node, n8n's error naming it, nothing sent. */
function expectChatModelRefused(run: rt.ExecutionResult, requestsBefore: number): void {
	const [modelRun] = run.data.resultData.runData['Nebula Block Chat Model'] ?? [];
	expect(modelRun?.error?.message).toBe(CHAT_MODEL_REFUSAL);
	// n8n stops the chain or agent with an error that names the sub-node.
	expect(workflowError(run).message).toMatch(/Nebula Block Chat Model/);
	expect(fake.requests(exampleKey).length).toBe(requestsBefore);
}

beforeAll(async () => {
	const sandbox = await timer.time('install n8n if needed, pack, install the package', () =>
		rt.prepareSandbox({ log: (line) => process.stdout.write(`${line}\n`) }),
	);
	ctx = sandbox;
	fake = await startFakeNebula();
	exampleKey = fake.newKey('examples');
	const endpoints = { apiKey: exampleKey, baseUrl: fake.url, textGenerateUrl: fake.url };
	await timer.time('import credentials', () =>
		rt.importCredentials(ctx, [
			rt.exampleCredential(endpoints),
			{ ...WRONG_KEY_CREDENTIAL, type: rt.NEBULA_CREDENTIAL_TYPE, data: { ...endpoints, apiKey: WRONG_KEY } },
		]),
	);
	const workflows = [...rt.readWorkflowFolder(rt.EXAMPLES_DIR), ...rt.readWorkflowFolder(FIXTURES_DIR)];
	await timer.time(`import ${workflows.length} workflows`, () => rt.importWorkflows(ctx, workflows));
});

afterAll(async () => {
	await fake?.close();
	if (ctx) rt.removeUserFolder(ctx.folder);
	process.stdout.write(`e2e timings:\n  ${timer.lines.join('\n  ')}\n`);
});

describe('the package in n8n, run by the CLI', () => {
	test('chat completion, streamed chat completion, text generation and Continue On Fail in one workflow', async () => {
		const { run, outcome } = await execute('e2eBasics');
		expect(outcome.command.code).toBe(0);
		expect(run.data.resultData.error).toBeUndefined();

		const [chat] = rt.nodeOutput(run, 'Chat');
		expect(chat).toMatchObject({ content: 'Echo: Say hello to the e2e test', role: 'assistant', finishReason: 'stop' });
		// The fake counts words: 6 in the prompt, 7 in the answer.
		expect(chat.usage).toEqual({ promptTokens: 6, completionTokens: 7, totalTokens: 13 });
		const [chatRequest] = requestsMentioning(exampleKey, 'Say hello to the e2e test');
		expect(chatRequest.path).toBe('/v1/chat/completions');
		expect(chatRequest.body).not.toHaveProperty('stream');
		expect(chatRequest.body).not.toHaveProperty('stream_options');

		const [streamed] = rt.nodeOutput(run, 'Chat (Streamed)');
		expect(streamed).toMatchObject({ content: 'Echo: Stream a hello to the e2e test', finishReason: 'stop' });
		const [streamRequest] = requestsMentioning(exampleKey, 'Stream a hello to the e2e test');
		expect(streamRequest.body.stream).toBe(true);

		const [text] = rt.nodeOutput(run, 'Text Generate');
		expect(text).toMatchObject({ text: 'Echo: Once upon a time in an e2e test', finishReason: 'stop' });
		const [textRequest] = requestsMentioning(exampleKey, 'Once upon a time in an e2e test');
		expect(textRequest.path).toBe('/v1/text/generate');

		const items = rt.nodeOutput(run, 'Chat (Continue On Fail)');
		expect(items).toHaveLength(2);
		expect(items[0]).toMatchObject({ content: 'Echo: First prompt of two' });
		expect(items[0].error).toBeUndefined();
		expect(items[1].content).toBeUndefined();
		expect(String(items[1].error)).toContain('does not exist');
	});

	test('a failing call fails the workflow with the service message and without the API key', async () => {
		// The service echoes the key, as some do: the node must take it out.
		fake.script(WRONG_KEY, {
			kind: 'status',
			status: 401,
			body: { error: { message: `Incorrect API key provided: ${WRONG_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } },
		});
		const { run, outcome } = await execute('e2eFailing');
		expect(outcome.command.code).not.toBe(0);
		expect(run.status).toBe('error');
		const error = workflowError(run);
		expect(error.node?.name).toBe('Chat With Wrong Key');
		expect(error.message).toContain('Incorrect API key provided');
		expect(fake.requests(WRONG_KEY)).toHaveLength(1);
		// Nowhere: not in the error, the run, or anything n8n printed.
		expect(JSON.stringify(run)).not.toContain(WRONG_KEY);
		expect(outcome.command.stdout).not.toContain(WRONG_KEY);
		expect(outcome.command.stderr).not.toContain(WRONG_KEY);
	});
});

describe('the example workflows, run by the CLI', () => {
	test('scheduled content generation: Schedule Trigger -> Chat Completion -> Format Post', async () => {
		const { run, outcome } = await execute('exampleScheduledPost');
		expect(outcome.command.code).toBe(0);
		// The CLI starts the run at the Schedule Trigger (it needs the Manual Trigger to be present to start at all).
		expect(Object.keys(run.data.resultData.runData)).toContain('Every Morning at 9');
		const [written] = rt.nodeOutput(run, 'Write Post');
		expect(written.content).toMatch(/^Echo: Write a LinkedIn post for \w+day, \d{1,2} \w+ with one practical tip/);
		const [formatted] = rt.nodeOutput(run, 'Format Post');
		expect(formatted.title).toMatch(/^Post for \d{4}-\d{2}-\d{2}$/);
		expect(formatted.post).toBe(written.content.trim());
		expect(formatted.words).toBe(written.content.trim().split(/\s+/).length);
		expect(formatted.model).toBe('meta-llama/Llama-3.3-70B-Instruct');
		expect(formatted.tokensUsed).toBe(written.usage.totalTokens);
		const [request] = requestsMentioning(exampleKey, 'Write a LinkedIn post for');
		expect(request.body.messages[0]).toMatchObject({ role: 'system' });
		expect(request.body.max_tokens).toBe(300);
	});

	test('summarising a list of items, three requests at a time, output in input order', async () => {
		// Each answer waits, so the requests of one batch are in flight together.
		for (let i = 0; i < 4; i++) fake.script(exampleKey, { kind: 'delayHeaders', ms: 400 });
		const inFlightBefore = fake.maxInFlight(exampleKey);
		const { run, outcome } = await execute('exampleSummarise');
		expect(outcome.command.code).toBe(0);
		const summaries = rt.nodeOutput(run, 'Title and Summary');
		expect(summaries.map((item) => item.title)).toEqual([
			'Solar panels on city rooftops',
			'A library that lends tools',
			'Night buses return',
			'School gardens grow lunch',
		]);
		summaries.forEach((item) => expect(item.summary).toMatch(new RegExp(`^Echo: Summarise this article\\.\\s+Title: ${item.title}`)));
		expect(requestsMentioning(exampleKey, 'Summarise this article')).toHaveLength(4);
		expect(inFlightBefore).toBeLessThanOrEqual(1);
		expect(fake.maxInFlight(exampleKey)).toBe(3);
	});

	test('classification with a JSON schema answer, parsed into an object', async () => {
		const answers = [
			{ category: 'billing', urgency: 'high' },
			{ category: 'bug', urgency: 'medium' },
			{ category: 'feature_request', urgency: 'low' },
		];
		// Concurrency may reorder arrivals, so each answer is matched to its ticket by its text below.
		for (const answer of answers) fake.script(exampleKey, { kind: 'reply', content: JSON.stringify(answer) });
		const { run, outcome } = await execute('exampleClassify');
		expect(outcome.command.code).toBe(0);
		const classified = rt.nodeOutput(run, 'Ticket and Category');
		expect(classified.map((item) => item.ticketId)).toEqual([101, 102, 103]);
		expect(classified.map((item) => `${item.category}/${item.urgency}`).sort()).toEqual(
			answers.map((answer) => `${answer.category}/${answer.urgency}`).sort(),
		);
		const requests = requestsMentioning(exampleKey, 'ticket_triage');
		expect(requests).toHaveLength(3);
		for (const request of requests) {
			expect(request.body.response_format).toMatchObject({
				type: 'json_schema',
				json_schema: { name: 'ticket_triage', schema: { required: ['category', 'urgency'] } },
			});
		}
	});

	// Skipped on an n8n that lacks the example's AI Agent version (known when n8n is installed before jest starts, as test:compat does).
	const agentExample = rt.readWorkflowFile(path.join(rt.EXAMPLES_DIR, 'ai-agent-with-nebula-tool.json'));
	const agentLacks = rt.isN8nInstalled(rt.e2eN8nVersion()) ? rt.missingNodeVersions(rt.n8nInstallDir(rt.e2eN8nVersion()), agentExample) : [];
	(agentLacks.length > 0 || CHAT_MODEL_REFUSAL ? test.skip : test)('an AI Agent with the Nebula Block Chat Model calls the Chat Completion node as a tool', async () => {
		const brief = 'Three taglines for Crumb & Code bakery';
		const finalAnswer = 'Best tagline: Fresh from the oven, smart from the start.';
		const before = fake.requests(exampleKey).length;
		// Model, tool, model: one credential, so the requests arrive in this order; [] lets the tool's call get the echo.
		fake.script(
			exampleKey,
			{ kind: 'reply', toolCalls: [{ id: 'call_1', name: 'Copywriter', arguments: JSON.stringify({ brief }) }] },
			[],
			{ kind: 'reply', content: finalAnswer },
		);
		const { run, outcome } = await execute('exampleAgentTool');
		expect(run.data.resultData.error).toBeUndefined();
		expect(outcome.command.code).toBe(0);

		expect(rt.runCount(run, 'Nebula Block Chat Model')).toBe(2);
		expect(rt.runCount(run, 'Copywriter')).toBe(1);
		expect(JSON.stringify(rt.nodeOutput(run, 'Copywriter', 'ai_tool'))).toContain(`Echo: ${brief}`);
		const [agent] = rt.nodeOutput(run, 'AI Agent');
		expect(agent.output).toBe(finalAnswer);

		const calls = fake.requests(exampleKey).slice(before);
		expect(calls.map((call) => call.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions']);
		// The model was offered the tool, the tool got the brief the model wrote, and its answer went back to the model.
		expect(JSON.stringify(calls[0].body.tools)).toContain('Copywriter');
		expect(calls[1].body.messages.at(-1)).toEqual({ role: 'user', content: brief });
		expect(JSON.stringify(calls[2].body.messages)).toContain(`Echo: ${brief}`);
	});
	if (CHAT_MODEL_REFUSAL) {
		(agentLacks.length > 0 ? test.skip : test)(
			`n8n before ${CHAT_MODEL_NEEDS.n8n}: the AI Agent example fails at its Chat Model, which says it needs n8n ${CHAT_MODEL_NEEDS.n8n} or newer, and sends nothing`,
			async () => {
				const before = fake.requests(exampleKey).length;
				const { run, outcome } = await execute('exampleAgentTool');
				expect(outcome.command.code).not.toBe(0);
				expect(run.status).toBe('error');
				expectChatModelRefused(run, before);
				expect(rt.runCount(run, 'Copywriter')).toBe(0);
			},
		);
	}
});

/**
 * The Chat Model builds on n8n's AI SDK, which n8n has from 2.8 on (the cloud edition's on
 * @n8n/ai-node-sdk, from 2.16 on: CHAT_MODEL_NEEDS); Basic LLM Chain 1.7 is in n8n 1.x too.
 */
const MODEL_N8N = CHAT_MODEL_NEEDS.n8n;
const CHAIN_PROMPT = 'Say hello through a chain that n8n 1.x has too';

describe('the Chat Model in a Basic LLM Chain 1.7 (a chain version n8n 1.x has too)', () => {
	(CHAT_MODEL_REFUSAL ? test.skip : test)(`n8n ${MODEL_N8N} or newer: the chain answers through the Chat Model`, async () => {
		const before = fake.requests(exampleKey).length;
		const { run, outcome } = await execute('e2eChatModelChain');
		expect(run.data.resultData.error).toBeUndefined();
		expect(outcome.command.code).toBe(0);
		const [answer] = rt.nodeOutput(run, 'Basic LLM Chain');
		expect(String(answer.text)).toContain(`Echo: ${CHAIN_PROMPT}`);
		expect(fake.requests(exampleKey).slice(before).map((request) => request.path)).toEqual(['/v1/chat/completions']);
	});

	(CHAT_MODEL_REFUSAL ? test : test.skip)(`n8n before ${MODEL_N8N}: the Chat Model refuses, saying it needs n8n ${MODEL_N8N} or newer, and sends nothing`, async () => {
		const before = fake.requests(exampleKey).length;
		const { run } = await execute('e2eChatModelChain');
		expectChatModelRefused(run, before);
	});
});

// Last among the CLI runs: it puts several requests in flight on the examples' key, which the
// summarising example's in-flight check must not see.
describe('Concurrency Auto in a real n8n', () => {
	test('a 429 with Retry-After: every item waits for it, the one refused goes again, and its output says so', async () => {
		const retryAfterMs = 400;
		fake.script(
			exampleKey,
			{
				kind: 'status',
				status: 429,
				headers: { 'retry-after-ms': String(retryAfterMs), 'retry-after': '1' },
				body: { error: { message: 'Rate limit reached for requests', type: 'rate_limit_error', code: 'rate_limit_exceeded' } },
			},
			...Array.from({ length: 5 }, () => ({ kind: 'delayHeaders' as const, ms: 150 })),
		);
		const { run, outcome } = await execute('e2eRateLimit');
		expect(outcome.command.code).toBe(0);
		const items = rt.nodeOutput(run, 'Chat (Auto)');
		// Every item answered, in input order: the refused one went again after the shared pause.
		expect(items.map((item) => item.content)).toEqual(Array.from({ length: 6 }, (_, index) => `Echo: Rate limit prompt ${index}`));
		const stats = items.map((item) => item.rateLimitStats as { responses429: number; waitedMs: number });
		expect(stats.map((stat) => stat.responses429).sort()).toEqual([0, 0, 0, 0, 0, 1]);
		const limited = stats.find((stat) => stat.responses429 === 1);
		expect(limited?.waitedMs).toBeGreaterThanOrEqual(retryAfterMs - 50);
		const requests = requestsMentioning(exampleKey, 'Rate limit prompt');
		expect(requests).toHaveLength(7);
		// The one sent again arrived no sooner than the Retry-After allowed.
		const first = requests[0];
		const again = requests.slice(1).find((request) => JSON.stringify(request.body) === JSON.stringify(first.body));
		expect(again).toBeDefined();
		expect((again as RecordedRequest).at - first.at).toBeGreaterThanOrEqual(retryAfterMs);
	});
});

describe('n8n start', () => {
	let n8n: rt.RunningN8n | undefined;

	afterAll(async () => {
		await n8n?.stop();
	});

	test('serves the editor on 127.0.0.1, sets up the owner, and lists both nodes and the credential', async () => {
		n8n = await timer.time('n8n start until /rest/login answers 401', () => rt.startN8n(ctx));
		expect(n8n.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		// Listening on 127.0.0.1 only: the machine's other addresses refuse the connection.
		const otherAddress = Object.values(os.networkInterfaces())
			.flat()
			.find((address) => address && address.family === 'IPv4' && !address.internal);
		if (otherAddress) {
			const refused = await fetch(`http://${otherAddress.address}:${n8n.port}/rest/login`, { signal: AbortSignal.timeout(3000) }).then(
				(response) => `answered HTTP ${response.status}`,
				(error: { cause?: { code?: string } }) => error.cause?.code,
			);
			expect(refused).toBe('ECONNREFUSED');
		} else {
			process.stdout.write('skipped the 127.0.0.1-only check: this host has no other IPv4 address to try\n');
		}
		const session = await timer.time('owner setup', () => rt.setupOwner(n8n!.url, rt.DEMO_OWNER));

		const nodes = await session.get<Array<{ name: string }>>('/types/nodes.json');
		expect(nodes.status).toBe(200);
		const nodeNames = nodes.body.map((node) => node.name);
		expect(nodeNames).toEqual(expect.arrayContaining([CHAT_TYPE, TEXT_TYPE, `${CHAT_TYPE}Tool`, `${TEXT_TYPE}Tool`]));

		const credentials = await session.get<Array<{ name: string }>>('/types/credentials.json');
		expect(credentials.status).toBe(200);
		expect(credentials.body.map((credential) => credential.name)).toContain(rt.NEBULA_CREDENTIAL_TYPE);

		// The imported workflows belong to the owner, and the credential's test reaches the service.
		const workflows = await session.get<{ data: Array<{ id: string }> }>('/rest/workflows');
		expect(workflows.body.data.map((workflow) => workflow.id)).toEqual(expect.arrayContaining(['exampleScheduledPost', 'e2eBasics']));
		const tested = await session.post<{ data: { status: string; message: string } }>('/rest/credentials/test', {
			credentials: {
				id: rt.EXAMPLE_CREDENTIAL.id,
				name: rt.EXAMPLE_CREDENTIAL.name,
				type: rt.NEBULA_CREDENTIAL_TYPE,
				data: { apiKey: exampleKey, baseUrl: fake.url, textGenerateUrl: fake.url },
			},
		});
		// With its message, so a failure shows the credential test's words.
		expect(`${tested.body.data.status}: ${tested.body.data.message}`).toMatch(/^OK: /);
		printed.push(n8n.output());
	});
});

describe('secrets', () => {
	test('no API key appears in anything n8n printed in this suite', async () => {
		// The check runs last and has the output of every execution before it; run alone, it
		// runs a workflow that uses both keys (one rejected) to have output to check.
		if (printed.length === 0) {
			fake.script(WRONG_KEY, { kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${WRONG_KEY}`, code: 'invalid_api_key' } } });
			await execute('e2eBasics');
			await execute('e2eFailing');
		}
		expect(printed.length).toBeGreaterThanOrEqual(4);
		for (const output of printed) {
			expect(output).not.toContain(exampleKey);
			expect(output).not.toContain(WRONG_KEY);
		}
	});
});
