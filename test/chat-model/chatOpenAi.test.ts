import type { ISupplyDataFunctions } from 'n8n-workflow';

import type { ModelParts } from '../../nodes/shared/model/aiSdk';
import { buildChatModel } from '../../nodes/shared/model/chatOpenAi';
import { chatModelSetup } from '../../nodes/shared/model/config';
import { ModelRequestFailed } from '../../nodes/shared/transport/errors';
import { startFakeNebula } from '../support/fake-nebula';
import { startTlsFront } from './tlsFront';

/** Stand-ins for n8n's ChatOpenAI and tracing that record what they were built with. */
function fakeParts() {
	const built: Array<Record<string, any>> = [];
	class ChatOpenAI {
		constructor(fields: Record<string, any>) {
			built.push(fields);
		}
	}
	class N8nLlmTracing {
		constructor(readonly context: unknown) {}
	}
	const handlers: unknown[] = [];
	const parts = {
		ChatOpenAI,
		N8nLlmTracing,
		makeN8nLlmFailedAttemptHandler: (_context: unknown, handler?: unknown) => {
			handlers.push(handler);
			return () => undefined;
		},
		files: [],
	} as unknown as ModelParts;
	return { parts, built, handlers, ChatOpenAI };
}

const context = {} as ISupplyDataFunctions;
const connection = { apiKey: 'nb-test-key', baseUrl: 'https://inference.nebulablock.com/v1/', allowUnauthorizedCerts: false };

describe('buildChatModel', () => {
	test("the OpenAI client's own retries are off; the deadline, the base URL and the package's fetch go through its public configuration", async () => {
		const { parts, built, handlers, ChatOpenAI } = fakeParts();
		const setup = chatModelSetup(connection, 'fake/m', { maxRetries: 4, timeout: 30, temperature: 0.2 });
		const onFailedAttempt = () => undefined;
		const { model, dispatcher } = buildChatModel(context, parts, setup, onFailedAttempt);
		try {
			expect(model).toBeInstanceOf(ChatOpenAI);
			const [fields] = built;
			// Max Retries (4) is the package's retry engine's to apply, inside `fetch` (modelFetch.ts).
			expect(fields.configuration).toEqual({
				baseURL: 'https://inference.nebulablock.com/v1',
				maxRetries: 0,
				timeout: 30_000,
				fetch: expect.any(Function),
			});
			expect(fields.configuration).not.toHaveProperty('fetchOptions');
			expect(fields).toMatchObject({ model: 'fake/m', apiKey: 'nb-test-key', temperature: 0.2, timeout: 30_000, maxRetries: 0 });
			// n8n logs the calls on the node and handles failed attempts with ours first.
			expect(fields.callbacks[0]).toBeInstanceOf(parts.N8nLlmTracing);
			expect(handlers).toEqual([onFailedAttempt]);
			// Never `streaming: true`: LangChain would estimate tokens with a tokenizer it downloads.
			expect(fields).not.toHaveProperty('streaming');
			// Options not set send nothing.
			expect(fields).not.toHaveProperty('maxTokens');
		} finally {
			await dispatcher.close();
		}
	});

	test('Ignore SSL Issues reaches the connection: only then does a self-signed server answer', async () => {
		const fake = await startFakeNebula();
		const front = await startTlsFront(fake);
		const { parts, built } = fakeParts();
		const base = { ...connection, baseUrl: front.url, apiKey: fake.defaultKey };
		const strict = buildChatModel(context, parts, chatModelSetup(base, 'fake/m', {}), () => undefined);
		const lenient = buildChatModel(context, parts, chatModelSetup({ ...base, allowUnauthorizedCerts: true }, 'fake/m', {}), () => undefined);
		const [strictFetch, lenientFetch] = built.map((fields) => fields.configuration.fetch as typeof fetch);
		try {
			// The way the OpenAI client uses it: the `fetch` of its configuration, with a signal of its own.
			const get = async (modelFetch: typeof fetch) =>
				await modelFetch(`${front.url}/models`, {
					method: 'GET',
					headers: { authorization: `Bearer ${fake.defaultKey}` },
					signal: new AbortController().signal,
				});
			const answered = await get(lenientFetch);
			expect(answered.status).toBe(200);
			await answered.arrayBuffer();
			const refused = await get(strictFetch).then(
				() => undefined,
				(error: ModelRequestFailed) => error,
			);
			// The engine's error, not retried (a certificate does not change), with the TLS layer's code.
			expect(refused).toBeInstanceOf(ModelRequestFailed);
			// What the TLS layer said, not fetch's "fetch failed" around it.
			expect(refused?.failure.message).toMatch(/^Could not reach the service: .*certificate/i);
			expect(refused?.failure.code).toMatch(/SELF_SIGNED|CERT/);
			expect(fake.requests(fake.defaultKey).filter((request) => request.path === '/v1/models')).toHaveLength(1);
		} finally {
			await strict.dispatcher.close();
			await lenient.dispatcher.close();
			await front.close();
			await fake.close();
		}
	});
});
