/**
 * The Chat Model's calls as n8n's OpenAI client makes them, for the node tests that run against
 * the fake server: the model is built as its supplyData builds it (chatModelSetup, buildChatModel)
 * with stand-ins for n8n's classes, and each call goes through the `fetch` of its configuration
 * once, as the client does with its own retries off. Everything loads from dist/, like the nodes
 * that runNode runs, so the model and the nodes share one limiter registry: `npm run build` first.
 */
import type { ISupplyDataFunctions } from 'n8n-workflow';
import type { Dispatcher } from 'undici';

import { buildChatModel } from '../../dist/nodes/shared/model/chatOpenAi';
import { chatModelSetup } from '../../dist/nodes/shared/model/config';
import { limiterFor } from '../../dist/nodes/shared/transport/limiters';
import type { ModelParts } from '../../nodes/shared/model/aiSdk';
import type { OptionValues } from '../../nodes/shared/options/collection';
import type { FakeNebula } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';

export const MODEL = 'fake/limit-model';

export type ModelFetch = (input: string, init?: RequestInit) => Promise<Response>;

/** n8n's ChatOpenAI and tracing stand-ins: the fields the model is built with are kept. */
function standIns(built: Array<Record<string, any>>): ModelParts {
	return {
		ChatOpenAI: class {
			constructor(fields: Record<string, any>) {
				built.push(fields);
			}
		},
		N8nLlmTracing: class {},
		makeN8nLlmFailedAttemptHandler: () => () => undefined,
		files: [],
	} as unknown as ModelParts;
}

export interface ModelCalls {
	/** A Chat Model on `apiKey` with these Options (checked, as its supplyData hands them on); its pool is closed by `closeAll`. */
	model(apiKey: string, options?: OptionValues): ModelFetch;
	closeAll(): Promise<void>;
}

export function modelCalls(fake: FakeNebula): ModelCalls {
	const dispatchers: Dispatcher[] = [];
	return {
		model(apiKey, options = {}) {
			const built: Array<Record<string, any>> = [];
			const setup = chatModelSetup({ apiKey, baseUrl: fake.url, allowUnauthorizedCerts: false }, MODEL, options);
			const { dispatcher } = buildChatModel({} as ISupplyDataFunctions, standIns(built), setup, () => undefined);
			dispatchers.push(dispatcher);
			return built[0].configuration.fetch as ModelFetch;
		},
		async closeAll() {
			await Promise.all(dispatchers.splice(0).map(async (dispatcher) => await dispatcher.close()));
		},
	};
}

/** One chat call as the OpenAI client makes it: one call of the model's fetch, with a signal of the client's own. */
export async function chatCall(
	modelFetch: ModelFetch,
	fake: FakeNebula,
	apiKey: string,
	content: string,
	init: { stream?: boolean; signal?: AbortSignal } = {},
): Promise<Response> {
	return await modelFetch(`${fake.url}/chat/completions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], stream: init.stream === true }),
		signal: init.signal ?? new AbortController().signal,
	});
}

/** What a call rejected with (a call that succeeds fails the test). */
export async function rejectionOf(call: Promise<unknown>): Promise<any> {
	return await call.then(
		(value) => {
			throw new Error(`Expected the call to fail, it returned ${String(value)}`);
		},
		(error: unknown) => error,
	);
}

/** The Chat Completion node (Concurrency Mode Auto, its default), one item. */
export async function runChatNode(fake: FakeNebula, apiKey: string, question: string) {
	return await runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: question }] },
			options: { includeRateLimitStats: true, stream: false },
		},
		credentials: { nebulaBlockApi: { apiKey, baseUrl: fake.url } },
		inputItems: [{}],
	});
}

export async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

export function limiterOf(fake: FakeNebula, apiKey: string) {
	return limiterFor(new URL(fake.url).origin, apiKey);
}
