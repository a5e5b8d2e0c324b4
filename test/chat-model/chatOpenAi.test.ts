import type { ISupplyDataFunctions } from 'n8n-workflow';

import type { ModelParts } from '../../nodes/shared/model/aiSdk';
import { buildChatModel } from '../../nodes/shared/model/chatOpenAi';
import { chatModelSetup } from '../../nodes/shared/model/config';
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
	test('retries, the deadline and the connection go to the OpenAI client through its public configuration', async () => {
		const { parts, built, handlers, ChatOpenAI } = fakeParts();
		const setup = chatModelSetup(connection, 'fake/m', { maxRetries: 4, timeout: 30, temperature: 0.2 });
		const onFailedAttempt = () => undefined;
		const { model, dispatcher } = buildChatModel(context, parts, setup, onFailedAttempt);
		try {
			expect(model).toBeInstanceOf(ChatOpenAI);
			const [fields] = built;
			expect(fields.configuration).toEqual({
				baseURL: 'https://inference.nebulablock.com/v1',
				maxRetries: 4,
				timeout: 30_000,
				fetchOptions: { dispatcher },
			});
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
		const { parts } = fakeParts();
		const strict = buildChatModel(context, parts, chatModelSetup(connection, 'fake/m', {}), () => undefined);
		const lenient = buildChatModel(context, parts, chatModelSetup({ ...connection, allowUnauthorizedCerts: true }, 'fake/m', {}), () => undefined);
		try {
			// The way the OpenAI client uses it: Node's fetch with the dispatcher from fetchOptions.
			const get = (dispatcher: unknown) =>
				fetch(`${front.url}/models`, { headers: { authorization: `Bearer ${fake.defaultKey}` }, dispatcher } as RequestInit);
			const answered = await get(lenient.dispatcher);
			expect(answered.status).toBe(200);
			await answered.arrayBuffer();
			const refused = await get(strict.dispatcher).then(
				() => undefined,
				(error: Error & { cause?: { code?: string } }) => error,
			);
			expect(refused?.cause?.code).toMatch(/SELF_SIGNED|CERT/);
		} finally {
			await strict.dispatcher.close();
			await lenient.dispatcher.close();
			await front.close();
			await fake.close();
		}
	});
});
