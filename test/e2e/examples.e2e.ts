/**
 * Every workflow in `examples/`, run by the n8n CLI in a real n8n (2.8.4, or N8N_E2E_VERSION) against the fake Nebula
 * Block server with nothing scripted: the sandbox a newcomer meets in `npm run demo`. A new example
 * is picked up by reading the folder. Each must succeed with every node run and a meaningful
 * result: JSON that fits the schema it asked for, an agent answer built on its tools' results.
 *
 * Examples the CLI cannot start (a Chat Trigger or Webhook waits for a request) are listed and
 * skipped here, and must be run by another e2e file, which this suite checks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';
import { startFakeNebula, type FakeNebula, type RecordedRequest } from '../support/fake-nebula';
import { describeImagePart } from '../support/fake-model';
import {
	AGENT_NODE_TYPE,
	CHAT_NODE_TYPE,
	lastNodes,
	readExamples,
	requestedSchema,
	subNodesOf,
	type Example,
} from '../support/example-workflows';
import { schemaProblems } from '../support/schema-check';
import { StepTimer } from '../support/step-timer';
import { CHAT_MODEL_NEEDS, CHAT_MODEL_REFUSAL, EDITION } from './edition';

/** Written with the main package's node types, as every example is (imported under the edition's). */
const MODEL_NODE_TYPE = 'n8n-nodes-nebula-block.lmChatNebulaBlock';

const examples = readExamples();
const runnable = examples.filter((example) => !example.notRunnableBecause);
const leftToOwnE2e = examples.filter((example) => example.notRunnableBecause);
/**
 * Node versions an example needs that the n8n under test lacks (known when it is installed before
 * jest starts, as `npm run test:compat` does): such an example is skipped, not failed.
 */
const n8nDir = rt.n8nInstallDir(rt.e2eN8nVersion());
const lacks = new Map(runnable.map((example) => [example.file, rt.isN8nInstalled(rt.e2eN8nVersion()) ? rt.missingNodeVersions(n8nDir, example.workflow) : []]));

let ctx: rt.N8nContext;
let fake: FakeNebula;
let key: string;
const timer = new StepTimer();

beforeAll(async () => {
	process.stdout.write(
		[
			`Examples run here: ${runnable.map((example) => example.file).join(', ')}`,
			`Examples skipped here: ${leftToOwnE2e.map((example) => `${example.file} (${example.notRunnableBecause})`).join('; ') || 'none'}`,
			...[...lacks].filter(([, missing]) => missing.length > 0).map(([file, missing]) => `Skipped on n8n ${rt.e2eN8nVersion()}: ${file} (it needs ${missing.join(', ')}, which this n8n lacks)`),
		].join('\n') + '\n',
	);
	ctx = await timer.time('install n8n if needed, pack, install the package', () =>
		rt.prepareSandbox({ log: (line) => process.stdout.write(`${line}\n`) }),
	);
	fake = await startFakeNebula();
	key = fake.newKey('every-example');
	await timer.time('import the credential', () => rt.importCredentials(ctx, [rt.exampleCredential({ apiKey: key, baseUrl: fake.url, textGenerateUrl: fake.url })]));
	await timer.time(`import ${runnable.length} examples`, () => rt.importWorkflows(ctx, runnable.map((example) => example.workflow)));
});

afterAll(async () => {
	await fake?.close();
	if (ctx) rt.removeUserFolder(ctx.folder);
	process.stdout.write(`examples e2e timings:\n  ${timer.lines.join('\n  ')}\n`);
});

/**
 * The text a tool handed back, as n8n shows it on the tool node: its first text field, or the first
 * of the text parts it returned (a vector store as a tool: one part per document found, best first).
 */
function toolAnswerText(run: rt.ExecutionResult, toolName: string): string {
	const [item] = rt.nodeOutput(run, toolName, 'ai_tool');
	const firstPart = (value: unknown) => (Array.isArray(value) && value[0]?.type === 'text' ? value[0].text : value);
	const text = ['response', 'content', 'text', 'output'].map((field) => firstPart(item?.[field])).find((value) => typeof value === 'string' && value !== '');
	if (typeof text !== 'string') throw new Error(`${toolName} handed back no text: ${JSON.stringify(item)}`);
	return text;
}

function toolMessages(requests: RecordedRequest[]): string[] {
	return requests
		.flatMap((request) => (Array.isArray(request.body?.messages) ? request.body.messages : []))
		.filter((message: any) => message.role === 'tool')
		.map((message: any) => (typeof message.content === 'string' ? message.content : JSON.stringify(message.content)));
}

function expectEveryNodeRan(example: Example, run: rt.ExecutionResult): void {
	const ran = Object.keys(run.data.resultData.runData);
	const expected = example.nodes.filter((node) => !/trigger$/i.test(node.type)).map((node) => node.name);
	expect(expected.filter((name) => !ran.includes(name))).toEqual([]);
	for (const name of ran) {
		expect({ node: name, status: run.data.resultData.runData[name].map((nodeRun) => nodeRun.executionStatus) }).toEqual({
			node: name,
			status: run.data.resultData.runData[name].map(() => 'success'),
		});
	}
}

function expectJsonAnswersFitTheirSchema(example: Example, run: rt.ExecutionResult): void {
	for (const node of example.nodes.filter((candidate) => candidate.type === CHAT_NODE_TYPE)) {
		const schema = requestedSchema(node);
		const items = rt.nodeOutput(run, node.name);
		expect(items.length).toBeGreaterThan(0);
		for (const item of items) {
			if (!schema) {
				expect(typeof item.content === 'string' && item.content.trim() !== '').toBe(true);
				continue;
			}
			const answer = typeof item.content === 'string' ? JSON.parse(item.content) : item.content;
			expect({ node: node.name, answer, problems: schemaProblems(answer, schema) }).toEqual({ node: node.name, answer, problems: [] });
		}
	}
}

/** Each tool ran, its result went back to the model in a `tool` message, and the agent's answer uses it. */
function expectAgentsUsedTheirTools(example: Example, run: rt.ExecutionResult, requests: RecordedRequest[]): number {
	let tools = 0;
	for (const agent of example.nodes.filter((node) => node.type === AGENT_NODE_TYPE)) {
		const [answer] = rt.nodeOutput(run, agent.name);
		for (const tool of subNodesOf(example, agent.name, 'ai_tool')) {
			tools++;
			expect(rt.runCount(run, tool.name)).toBeGreaterThanOrEqual(1);
			const result = toolAnswerText(run, tool.name);
			// Tools hand back n8n items, which reach the model as JSON text: the result may be escaped in it.
			const escaped = JSON.stringify(result).slice(1, -1);
			expect(toolMessages(requests).filter((content) => content.includes(result) || content.includes(escaped))).not.toEqual([]);
			expect(String(answer.output)).toContain(result);
		}
		for (const model of subNodesOf(example, agent.name, 'ai_languageModel')) {
			// Asked twice at least: once to call the tools, once to answer with their results.
			expect(rt.runCount(run, model.name)).toBeGreaterThanOrEqual(2);
		}
	}
	return tools;
}

/** Images sent as content parts arrived whole: the fake's answer states each one's type and size, and the node passed it on. */
function expectImagesArrived(example: Example, run: rt.ExecutionResult, requests: RecordedRequest[]): void {
	const images = requests
		.flatMap((request) => (Array.isArray(request.body?.messages) ? request.body.messages : []))
		.flatMap((message: any) => (Array.isArray(message.content) ? message.content : []))
		.filter((part: any) => part?.type === 'image_url')
		.map((part: any) => describeImagePart(String(part.image_url?.url)));
	const asksForImages = example.nodes.some((node) => node.type === CHAT_NODE_TYPE && JSON.stringify(node.parameters).includes('"images"'));
	expect({ example: example.file, sentImages: images.length > 0 }).toEqual({ example: example.file, sentImages: asksForImages });
	if (images.length === 0) return;
	const answers = example.nodes
		.filter((node) => node.type === CHAT_NODE_TYPE)
		.flatMap((node) => rt.nodeOutput(run, node.name).map((item) => String(item.content)));
	for (const image of images) expect(answers.filter((answer) => answer.includes(image))).not.toEqual([]);
}

/** An example with the Chat Model, on an n8n the edition's Chat Model does not run on, must fail with its refusal instead. */
const refusedHere = (example: Example) => CHAT_MODEL_REFUSAL !== undefined && example.nodes.some((node) => node.type === MODEL_NODE_TYPE);

describe('every example in examples/, run by the n8n CLI against the unscripted fake', () => {
	const runHere = runnable.filter((example) => lacks.get(example.file)?.length === 0 && !refusedHere(example));
	const refused = runnable.filter((example) => lacks.get(example.file)?.length === 0 && refusedHere(example));
	const notHere = runnable.filter((example) => !runHere.includes(example) && !refused.includes(example));
	if (notHere.length > 0) test.skip.each(notHere.map((example) => [example.file]))('%s succeeds with a meaningful result', () => undefined);
	test.each(runHere.map((example) => [example.file, example] as const))('%s succeeds with a meaningful result', async (_file, example) => {
		const before = fake.requests(key).length;
		const outcome = await timer.time(`execute ${example.file}`, () => rt.executeWorkflow(ctx, example.workflow.id));
		const { run, command } = outcome;
		if (!run) throw new Error(`n8n printed no run for ${example.file} (exit ${command.code}):\n${command.stderr.slice(-3000)}`);
		expect(run.data.resultData.error).toBeUndefined();
		expect(command.code).toBe(0);
		expect(run.status).toBe('success');
		expectEveryNodeRan(example, run);

		for (const node of lastNodes(example)) {
			const items = rt.nodeOutput(run, node.name);
			expect(items.length).toBeGreaterThan(0);
			items.forEach((item) => expect(item.error).toBeUndefined());
		}
		const requests = fake.requests(key).slice(before);
		expect(requests.length).toBeGreaterThan(0);
		requests.forEach((request) => expect(request.path).toMatch(/^\/v1\/(chat\/completions|text\/generate|inference\/chat_text|embeddings)$/));
		expectJsonAnswersFitTheirSchema(example, run);
		expectImagesArrived(example, run, requests);
		const tools = expectAgentsUsedTheirTools(example, run, requests);
		if (example.nodes.some((node) => node.type === AGENT_NODE_TYPE)) expect(tools).toBeGreaterThan(0);

		expect(command.stdout + command.stderr + JSON.stringify(run)).not.toContain(key);
	});
	if (refused.length > 0) {
		test.each(refused.map((example) => [example.file, example] as const))(
			`%s fails at its Chat Model, which says the ${EDITION} edition's needs n8n ${CHAT_MODEL_NEEDS.n8n} or newer, and sends no chat request`,
			async (_file, example) => {
				const before = fake.requests(key).length;
				const outcome = await timer.time(`execute ${example.file}`, () => rt.executeWorkflow(ctx, example.workflow.id));
				const { run, command } = outcome;
				if (!run) throw new Error(`n8n printed no run for ${example.file} (exit ${command.code}):\n${command.stderr.slice(-3000)}`);
				expect(command.code).not.toBe(0);
				expect(run.status).toBe('error');
				for (const model of example.nodes.filter((node) => node.type === MODEL_NODE_TYPE)) {
					const [modelRun] = run.data.resultData.runData[model.name] ?? [];
					expect({ node: model.name, error: modelRun?.error?.message }).toEqual({ node: model.name, error: CHAT_MODEL_REFUSAL });
				}
				expect(String(run.data.resultData.error?.message)).toMatch(/Nebula Block Chat Model/);
				// Only the embeddings of documents inserted before the agent (Nebula Block Embeddings runs on any n8n with vector stores).
				expect(fake.requests(key).slice(before).filter((request) => request.path !== '/v1/embeddings')).toEqual([]);
				expect(command.stdout + command.stderr + JSON.stringify(run)).not.toContain(key);
			},
		);
	}
});

describe('examples the CLI cannot start', () => {
	const otherE2eSources = fs
		.readdirSync(__dirname)
		.filter((name) => name.endsWith('.e2e.ts') && name !== path.basename(__filename))
		.map((name) => fs.readFileSync(path.join(__dirname, name), 'utf8'));

	// None today: jest refuses an empty table, and the list is printed at the start either way.
	if (leftToOwnE2e.length === 0) return;

	test.each(leftToOwnE2e.map((example) => [example.file, example.notRunnableBecause, example] as const))(
		'%s is skipped here (%s) and run by another e2e file',
		(file, _reason, example) => {
			const mentioned = otherE2eSources.some((source) => source.includes(file) || source.includes(`'${example.workflow.id}'`));
			expect({ file, runByAnotherE2eFile: mentioned }).toEqual({ file, runByAnotherE2eFile: true });
		},
	);
});
