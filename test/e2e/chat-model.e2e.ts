/**
 * The Nebula Block Chat Model inside a real n8n 2.8.4: the packed package installed like a
 * community package, n8n's own Basic LLM Chain, AI Agent and Calculator around it, and the
 * fake Nebula Block server behind it. Run with `npm run test:e2e`.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';
import { chainWorkflow, CHAIN_NODE_NAME, CHAT_NODE_NAME, MODEL_NODE_NAME, chainThenNodeWorkflow, type CredentialRef } from '../chat-model/workflows';
import { startTlsFront, type TlsFront } from '../chat-model/tlsFront';
import { startFakeNebula, type FakeNebula, type RecordedRequest } from '../support/fake-nebula';
import { executeOrThrow, expectNoKey, lastRunOf, type RunOutcome } from './support/outcome';

const AGENT_EXAMPLE = path.join(rt.EXAMPLES_DIR, 'chat-model-ai-agent.json');
const IMAGE_EXAMPLE = path.join(rt.EXAMPLES_DIR, 'describe-image.json');
const VISION_CREDENTIAL = { id: 'chatModelVision1', name: 'Chat Model: vision' };

/**
 * describe-image.json's image (Set + Convert to File) handed to an AI Agent on the Nebula Block
 * Chat Model instead of the Chat Completion node: the agent's "Automatically Passthrough Binary
 * Images" (on by default) puts it in the user message. A Calculator is attached because the agent
 * wants a tool; the scripted answer calls none.
 */
function agentWithImageWorkflow(): rt.WorkflowFile {
	const example = rt.readWorkflowFile(IMAGE_EXAMPLE) as Record<string, any>;
	const [trigger, base64, file] = example.nodes as Array<Record<string, any>>;
	const at = (id: string, x: number, y: number) => ({ id, typeVersion: 1, position: [x, y] });
	return {
		id: 'chatModelAgentImage',
		name: 'Chat Model: agent with an image',
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			trigger,
			base64,
			file,
			{ ...at('9e0b1c2d-0000-4000-8000-000000000001', 660, 0), name: 'AI Agent', type: '@n8n/n8n-nodes-langchain.agent', typeVersion: 3.1, parameters: { promptType: 'define', text: 'What colour is this image?', options: {} } },
			{
				...at('9e0b1c2d-0000-4000-8000-000000000002', 600, 240),
				name: MODEL_NODE_NAME,
				type: 'n8n-nodes-nebula-block.lmChatNebulaBlock',
				parameters: { model: { __rl: true, mode: 'id', value: 'Qwen/Qwen2.5-VL-7B-Instruct' }, options: {} },
				credentials: { nebulaBlockApi: VISION_CREDENTIAL },
			},
			{ ...at('9e0b1c2d-0000-4000-8000-000000000003', 800, 240), name: 'Calculator', type: '@n8n/n8n-nodes-langchain.toolCalculator', parameters: {} },
		],
		connections: {
			[trigger.name]: { main: [[{ node: base64.name, type: 'main', index: 0 }]] },
			[base64.name]: { main: [[{ node: file.name, type: 'main', index: 0 }]] },
			[file.name]: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			[MODEL_NODE_NAME]: { ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]] },
			Calculator: { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
		},
	};
}

/** Each credential has its own key, so every test reads only its own requests. */
const CREDENTIALS = {
	chain: { id: 'chatModelChain01', name: 'Chat Model: chain' },
	json: { id: 'chatModelJson001', name: 'Chat Model: JSON' },
	rateLimited: { id: 'chatModelRate001', name: 'Chat Model: rate limited' },
	recovers: { id: 'chatModelRetry01', name: 'Chat Model: recovers' },
	hourWait: { id: 'chatModelHour001', name: 'Chat Model: asked to wait an hour' },
	sharedLimit: { id: 'chatModelShared1', name: 'Chat Model: limit shared with the node' },
	wrongKey: { id: 'chatModelWrong01', name: 'Chat Model: wrong key' },
	badOption: { id: 'chatModelBadOpt1', name: 'Chat Model: bad option' },
	tlsAllowed: { id: 'chatModelTlsOk01', name: 'Chat Model: self-signed allowed' },
	tlsVerified: { id: 'chatModelTlsNo01', name: 'Chat Model: self-signed verified' },
} satisfies Record<string, CredentialRef>;

/** Looks like a real key, so a leak would be a recognisable string. */
const WRONG_KEY = `nb-live-${randomBytes(12).toString('hex')}`;

let ctx: rt.N8nContext;
let fake: FakeNebula;
let tlsFront: TlsFront;
const keys = {} as Record<keyof typeof CREDENTIALS | 'agent' | 'vision', string>;

const execute = async (workflowId: string): Promise<RunOutcome> => await executeOrThrow(ctx, workflowId);

function chatCalls(key: string): RecordedRequest[] {
	return fake.requests(key).filter((request) => request.path === '/v1/chat/completions');
}

const modelRun = (run: rt.ExecutionResult) => lastRunOf(run, MODEL_NODE_NAME);

beforeAll(async () => {
	ctx = await rt.prepareSandbox({ log: (line) => process.stdout.write(`${line}\n`) });
	fake = await startFakeNebula();
	tlsFront = await startTlsFront(fake);
	for (const name of [...Object.keys(CREDENTIALS), 'agent', 'vision'] as Array<keyof typeof keys>) keys[name] = fake.newKey(name);
	keys.wrongKey = WRONG_KEY;

	const plain = (ref: CredentialRef, apiKey: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({
		...ref,
		type: rt.NEBULA_CREDENTIAL_TYPE,
		data: { apiKey, baseUrl, textGenerateUrl: baseUrl, ...extra },
	});
	await rt.importCredentials(ctx, [
		{ ...rt.EXAMPLE_CREDENTIAL, type: rt.NEBULA_CREDENTIAL_TYPE, data: { apiKey: keys.agent, baseUrl: fake.url, textGenerateUrl: fake.url } },
		plain(CREDENTIALS.chain, keys.chain, fake.url),
		plain(VISION_CREDENTIAL, keys.vision, fake.url),
		plain(CREDENTIALS.json, keys.json, fake.url),
		plain(CREDENTIALS.rateLimited, keys.rateLimited, fake.url),
		plain(CREDENTIALS.recovers, keys.recovers, fake.url),
		plain(CREDENTIALS.hourWait, keys.hourWait, fake.url),
		plain(CREDENTIALS.sharedLimit, keys.sharedLimit, fake.url),
		plain(CREDENTIALS.wrongKey, WRONG_KEY, fake.url),
		plain(CREDENTIALS.badOption, keys.badOption, fake.url),
		plain(CREDENTIALS.tlsAllowed, keys.tlsAllowed, tlsFront.url, { ignoreSslIssues: true }),
		plain(CREDENTIALS.tlsVerified, keys.tlsVerified, tlsFront.url, { allowUnauthorizedCerts: false }),
	]);
	await rt.importWorkflows(ctx, [
		rt.readWorkflowFile(AGENT_EXAMPLE),
		agentWithImageWorkflow(),
		chainWorkflow('chatModelChain', CREDENTIALS.chain, 'Say hello to the chain', {
			maxTokens: 64,
			temperature: 0.3,
			topP: 0.9,
			frequencyPenalty: 0.5,
			presencePenalty: -0.5,
		}),
		chainWorkflow('chatModelJson', CREDENTIALS.json, 'Greet me. Answer in JSON.', { responseFormat: 'json_object' }),
		chainWorkflow('chatModelRateLimited', CREDENTIALS.rateLimited, 'Hello under a rate limit', { maxRetries: 2 }),
		chainWorkflow('chatModelRecovers', CREDENTIALS.recovers, 'Hello after one rate limit'),
		chainWorkflow('chatModelHourWait', CREDENTIALS.hourWait, 'Hello under an hour-long limit'),
		chainThenNodeWorkflow('chatModelSharedLimit', CREDENTIALS.sharedLimit, 'First, the chain', 'Then, the node'),
		chainWorkflow('chatModelWrongKey', CREDENTIALS.wrongKey, 'Hello with a wrong key'),
		// Expressions inside the Options collection reach the node unchecked by n8n.
		chainWorkflow('chatModelBadOption', CREDENTIALS.badOption, 'Hello with a bad option', {
			maxTokens: '={{ "64" }}',
			temperature: '={{ "warm" }}',
		}),
		chainWorkflow('chatModelTlsAllowed', CREDENTIALS.tlsAllowed, 'Hello over a self-signed certificate'),
		chainWorkflow('chatModelTlsVerified', CREDENTIALS.tlsVerified, 'Hello over an untrusted certificate', { maxRetries: 0 }),
	]);
});

afterAll(async () => {
	await tlsFront?.close();
	await fake?.close();
	if (ctx) rt.removeUserFolder(ctx.folder);
});

describe(`Nebula Block Chat Model in n8n ${rt.e2eN8nVersion()}`, () => {
	test('Basic LLM Chain: the answer comes out, the form options reach the request, the key stays hidden', async () => {
		const outcome = await execute('chatModelChain');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(run.data.resultData.error).toBeUndefined();
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
			frequency_penalty: 0.5,
			presence_penalty: -0.5,
		});
		// Text is the service's default answer form, so nothing is sent for it.
		expect(calls[0].body.response_format).toBeUndefined();
		// One complete answer: streaming would make LangChain fetch a tokenizer from the internet.
		// (LangChain's client says so explicitly: `stream: false`, and no stream options.)
		expect(calls[0].body.stream).toBe(false);
		expect(calls[0].body).not.toHaveProperty('stream_options');

		// n8n logs the call on the model node, with the service's token counts.
		const model = modelRun(run);
		expect(model.executionStatus).toBe('success');
		const logged = (model.data as any).ai_languageModel[0][0].json;
		expect(logged.response.generations[0][0].text).toBe('Echo: Say hello to the chain');
		// The fake counts words: 5 in the prompt, 6 in the answer.
		expect(logged.tokenUsage).toEqual({ promptTokens: 5, completionTokens: 6, totalTokens: 11 });
		expectNoKey(keys.chain, outcome);
	});

	test('Response Format JSON Object: the request asks for JSON and the chain hands on the parsed object', async () => {
		fake.script(keys.json, { kind: 'reply', content: '{"greeting":"Hello","language":"en"}' });
		const { run, command } = await execute('chatModelJson');
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, CHAIN_NODE_NAME)).toEqual([{ greeting: 'Hello', language: 'en' }]);
		const calls = chatCalls(keys.json);
		expect(calls).toHaveLength(1);
		expect(calls[0].body.response_format).toEqual({ type: 'json_object' });
	});

	test('AI Agent example: the model asks for the Calculator, gets its result back, and answers', async () => {
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

		const calls = chatCalls(keys.agent);
		expect(calls).toHaveLength(2);
		// The first call offers the tool...
		const offered = (calls[0].body.tools ?? []).map((tool: any) => tool.function?.name);
		expect(offered).toContain('Calculator');
		expect(calls[0].body.messages[0]).toMatchObject({ role: 'system' });
		expect(JSON.stringify(calls[0].body.messages)).toContain('How many cookies is that in a 6-day week?');
		// ...the second carries the model's tool call and the Calculator's result.
		const second = calls[1].body.messages as Array<Record<string, any>>;
		const assistant = second.find((message) => message.role === 'assistant');
		expect(assistant?.tool_calls?.[0]).toMatchObject({ id: 'call_calc_1', function: { name: 'Calculator' } });
		const toolResult = second.find((message) => message.role === 'tool');
		expect(toolResult?.tool_call_id).toBe('call_calc_1');
		// n8n wraps what a tool returns as [{response}].
		expect(JSON.parse(toolResult?.content)).toEqual([{ response: '2664' }]);
		expectNoKey(keys.agent, outcome);
	});

	test('AI Agent given a binary image: it reaches Nebula Block as an image_url part of the user message', async () => {
		fake.script(keys.vision, { kind: 'reply', content: 'The image is a red square.' });
		const outcome = await execute('chatModelAgentImage');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, 'AI Agent')).toEqual([{ output: 'The image is a red square.' }]);
		const calls = chatCalls(keys.vision);
		expect(calls).toHaveLength(1);
		expect(calls[0].body.model).toBe('Qwen/Qwen2.5-VL-7B-Instruct');
		// n8n's agent sends the prompt as one user message and the passed-through images as another.
		const users = (calls[0].body.messages as Array<Record<string, any>>).filter((message) => message.role === 'user');
		const parts = users.flatMap((message) =>
			Array.isArray(message.content) ? message.content : [{ type: 'text', text: String(message.content) }],
		);
		expect(parts.filter((part: any) => part.type === 'text').map((part: any) => part.text).join(' ')).toContain('What colour is this image?');
		const images = parts.filter((part: any) => part.type === 'image_url');
		expect(images).toHaveLength(1);
		// The PNG the example builds, whole: the same bytes as its base64 field.
		const examplePng = ((rt.readWorkflowFile(IMAGE_EXAMPLE) as any).nodes[1].parameters.assignments.assignments[0].value as string);
		expect(images[0].image_url.url).toBe(`data:image/png;base64,${examplePng}`);
		expectNoKey(keys.vision, outcome);
	});

	test('a wrong key: a clear error on the model node, the chain fails cleanly, the key is nowhere', async () => {
		// The service echoes the key, as some do: the node must take it out.
		fake.script(WRONG_KEY, {
			kind: 'status',
			status: 401,
			body: { error: { message: `Incorrect API key provided: ${WRONG_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } },
		});
		const outcome = await execute('chatModelWrongKey');
		const { run } = outcome;
		// n8n reported a failed run (it did not crash): the run is there, with its status.
		expect(run.status).toBe('error');
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		expect(model.error?.message).toBe('Incorrect API key provided: ***');
		expect(model.error?.description).toContain('Check the API key in the Nebula Block API credential');
		expect(model.error?.description).toContain('HTTP 401');

		const failure = run.data.resultData.error;
		expect(failure?.node?.name).toBe(CHAIN_NODE_NAME);
		expect(failure?.message).toBe('Incorrect API key provided: ***');
		// A rejected key is not retried.
		expect(chatCalls(WRONG_KEY)).toHaveLength(1);
		expectNoKey(WRONG_KEY, outcome);
	});

	test('an option of the wrong type from an expression: the model node names the field and the item, nothing is sent', async () => {
		const { run } = await execute('chatModelBadOption');
		expect(run.status).toBe('error');
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		expect(model.error?.message).toBe('Temperature must be a number from 0 to 2, not the text "warm"');
		expect(model.error?.description).toMatch(/^Set Temperature to a number from 0 to 2, or remove the option.*\(item 0\)$/);
		expect(fake.requests(keys.badOption)).toHaveLength(0);
	});

	test('a 429 on every try: Max Retries more tries, then a rate-limit error with a hint on the model node', async () => {
		const tooMany = { kind: 'status', status: 429 } as const;
		fake.script(keys.rateLimited, tooMany, tooMany, tooMany);
		const outcome = await execute('chatModelRateLimited');
		const { run } = outcome;
		expect(run.status).toBe('error');
		expect(chatCalls(keys.rateLimited)).toHaveLength(3);
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		expect(model.error?.message).toBe('Rate limit reached, please try again later.');
		// The retry engine's hint: how many times it sent the request, and what to raise.
		expect(model.error?.description).toContain('Sent this request 3 times');
		expect(model.error?.description).toContain('Raise Max Retries');
		expect(model.error?.description).toContain('HTTP 429');
		expect(run.data.resultData.error?.node?.name).toBe(CHAIN_NODE_NAME);
		expectNoKey(keys.rateLimited, outcome);
	});

	test('one 429, then an answer: the default Max Retries carries the chain through', async () => {
		fake.script(keys.recovers, { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
		const { run, command } = await execute('chatModelRecovers');
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, CHAIN_NODE_NAME)).toEqual([{ text: 'Echo: Hello after one rate limit' }]);
		const calls = chatCalls(keys.recovers);
		expect(calls).toHaveLength(2);
		// The package's retry engine waited as Retry-After asked before trying again.
		expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(900);
	});

	test("a 429 asking to wait an hour: the chain fails at once with the package's message naming the wait, through n8n's own OpenAI client", async () => {
		fake.script(keys.hourWait, { kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
		const outcome = await execute('chatModelHourWait');
		const { run } = outcome;
		expect(run.status).toBe('error');
		// Not retried (Max Retries is not set, but no wait past 60 s is waited), not waited out.
		expect(chatCalls(keys.hourWait)).toHaveLength(1);
		const waitNamed = /^Rate limit reached, please try again later\. \(the service asked to wait 60 minutes, until \d\d:\d\d:\d\d UTC\)$/;
		const model = modelRun(run);
		expect(model.executionStatus).toBe('error');
		// The package's error, found under the client's APIConnectionError ("Connection error.").
		expect(model.error?.message).toMatch(waitNamed);
		expect(model.error?.description).toContain('A request waits at most 60 s for a rate limit, so it was not sent');
		expect(model.error?.description).toContain('HTTP 429');
		const failure = run.data.resultData.error;
		expect(failure?.node?.name).toBe(CHAIN_NODE_NAME);
		expect(failure?.message).toMatch(waitNamed);
		// The chain did not sit out any pause: the shortest it could have waited is the 60 s cap.
		const chainRuns = run.data.resultData.runData[CHAIN_NODE_NAME] as Array<{ executionTime?: number }>;
		expect(chainRuns[chainRuns.length - 1].executionTime).toBeLessThan(60_000);
		expectNoKey(keys.hourWait, outcome);
	});

	test("shares the rate limiter with a Chat Completion node on its credential: a 429's Retry-After, then the pause the model's answer set holds the node back", async () => {
		const resetMs = 3000;
		const answer = {
			id: 'chatcmpl-spent',
			object: 'chat.completion',
			created: 1,
			model: 'fake/chat-model',
			choices: [{ index: 0, message: { role: 'assistant', content: 'Limit spent' }, finish_reason: 'stop' }],
			usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
		};
		// The chain's first call meets a 429; its retry is answered with the limit spent for 3 s.
		const spent = { 'x-ratelimit-limit-requests': '1', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': `${resetMs}ms` };
		fake.script(keys.sharedLimit, { kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { kind: 'status', status: 200, body: answer, headers: spent });
		const outcome = await execute('chatModelSharedLimit');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(command.code).toBe(0);
		expect(rt.nodeOutput(run, CHAIN_NODE_NAME)).toEqual([{ text: 'Limit spent' }]);
		expect(rt.nodeOutput(run, CHAT_NODE_NAME)).toMatchObject([{ content: 'Echo: Then, the node', rateLimitStats: { responses429: 0 } }]);
		const [limitedCall, retriedCall, nodeCall, ...more] = chatCalls(keys.sharedLimit);
		expect(more).toHaveLength(0);
		expect(limitedCall.body.messages).toEqual([{ role: 'user', content: 'First, the chain' }]);
		// The engine's retry of the 429 came after its Retry-After (Date.now() on the server: 1 ms of rounding).
		expect(retriedCall.body).toEqual(limitedCall.body);
		expect(retriedCall.at - limitedCall.at).toBeGreaterThanOrEqual(999);
		// The node waited out the pause the Chat Model's answer set in the limiter they share: a
		// limiter of its own would have known nothing of it and sent at once.
		expect(nodeCall.body.messages).toEqual([{ role: 'user', content: 'Then, the node' }]);
		expect(nodeCall.at - retriedCall.at).toBeGreaterThanOrEqual(resetMs - 1);
		expectNoKey(keys.sharedLimit, outcome);
	});

	test('"Ignore SSL Issues" in the credential reaches the model: a self-signed server works only with it', async () => {
		const allowed = await execute('chatModelTlsAllowed');
		expect(allowed.command.code).toBe(0);
		expect(rt.nodeOutput(allowed.run, CHAIN_NODE_NAME)).toEqual([{ text: 'Echo: Hello over a self-signed certificate' }]);
		expect(chatCalls(keys.tlsAllowed)).toHaveLength(1);

		const verified = await execute('chatModelTlsVerified');
		expect(verified.run.status).toBe('error');
		expect(chatCalls(keys.tlsVerified)).toHaveLength(0);
		const model = modelRun(verified.run);
		expect(model.error?.message).toMatch(/^Could not reach the service: /);
		expect(model.error?.message).toMatch(/certificate/i);
		expectNoKey(keys.tlsVerified, verified);
	});
});
