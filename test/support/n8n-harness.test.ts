import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { NodeOperationError } from 'n8n-workflow';
import type { INode, StructuredChunk } from 'n8n-workflow';

import {
	START_NODE_NAME,
	START_NODE_TYPE,
	packageNodeTypes,
	runNode,
	runWorkflow,
	shutdownHarness,
} from './n8n-harness';

// A throwaway community-node package in the shape `npm run build` produces, so the harness is
// exercised through PackageDirectoryLoader exactly as the real nodes will be.
const FIXTURE_PACKAGE = 'n8n-nodes-harness-fixture';
const ECHO = `${FIXTURE_PACKAGE}.harnessEcho`;
const API_KEY = 'sk-fixture-0123456789abcdef';

// Absolute, because the fixture lives in os.tmpdir() with no node_modules; jest still
// resolves it through its registry, so `instanceof NodeOperationError` works in assertions.
const N8N_WORKFLOW_PATH = require.resolve('n8n-workflow');

const ECHO_NODE_SOURCE = `'use strict';
const { NodeOperationError } = require(${JSON.stringify(N8N_WORKFLOW_PATH)});

class HarnessEcho {
	constructor() {
		this.description = {
			displayName: 'Harness Echo',
			name: 'harnessEcho',
			group: ['transform'],
			version: [1, 2],
			description: 'Fixture node for the n8n harness tests',
			defaults: { name: 'Harness Echo' },
			inputs: ['main'],
			outputs: ['main'],
			credentials: [{ name: 'harnessEchoApi', required: true }],
			properties: [
				{
					displayName: 'Mode',
					name: 'mode',
					type: 'options',
					options: [
						{ name: 'Echo', value: 'echo' },
						{ name: 'Credentials', value: 'credentials' },
						{ name: 'Authenticated Request', value: 'authRequest' },
						{ name: 'Stream', value: 'stream' },
						{ name: 'Wait for Cancel', value: 'waitForCancel' },
						{ name: 'Labelled', value: 'labelled' },
					],
					default: 'echo',
				},
				{ displayName: 'Text', name: 'text', type: 'string', default: '' },
				{
					displayName: 'Label',
					name: 'label',
					type: 'string',
					required: true,
					default: '',
					displayOptions: { show: { mode: ['labelled'] } },
				},
			],
		};
	}

	async execute() {
		const items = this.getInputData();
		const mode = this.getNodeParameter('mode', 0);
		const out = [];
		for (let i = 0; i < items.length; i++) {
			if (items[i].json.skip) continue;
			if (items[i].json.bad) {
				const error = new NodeOperationError(this.getNode(), 'Item ' + i + ' is bad', {
					itemIndex: i,
					description: 'bad value: ' + items[i].json.bad,
				});
				if (!this.continueOnFail()) throw error;
				out.push({ json: { error: error.message }, pairedItem: { item: i } });
				continue;
			}
			const text = this.getNodeParameter('text', i);
			const json = { text, typeVersion: this.getNode().typeVersion, streaming: this.isStreaming() };
			this.logger.info('harness echo processed item', { itemIndex: i });
			if (mode === 'credentials') {
				const credentials = await this.getCredentials('harnessEchoApi');
				json.apiKey = credentials.apiKey;
				json.baseUrl = credentials.baseUrl;
			}
			if (mode === 'authRequest') {
				const credentials = await this.getCredentials('harnessEchoApi');
				const response = await this.helpers.httpRequestWithAuthentication.call(this, 'harnessEchoApi', {
					method: 'GET',
					url: credentials.baseUrl + '/headers',
					json: true,
				});
				json.authorization = response.authorization;
			}
			if (mode === 'stream' && this.isStreaming()) {
				await this.sendChunk('begin', i);
				for (const word of String(text).split(' ')) await this.sendChunk('item', i, word);
				await this.sendChunk('end', i);
			}
			if (mode === 'waitForCancel') {
				const signal = this.getExecutionCancelSignal();
				// Tells the test the node is now waiting, so it can abort deterministically.
				if (this.isStreaming()) await this.sendChunk('begin', i);
				await new Promise((resolve) => {
					if (signal.aborted) return resolve();
					signal.addEventListener('abort', resolve, { once: true });
				});
				json.sawAbort = signal.aborted;
			}
			out.push({ json, pairedItem: { item: i } });
		}
		return [out];
	}
}

module.exports = { HarnessEcho };
`;

const ECHO_CREDENTIAL_SOURCE = `'use strict';
class HarnessEchoApi {
	constructor() {
		this.name = 'harnessEchoApi';
		this.displayName = 'Harness Echo API';
		this.properties = [
			{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '' },
			{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: 'https://echo.invalid/v1' },
		];
		this.authenticate = {
			type: 'generic',
			properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
		};
	}
}
module.exports = { HarnessEchoApi };
`;

function createFixturePackage(): string {
	const root = mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-fixture-'));
	const write = (file: string, content: string) => {
		mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
		writeFileSync(path.join(root, file), content);
	};
	write(
		'package.json',
		JSON.stringify({
			name: FIXTURE_PACKAGE,
			version: '0.0.1',
			n8n: {
				n8nNodesApiVersion: 1,
				nodes: ['dist/nodes/HarnessEcho/HarnessEcho.node.js'],
				credentials: ['dist/credentials/HarnessEchoApi.credentials.js'],
			},
		}),
	);
	write('dist/nodes/HarnessEcho/HarnessEcho.node.js', ECHO_NODE_SOURCE);
	write('dist/credentials/HarnessEchoApi.credentials.js', ECHO_CREDENTIAL_SOURCE);
	return root;
}

/** Answers every request with the headers it received, to observe credential authentication. */
async function startHeaderEchoServer(): Promise<{ server: Server; url: string }> {
	const server = createServer((request, response) => {
		response.setHeader('content-type', 'application/json');
		response.end(JSON.stringify(request.headers));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let fixtureDir: string;

beforeAll(() => {
	fixtureDir = createFixturePackage();
});

afterAll(async () => {
	await shutdownHarness();
	rmSync(fixtureDir, { recursive: true, force: true });
});

const credentials = { harnessEchoApi: { apiKey: API_KEY } };

describe('packageNodeTypes', () => {
	it('loads the package nodes as <package>.<node> next to the harness start node', () => {
		const nodeTypes = packageNodeTypes(fixtureDir);
		expect(nodeTypes.getByNameAndVersion(ECHO, 2).description.displayName).toBe('Harness Echo');
		expect(nodeTypes.getByNameAndVersion(START_NODE_TYPE, 1).description.name).toBe(START_NODE_TYPE);
		expect(packageNodeTypes(fixtureDir)).toBe(nodeTypes);
	});

	it('names the missing build output when the package cannot be loaded', () => {
		const empty = mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-empty-'));
		writeFileSync(
			path.join(empty, 'package.json'),
			JSON.stringify({ name: 'x', version: '1.0.0', n8n: { nodes: ['dist/Missing.node.js'] } }),
		);
		try {
			expect(() => packageNodeTypes(empty)).toThrow(/npm run build/);
		} finally {
			rmSync(empty, { recursive: true, force: true });
		}
	});
});

describe('runNode', () => {
	it('resolves expressions per item and defaults to the latest type version', async () => {
		const { items, error } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { text: '={{ $json.name }} #{{ $itemIndex }}' },
			inputItems: [{ name: 'ada' }, { name: 'bob' }],
		});
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json.text)).toEqual(['ada #0', 'bob #1']);
		expect(items[0].json.typeVersion).toBe(2);
	});

	it('keeps the pairedItem the node sets', async () => {
		const { items } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { text: '={{ $json.name }}' },
			inputItems: [{ name: 'a' }, { name: 'b', skip: true }, { name: 'c' }],
		});
		expect(items.map((item) => [item.json.text, item.pairedItem])).toEqual([
			['a', { item: 0 }],
			['c', { item: 2 }],
		]);
	});

	it('hands the credentials, with type defaults applied, to getCredentials', async () => {
		const { items } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { mode: 'credentials' },
			credentials,
		});
		expect(items[0].json).toMatchObject({ apiKey: API_KEY, baseUrl: 'https://echo.invalid/v1' });
	});

	it("applies the credential type's generic authenticate to httpRequestWithAuthentication", async () => {
		const { server, url } = await startHeaderEchoServer();
		try {
			const { items, error } = await runNode({
				packageDir: fixtureDir,
				type: ECHO,
				parameters: { mode: 'authRequest' },
				credentials: { harnessEchoApi: { apiKey: API_KEY, baseUrl: url } },
			});
			expect(error).toBeUndefined();
			expect(items[0].json.authorization).toBe(`Bearer ${API_KEY}`);
		} finally {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		}
	});

	it('fails like n8n when a node asks for credentials it was not given', async () => {
		const { error } = await runNode({ packageDir: fixtureDir, type: ECHO, parameters: { mode: 'credentials' } });
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toMatch(/credentials/i);
	});

	it('returns the NodeOperationError instance the node threw, with itemIndex and description', async () => {
		const { items, error, result } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { text: 'x' },
			inputItems: [{ name: 'ok' }, { bad: 'nope' }],
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error).toMatchObject({
			message: 'Item 1 is bad',
			description: 'bad value: nope',
			context: { itemIndex: 1 },
		});
		expect(items).toEqual([]);
		expect(result.runData['Harness Echo'][0].executionStatus).toBe('error');
	});

	it('turns the failure into an error item with continueOnFail', async () => {
		const { items, error } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { text: 'x' },
			inputItems: [{ name: 'ok' }, { bad: 'nope' }],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json)).toEqual([
			expect.objectContaining({ text: 'x' }),
			{ error: 'Item 1 is bad' },
		]);
		expect(items[1].pairedItem).toEqual({ item: 1 });
	});
});

describe('streaming', () => {
	it('delivers sendChunk calls to onChunk and reports isStreaming()', async () => {
		const chunks: StructuredChunk[] = [];
		const { items } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { mode: 'stream', text: 'hello streaming world' },
			onChunk: (chunk) => chunks.push(chunk),
		});
		expect(items[0].json.streaming).toBe(true);
		expect(chunks.map((chunk) => [chunk.type, chunk.content])).toEqual([
			['begin', undefined],
			['item', 'hello'],
			['item', 'streaming'],
			['item', 'world'],
			['end', undefined],
		]);
		expect(chunks[1].metadata).toMatchObject({ nodeName: 'Harness Echo', itemIndex: 0, runIndex: 0 });
	});

	it('is not streaming without onChunk', async () => {
		const { items } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { mode: 'stream', text: 'quiet' },
		});
		expect(items[0].json.streaming).toBe(false);
	});
});

describe('cancellation', () => {
	it("aborts the node's execution cancel signal and ends the run as cancelled", async () => {
		const controller = new AbortController();
		const { items, error, result } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { mode: 'waitForCancel' },
			signal: controller.signal,
			// The node sends 'begin' once it is waiting on its cancel signal.
			onChunk: (chunk) => chunk.type === 'begin' && controller.abort(),
		});
		expect(error?.name).toBe('ManualExecutionCancelledError');
		expect(items[0]?.json.sawAbort).toBe(true);
		expect(result.runData['Harness Echo']).toHaveLength(1);
	});

	it('does not run the node when the signal is already aborted', async () => {
		const { error, result } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { mode: 'waitForCancel' },
			signal: AbortSignal.abort(),
		});
		expect(error?.name).toBe('ManualExecutionCancelledError');
		expect(result.runData['Harness Echo']).toBeUndefined();
	});
});

describe('runWorkflow', () => {
	it('runs a multi-node workflow and reports every node output', async () => {
		const echo = (name: string, text: string): INode => ({
			id: name,
			name,
			type: ECHO,
			typeVersion: 1,
			position: [0, 0],
			parameters: { text },
		});
		const result = await runWorkflow({
			packageDir: fixtureDir,
			nodes: [echo('First', '={{ $json.name }}!'), echo('Second', "={{ $('First').item.json.text }}?")],
			connections: {
				[START_NODE_NAME]: { main: [[{ node: 'First', type: 'main', index: 0 }]] },
				First: { main: [[{ node: 'Second', type: 'main', index: 0 }]] },
			},
			inputItems: [{ name: 'x' }, { name: 'y' }],
		});
		expect(result.error).toBeUndefined();
		expect(result.outputs[START_NODE_NAME][0].map((item) => item.json)).toEqual([
			{ name: 'x' },
			{ name: 'y' },
		]);
		expect(result.outputs.Second[0].map((item) => item.json.text)).toEqual(['x!?', 'y!?']);
		expect(result.outputs.Second[0][0].json.typeVersion).toBe(1);
	});

	it('reports a missing required parameter as the WorkflowHasIssuesError n8n raises', async () => {
		const result = await runWorkflow({
			packageDir: fixtureDir,
			nodes: [
				{
					id: 'bad',
					name: 'Bad',
					type: ECHO,
					typeVersion: 2,
					position: [0, 0],
					parameters: { mode: 'labelled' },
				},
			],
			connections: { [START_NODE_NAME]: { main: [[{ node: 'Bad', type: 'main', index: 0 }]] } },
			inputItems: [{}],
		});
		expect(result.error?.name).toBe('WorkflowHasIssuesError');
		expect(result.error).toMatchObject({ issues: { Bad: { parameters: { label: expect.any(Array) } } } });
		expect(result.runData).toEqual({});
	});
});

describe('logs', () => {
	it("captures the engine's and the node's logger output without leaking credentials", async () => {
		const { result } = await runNode({
			packageDir: fixtureDir,
			type: ECHO,
			parameters: { mode: 'credentials' },
			credentials,
		});
		expect(result.logs).toEqual(
			expect.arrayContaining([
				expect.stringContaining('Workflow execution started'),
				expect.stringMatching(/^info: harness echo processed item \{"itemIndex":0\}$/),
			]),
		);
		expect(result.logs.join('\n')).not.toContain(API_KEY);
	});

	it('keeps log lines of concurrent runs apart', async () => {
		const [first, second] = await Promise.all([
			runNode({ packageDir: fixtureDir, type: ECHO, parameters: { text: 'a' }, inputItems: [{}] }),
			runNode({ packageDir: fixtureDir, type: ECHO, parameters: { text: 'b' }, inputItems: [{}, {}] }),
		]);
		const processed = (logs: string[]) => logs.filter((line) => line.includes('processed item'));
		expect(processed(first.result.logs)).toHaveLength(1);
		expect(processed(second.result.logs)).toHaveLength(2);
	});
});
