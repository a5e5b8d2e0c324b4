/**
 * The Model list and the credential's connection test, over a real socket to the fake server.
 * n8n's editor calls both through its REST API (covered end to end by `npm run test:ui`); here the
 * methods run with the few context functions they use, so every list shape and failure is quick to reach.
 */
import * as net from 'node:net';

import type { ICredentialTestFunctions, ILoadOptionsFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { nebulaBlockApiTest } from '../../nodes/shared/methods/testCredential';
import { searchModels } from '../../nodes/shared/methods/searchModels';
import { closeDispatchers } from '../../nodes/shared/transport/dispatcher';
import { startFakeNebula, type FakeModel, type FakeNebula, type ModelsMode } from '../support/fake-nebula';
import { packageNode } from '../support/node-fixture';

const MODELS: FakeModel[] = [
	{ id: 'meta-llama/Llama-3.3-70B-Instruct', type: 'Text', contextLength: 131072 },
	{ id: 'deepseek-ai/DeepSeek-R1-0528', type: 'Text', contextLength: 163840 },
	{ id: 'Qwen/QwQ-32B', type: 'Text' },
	{ id: 'black-forest-labs/FLUX.1-schnell', type: 'Image' },
];
const TEXT_IDS = ['deepseek-ai/DeepSeek-R1-0528', 'meta-llama/Llama-3.3-70B-Instruct', 'Qwen/QwQ-32B'];

let fake: FakeNebula;

beforeAll(async () => {
	fake = await startFakeNebula({ models: MODELS });
});

afterEach(() => fake.setModelsMode('both'));

afterAll(async () => {
	await closeDispatchers();
	await fake.close();
});

const node = packageNode('nebulaBlockChat', 'Nebula Block Chat Completion');

function credentialData(apiKey: string, baseUrl = fake.url) {
	return { apiKey, baseUrl, textGenerateUrl: baseUrl, allowUnauthorizedCerts: false };
}

/** The two functions of the editor's load-options context that searchModels calls. */
function loadOptionsContext(apiKey: string, baseUrl = fake.url): ILoadOptionsFunctions {
	return {
		getNode: () => node,
		getCredentials: async () => credentialData(apiKey, baseUrl),
	} as unknown as ILoadOptionsFunctions;
}

async function testCredential(apiKey: string, baseUrl = fake.url) {
	return await nebulaBlockApiTest.call({} as ICredentialTestFunctions, {
		id: 'cred-1',
		name: 'Nebula Block account',
		type: 'nebulaBlockApi',
		data: credentialData(apiKey, baseUrl),
	});
}

async function listError(context: ILoadOptionsFunctions): Promise<NodeOperationError> {
	const error = await searchModels.call(context).then(
		() => undefined,
		(thrown: unknown) => thrown,
	);
	expect(error).toBeInstanceOf(NodeOperationError);
	return error as NodeOperationError;
}

/** A port nothing listens on: connecting is refused at once. */
async function closedPortUrl(): Promise<string> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return `http://127.0.0.1:${port}/v1`;
}

describe('Model list (searchModels)', () => {
	test.each<ModelsMode>(['both', 'serverless', 'openai'])('lists every text model, sorted, with its context length (%s)', async (mode) => {
		fake.setModelsMode(mode);
		const { results } = await searchModels.call(loadOptionsContext(fake.defaultKey));
		expect(results.map((item) => item.value)).toEqual(TEXT_IDS);
		expect(results).toContainEqual({ name: 'meta-llama/Llama-3.3-70B-Instruct (128K context)', value: 'meta-llama/Llama-3.3-70B-Instruct' });
		expect(results).toContainEqual({ name: 'Qwen/QwQ-32B', value: 'Qwen/QwQ-32B' });
	});

	test('a model the list says takes images is marked, in either list shape; nothing is guessed from a name', async () => {
		const vision = await startFakeNebula({
			models: [
				{ id: 'Qwen/Qwen2.5-VL-7B-Instruct', type: 'Text', contextLength: 32768, listFields: { input_modalities: ['text', 'image'] } },
				{ id: 'vendor/Vision-Named-Text-Model', type: 'Text' },
				{ id: 'meta-llama/Llama-3.3-70B-Instruct', type: 'Text', listFields: { capabilities: { vision: false } } },
			],
		});
		try {
			for (const mode of ['serverless', 'openai', 'both'] as ModelsMode[]) {
				vision.setModelsMode(mode);
				const { results } = await searchModels.call(loadOptionsContext(vision.defaultKey, vision.url));
				expect(results).toEqual([
					{ name: 'meta-llama/Llama-3.3-70B-Instruct', value: 'meta-llama/Llama-3.3-70B-Instruct' },
					{ name: 'Qwen/Qwen2.5-VL-7B-Instruct (32K context, takes images)', value: 'Qwen/Qwen2.5-VL-7B-Instruct' },
					{ name: 'vendor/Vision-Named-Text-Model', value: 'vendor/Vision-Named-Text-Model' },
				]);
			}
		} finally {
			await vision.close();
		}
	});

	test('filters by a case-insensitive part of the ID', async () => {
		const { results } = await searchModels.call(loadOptionsContext(fake.defaultKey), '  LLAMA ');
		expect(results.map((item) => item.value)).toEqual(['meta-llama/Llama-3.3-70B-Instruct']);
	});

	test('both list endpoints down: the message says why and what to do, since the editor shows only the message', async () => {
		fake.setModelsMode('down');
		const error = await listError(loadOptionsContext(fake.defaultKey));
		expect(error.message).toBe(
			'Could not load the model list: Service Unavailable. Check the Base URL in the credential or try again later, or switch Model to "By ID" and type the model ID.',
		);
	});

	test('a wrong key: the service\'s own words and the API key hint, without the key', async () => {
		const wrongKey = 'nb-wrong-key-for-the-list';
		const error = await listError(loadOptionsContext(wrongKey));
		expect(error.message).toBe(
			'Could not load the model list: Invalid API key provided. Check the API key in the Nebula Block API credential, or switch Model to "By ID" and type the model ID.',
		);
		expect(JSON.stringify(error)).not.toContain(wrongKey);
	});

	test('an unreachable Base URL points at the Base URL', async () => {
		const error = await listError(loadOptionsContext(fake.defaultKey, await closedPortUrl()));
		expect(error.message).toMatch(/^Could not load the model list: .+\. Check the Base URL in the credential, or switch Model to "By ID"/);
	});
});

describe('credential connection test (nebulaBlockApiTest)', () => {
	test.each<ModelsMode>(['both', 'serverless', 'openai'])('succeeds when the service offers %s list endpoint(s), and spends no tokens', async (mode) => {
		fake.setModelsMode(mode);
		const key = fake.newKey();
		const result = await testCredential(key);
		expect(result).toEqual({ status: 'OK', message: 'Connection successful: 3 text models available' });
		const paths = fake.requests(key).map((request) => `${request.method} ${request.path}`);
		expect(paths.sort()).toEqual(['GET /v1/models', 'GET /v1/serverless/models']);
	});

	test('a wrong key fails with the service\'s message and how to fix it, never the key', async () => {
		const wrongKey = 'nb-typed-but-wrong-123';
		const result = await testCredential(wrongKey);
		expect(result).toEqual({ status: 'Error', message: 'Invalid API key provided. Check the API key in the Nebula Block API credential.' });
	});

	test('list endpoints down: an error that says to try again later', async () => {
		fake.setModelsMode('down');
		const result = await testCredential(fake.defaultKey);
		expect(result).toEqual({ status: 'Error', message: 'Service Unavailable. Check the Base URL in the credential or try again later.' });
	});

	test('an unreachable Base URL fails and names the Base URL', async () => {
		const result = await testCredential(fake.defaultKey, await closedPortUrl());
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Check the Base URL in the credential\.$/);
	});

	test('a Base URL with a trailing slash reaches the same endpoints', async () => {
		const key = fake.newKey();
		const result = await testCredential(key, `${fake.url}/`);
		expect(result.status).toBe('OK');
		expect(fake.requests(key).map((request) => request.path).sort()).toEqual(['/v1/models', '/v1/serverless/models']);
	});
});
