/**
 * The credential's Ignore SSL Issues reaches the Chat Completion node's connection, in both
 * editions (this suite also runs against the cloud edition, whose requests go through n8n's
 * helper): a self-signed certificate is refused unless the box is ticked. An HTTPS front with a
 * fresh self-signed certificate sits before the fake server.
 */
import { NodeApiError } from 'n8n-workflow';

import { startTlsFront, type TlsFront } from '../chat-model/tlsFront';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { runNode } from '../support/n8n-harness';

const fake = useFakeNebula();
let front: TlsFront;

beforeAll(async () => {
	front = await startTlsFront(fake);
});

afterAll(async () => {
	await front.close();
});

async function ask(key: string, ignoreSslIssues: boolean) {
	return await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		parameters: {
			model: { __rl: true, mode: 'id', value: 'fake/model' },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: 'Hello over TLS' }] },
			options: { maxRetries: 0 },
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: front.url, ignoreSslIssues } },
	});
}

it('with Ignore SSL Issues the answer comes through a self-signed certificate', async () => {
	const key = fake.newKey('tls-ignore');
	const { items, error } = await ask(key, true);
	expect(error).toBeUndefined();
	expect(items[0].json.content).toBe('Echo: Hello over TLS');
	expect(fake.requests(key)).toHaveLength(1);
});

it('without it the certificate is refused, saying so, and nothing reaches the service', async () => {
	const key = fake.newKey('tls-verify');
	const { error } = await ask(key, false);
	expect(error).toBeInstanceOf(NodeApiError);
	expect(error?.message).toMatch(/^Could not reach the service: .*self[- ]signed certificate/i);
	expect(fake.requests(key)).toHaveLength(0);
});
