/**
 * Images from n8n's filesystem binary data mode (what a self-hosted n8n uses by default): the
 * node reads them through n8n's helpers, never from `data` (which holds only the mode's name).
 * Its own file: the binary data service is process-wide in n8n's container.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Container } from '@n8n/di';
import { BinaryDataService, type BinaryDataConfig } from 'n8n-core';
import type { ErrorReporter } from 'n8n-core';
import { NodeOperationError } from 'n8n-workflow';
import type { IBinaryData } from 'n8n-workflow';
import type { Logger } from '@n8n/backend-common';

import { startFakeNebula, type FakeNebula } from '../support/fake-nebula';
import { BINARY_KEY, runNode, shutdownHarness } from '../support/n8n-harness';

const PNG_1X1 = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
	'base64',
);

let fake: FakeNebula;
let storagePath: string;
let service: BinaryDataService;

beforeAll(async () => {
	storagePath = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-binary-'));
	const config = { mode: 'filesystem', localStoragePath: storagePath } as unknown as BinaryDataConfig;
	service = new BinaryDataService(config, {} as ErrorReporter, {} as Logger);
	await service.init();
	Container.set(BinaryDataService, service);
	fake = await startFakeNebula();
});

afterAll(async () => {
	await fake.close();
	await shutdownHarness();
	fs.rmSync(storagePath, { recursive: true, force: true });
});

async function run(bytes: Buffer, mimeType: string) {
	const key = fake.newKey('vision-fs');
	const outcome = await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		parameters: {
			model: { __rl: true, mode: 'id', value: 'Qwen/Qwen2.5-VL-7B-Instruct' },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: 'Describe it', images: { binaryProperties: 'data' } }] },
			options: { stream: false },
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url } },
		inputItems: [{ [BINARY_KEY]: { data: { base64: bytes.toString('base64'), mimeType, fileName: 'upload.png' } } }],
	});
	const stored = outcome.result.outputs.Start[0][0].binary?.data as IBinaryData;
	return { ...outcome, stored, requests: fake.requests(key) };
}

/** Files the node read whole from the store while `work` ran. */
async function readsDuring<T>(work: () => Promise<T>): Promise<{ result: T; reads: number }> {
	const read = jest.spyOn(service, 'getAsBuffer');
	try {
		const result = await work();
		return { result, reads: read.mock.calls.length };
	} finally {
		read.mockRestore();
	}
}

it('a binary image stored on disk reaches the server as a data URL', async () => {
	const { result, reads } = await readsDuring(async () => await run(PNG_1X1, 'image/png'));
	const { error, stored, requests } = result;
	expect(reads).toBe(1);
	// The item holds a reference to a file, not the bytes.
	expect(stored.id).toMatch(/^filesystem(-v2)?:/);
	expect(stored.data).not.toBe(PNG_1X1.toString('base64'));
	expect(error).toBeUndefined();
	expect(requests[0].body.messages[0].content).toEqual([
		{ type: 'text', text: 'Describe it' },
		{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1X1.toString('base64')}` } },
	]);
});

it('an oversized image on disk is refused from its stored size, without reading it', async () => {
	const { result, reads } = await readsDuring(async () => await run(Buffer.concat([PNG_1X1, Buffer.alloc(20 * 1024 * 1024)]), 'image/png'));
	const { error, stored, requests } = result;
	// Refused from the store's metadata: the 20 MB file was never read into memory.
	expect(reads).toBe(0);
	expect(stored.id).toMatch(/^filesystem(-v2)?:/);
	expect(error).toBeInstanceOf(NodeOperationError);
	expect(error?.message).toMatch(/Message 1, binary property "data" is 20\.0 MB \(20971590 bytes\), over the 20\.0 MB \(20971520 bytes\) limit for one image/);
	expect(requests).toHaveLength(0);
});
