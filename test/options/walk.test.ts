/**
 * Every option of every node, from the form to the request: each option of the option table is
 * given by an expression, once with a value that is right (often as text, which n8n does not
 * convert inside a collection) and once with a value of the wrong type. The Chat Completion and
 * Text Generate nodes (both endpoints) run in n8n-core's engine against the fake server, two items
 * per run with Continue On Fail: item 0 must reach the request as the table's body key says,
 * item 1 must stop with a NodeOperationError that names the field and the item, and send nothing.
 * The Chat Model is walked up to the fields of its model (n8n's ChatOpenAI, see chatOpenAi.ts);
 * test/e2e/chat-model.e2e.ts shows those values arrive in the request in a real n8n.
 */
import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INode, INodeParameters } from 'n8n-workflow';

import { chatModelSetup } from '../../nodes/shared/model/config';
import { optionsOf, readOptions } from '../../nodes/shared/options/collection';
import { OPTION_TABLE, type OptionName, type OptionNode } from '../../nodes/shared/options/table';
import { useFakeNebula } from '../support/fake-for-node-tests';
import type { RecordedRequest } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';

const MODEL = 'fake/walk-model';
const TOOL = [{ name: 'get_time' }];

/** What a right value must do to the request (and output) of a node. */
interface Effect {
	/** Must be in the body (a partial match). */
	body?: IDataObject;
	/** Must not be in the body. */
	absent?: string[];
	path?: string;
	/** Must be in the first output item (a partial match). */
	output?: IDataObject;
}

interface Case {
	/** Other options it needs to take effect (Tool Choice needs Tools). */
	with?: IDataObject;
	/** A right value, as an expression gives it. */
	given: unknown;
	/** Per node; an option without a body key that has no effect listed must leave the body as it is without it. */
	effect?: Partial<Record<OptionNode | 'textGenerateViaChat', Effect>>;
	/** A value of the wrong type, and the message it gives. */
	wrong: unknown;
	error: string;
}

const sampling = (body: IDataObject): Case['effect'] => ({ chatCompletion: { body }, textGenerate: { body }, textGenerateViaChat: { body } });

const CASES: Record<OptionName, Case> = {
	additionalBodyFields: {
		given: { top_k: 40, stream: false },
		effect: { chatCompletion: { body: { top_k: 40, stream: true } } },
		wrong: '[1, 2]',
		error: 'Additional Body Fields must be a JSON object, not an array',
	},
	batchSize: { given: '16', wrong: 0, error: 'Batch Size must be a whole number from 1 to 2048, not the number 0' },
	batchDelay: { given: '10', wrong: 'soon', error: 'Delay Between Batches (Milliseconds) must be a number of at least 0, not the text "soon"' },
	concurrency: { given: '2', wrong: 0, error: 'Concurrency must be a whole number from 1 to 100, not the number 0' },
	concurrencyMode: { given: 'fixed', wrong: 'fast', error: 'Concurrency Mode must be one of "auto", "fixed", not the text "fast"' },
	enableStreaming: { given: 'false', wrong: 'maybe', error: 'Enable Streaming must be true or false, not the text "maybe"' },
	endpoint: {
		given: 'chatText',
		effect: { chatCompletion: { path: '/v1/inference/chat_text' } },
		wrong: 'chat',
		error: 'Endpoint must be one of "chatCompletions", "chatText", not the text "chat"',
	},
	frequencyPenalty: {
		given: '-1.5',
		effect: { chatCompletion: { body: { frequency_penalty: -1.5 } } },
		wrong: true,
		error: 'Frequency Penalty must be a number from -2 to 2, not boolean true',
	},
	includeRateLimitStats: {
		given: 'true',
		effect: {
			chatCompletion: { output: { rateLimitStats: { responses429: 0 } } },
			textGenerate: { output: { rateLimitStats: { responses429: 0 } } },
			textGenerateViaChat: { output: { rateLimitStats: { responses429: 0 } } },
		},
		wrong: 'maybe',
		error: 'Include Rate Limit Stats must be true or false, not the text "maybe"',
	},
	jsonSchema: {
		with: { responseFormat: 'json_schema' },
		given: '{"type": "object"}',
		effect: { chatCompletion: { body: { response_format: { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' } } } } } },
		wrong: 5,
		error: 'JSON Schema must be a JSON object, not the number 5',
	},
	jsonSchemaName: {
		with: { responseFormat: 'json_schema', jsonSchema: '{"type": "object"}' },
		given: 42,
		effect: { chatCompletion: { body: { response_format: { type: 'json_schema', json_schema: { name: '42', schema: { type: 'object' } } } } } },
		wrong: { name: 'x' },
		error: 'JSON Schema Name must be text, not an object',
	},
	maxRetries: { given: '0', wrong: 11, error: 'Max Retries must be a whole number from 0 to 10, not the number 11' },
	maxTokens: {
		given: '300',
		effect: sampling({ max_tokens: 300 }),
		wrong: 'abc',
		error: 'Max Tokens must be a whole number of at least 1, not the text "abc"',
	},
	numberOfChoices: {
		given: '2',
		effect: { chatCompletion: { body: { n: 2 } } },
		wrong: 2.5,
		error: 'Number of Choices must be a whole number from 1 to 10, not the number 2.5',
	},
	outputField: { given: 42, wrong: { name: 'x' }, error: 'Put Output In Field must be text, not an object' },
	parseJsonOutput: {
		given: 'false',
		effect: { chatCompletion: { output: { content: 'Echo: Hello' } } },
		wrong: 'yes',
		error: 'Parse JSON Output must be true or false, not the text "yes"',
	},
	presencePenalty: {
		given: 0.5,
		effect: { chatCompletion: { body: { presence_penalty: 0.5 } } },
		wrong: '-3',
		error: 'Presence Penalty must be a number from -2 to 2, not the text "-3"',
	},
	promptTruncateLength: {
		with: { endpoint: 'chatText' },
		given: '100000',
		effect: { chatCompletion: { body: { prompt_truncate_len: 100000 }, output: { droppedMessages: 0 } } },
		wrong: 'lots',
		error: 'Prompt Truncate Length must be a whole number of at least 1, not the text "lots"',
	},
	reasoning: { given: 'strip', wrong: 'hide', error: 'Reasoning must be one of "separate", "strip", "inline", not the text "hide"' },
	responseFormat: {
		given: 'json_object',
		effect: { chatCompletion: { body: { response_format: { type: 'json_object' } } } },
		wrong: 'xml',
		error: 'Response Format must be one of "text", "json_object", "json_schema", not the text "xml"',
	},
	seed: { given: '7', effect: { chatCompletion: { body: { seed: 7 } } }, wrong: 1.5, error: 'Seed must be a whole number, not the number 1.5' },
	stop: {
		given: ['END', ' ### '],
		effect: sampling({ stop: ['END', '###'] }),
		wrong: { end: true },
		error: 'Stop Sequences must be comma-separated text or a list of texts, not an object',
	},
	stream: {
		given: 'false',
		effect: {
			chatCompletion: { absent: ['stream', 'stream_options'] },
			textGenerate: { absent: ['stream'] },
			textGenerateViaChat: { absent: ['stream', 'stream_options'] },
		},
		wrong: 'yes',
		error: 'Stream must be true or false, not the text "yes"',
	},
	stripNewLines: { given: 'false', wrong: 'maybe', error: 'Strip New Lines must be true or false, not the text "maybe"' },
	textTooLong: {
		given: 'fail',
		wrong: 'cut',
		error: 'Text Longer Than the Model\'s Context must be one of "truncate", "fail", not the text "cut"',
	},
	temperature: {
		given: '0.5',
		effect: sampling({ temperature: 0.5 }),
		wrong: 'abc',
		error: 'Temperature must be a number from 0 to 2, not the text "abc"',
	},
	timeout: { given: '30', wrong: 'soon', error: 'Timeout (Seconds) must be a number of at least 1, not the text "soon"' },
	toolChoice: {
		with: { tools: TOOL },
		given: 'required',
		effect: { chatCompletion: { body: { tools: [{ type: 'function', function: { name: 'get_time' } }], tool_choice: 'required' } } },
		wrong: 'sometimes',
		error: 'Tool Choice must be one of "auto", "none", "required", "function", not the text "sometimes"',
	},
	toolChoiceFunction: {
		with: { tools: TOOL, toolChoice: 'function' },
		given: 'get_time',
		effect: { chatCompletion: { body: { tool_choice: { type: 'function', function: { name: 'get_time' } } } } },
		wrong: ['get_time'],
		error: 'Tool Choice Function Name must be text, not an array',
	},
	tools: {
		given: '[{"name": "get_time"}]',
		effect: { chatCompletion: { body: { tools: [{ type: 'function', function: { name: 'get_time' } }] } } },
		wrong: 'get_time',
		error: expect.stringMatching(/^Tools is not valid JSON: /) as unknown as string,
	},
	topP: {
		given: 0.25,
		effect: sampling({ top_p: 0.25 }),
		wrong: [0.5],
		error: 'Top P must be a number from 0 to 1, not an array',
	},
};

/** The node types and how each one runs; Text Generate once per endpoint. */
const TARGETS = [
	{ target: 'chatCompletion', node: 'chatCompletion', type: 'nebulaBlockChat', parameters: {} },
	{ target: 'textGenerate', node: 'textGenerate', type: 'nebulaBlockTextGenerate', parameters: { endpoint: 'textGenerate' } },
	{ target: 'textGenerateViaChat', node: 'textGenerate', type: 'nebulaBlockTextGenerate', parameters: { endpoint: 'chatCompletions' } },
] as const;

const fake = useFakeNebula();

async function run(type: string, parameters: INodeParameters, options: INodeParameters, values: unknown[]) {
	const key = fake.newKey('walk');
	const outcome = await runNode({
		type: `n8n-nodes-nebula-block.${type}`,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messages: { values: [{ role: 'user', content: 'Hello' }] },
			prompt: 'Hello',
			options,
			...parameters,
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url, textGenerateUrl: fake.url } },
		inputItems: values.map((value) => ({ value }) as IDataObject),
		continueOnFail: true,
	});
	return { ...outcome, requests: fake.requests(key) };
}

function bodyOf(requests: RecordedRequest[]): IDataObject {
	expect(requests).toHaveLength(1);
	return requests[0].body as IDataObject;
}

describe('the walk covers the table', () => {
	it('has one case for every option, and nothing else', () => {
		expect(Object.keys(CASES).sort()).toEqual(Object.keys(OPTION_TABLE).sort());
	});

	it('lists an effect only for a node that offers the option, and every body key has one', () => {
		for (const [name, entry] of Object.entries(OPTION_TABLE)) {
			const effect = CASES[name as OptionName].effect ?? {};
			for (const target of Object.keys(effect)) {
				const node = target === 'textGenerateViaChat' ? 'textGenerate' : (target as OptionNode);
				expect([name, (entry.offeredBy as IDataObject)[node] !== undefined]).toEqual([name, true]);
			}
			const offeredBy = entry.offeredBy as Partial<Record<OptionNode, unknown>>;
			const sends = 'bodyKey' in entry || 'builtInto' in entry;
			if (sends && offeredBy.chatCompletion) expect([name, effect.chatCompletion]).toEqual([name, expect.anything()]);
			if (sends && offeredBy.textGenerate) expect([name, effect.textGenerate, effect.textGenerateViaChat]).toEqual([name, expect.anything(), expect.anything()]);
		}
	});
});

describe.each(TARGETS)('$target: every option from form value to request', ({ target, node, type, parameters }) => {
	let baseline: IDataObject;

	beforeAll(async () => {
		const { requests, error } = await run(type, parameters, {}, ['unused']);
		expect(error).toBeUndefined();
		baseline = bodyOf(requests);
	});

	const offered = optionsOf(node).map(({ name }) => name);

	it.each(offered)('%s', async (name) => {
		const walk = CASES[name];
		const options = { ...walk.with, [name]: '={{ $json.value }}' } as INodeParameters;
		const { items, error, requests } = await run(type, parameters, options, [walk.given, walk.wrong]);
		expect(error).toBeUndefined();
		// Number of Choices gives item 0 more than one result: find each item's by its pairing.
		const answered = items.find((item) => (item.pairedItem as { item: number }).item === 0);
		const failed = items.find((item) => (item.pairedItem as { item: number }).item === 1);

		// Item 0, a right value: the request holds it under its body key, and nothing else changed.
		const body = bodyOf(requests);
		const effect = walk.effect?.[target];
		if (effect?.path) expect(requests[0].path).toBe(effect.path);
		if (effect?.body) expect(body).toMatchObject(effect.body);
		for (const key of effect?.absent ?? []) expect(body).not.toHaveProperty(key);
		if (effect?.output) expect(answered?.json).toMatchObject(effect.output);
		if (!effect && walk.with === undefined) expect(body).toEqual(baseline);
		expect(answered?.json).not.toHaveProperty('error');

		// Item 1, a value of the wrong type: stopped before any request, with the field and the item named.
		expect(failed?.json).toEqual({ error: walk.error });
		const failure = failed?.error as NodeOperationError;
		expect(failure).toBeInstanceOf(NodeOperationError);
		expect(failure.context.itemIndex).toBe(1);
		expect(failure.description).toMatch(/\(item 1\)$/);
	});
});

describe('the options the item runner reads before any item runs', () => {
	it.each([
		['concurrency', 'many', 'Concurrency must be a whole number from 1 to 100, not the text "many"'],
		['batchDelay', '-5', 'Delay Between Batches (Milliseconds) must be a number of at least 0, not the text "-5"'],
		['concurrencyMode', 'fast', 'Concurrency Mode must be one of "auto", "fixed", not the text "fast"'],
		['includeRateLimitStats', 'maybe', 'Include Rate Limit Stats must be true or false, not the text "maybe"'],
	])('%s from item 0\'s expression is checked too: %j stops the node, naming the field, before any request', async (name, value, message) => {
		// Before, Concurrency "many" became NaN and failed inside Node's setMaxListeners.
		const { error, requests } = await run('nebulaBlockTextGenerate', {}, { [name]: '={{ $json.value }}' }, [value, 2]);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe(message);
		expect((error as NodeOperationError).context.itemIndex).toBe(0);
		expect(requests).toHaveLength(0);
	});
});

describe('Concurrency Mode', () => {
	it('Auto with Delay Between Batches stops the node before any request: batches need a fixed size', async () => {
		const { error, requests } = await run('nebulaBlockChat', {}, { concurrencyMode: 'auto', batchDelay: 100 }, ['a', 'b']);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe('Delay Between Batches needs Concurrency Mode Fixed');
		expect((error as NodeOperationError).description).toMatch(/set Concurrency Mode to Fixed/);
		expect(requests).toHaveLength(0);
	});
});

describe('chatModel: every option from form value to the fields of the model', () => {
	const node = { name: 'Nebula Block Chat Model' } as INode;
	const connection = { apiKey: 'nb-walk', baseUrl: 'https://example.test/v1', allowUnauthorizedCerts: false };
	/** Where each option lands: a model field (sent under the table's body key) or the client tuning. */
	const LANDS: Partial<Record<OptionName, (setup: ReturnType<typeof chatModelSetup>) => unknown>> = {
		maxTokens: (setup) => setup.config.maxTokens,
		temperature: (setup) => setup.config.temperature,
		topP: (setup) => setup.config.topP,
		frequencyPenalty: (setup) => setup.config.frequencyPenalty,
		presencePenalty: (setup) => setup.config.presencePenalty,
		responseFormat: (setup) => setup.config.additionalParams?.response_format,
		timeout: (setup) => [setup.config.timeout, setup.tuning.timeoutMs],
		maxRetries: (setup) => [setup.config.maxRetries, setup.tuning.maxRetries],
	};
	const EXPECTED: Partial<Record<OptionName, unknown>> = {
		maxTokens: 300,
		temperature: 0.5,
		topP: 0.25,
		frequencyPenalty: -1.5,
		presencePenalty: 0.5,
		responseFormat: { type: 'json_object' },
		timeout: [30_000, 30_000],
		// LangChain's own retries stay off; the OpenAI client does them.
		maxRetries: [0, 0],
	};

	const reader = (options: Record<string, unknown>) => ({
		getNode: () => node,
		getNodeParameter: ((name: string, _itemIndex: number, fallback: unknown) => (name === 'options' ? options : fallback)) as never,
	});

	it('offers exactly the options whose landing place is known', () => {
		expect(optionsOf('chatModel').map(({ name }) => name).sort()).toEqual(Object.keys(LANDS).sort());
	});

	it.each(optionsOf('chatModel').map(({ name }) => name))('%s', (name) => {
		const walk = CASES[name];
		const setup = chatModelSetup(connection, MODEL, readOptions(reader({ [name]: walk.given }), 0, 'chatModel'));
		expect((LANDS[name] as (s: typeof setup) => unknown)(setup)).toEqual(EXPECTED[name]);

		let caught: unknown;
		try {
			readOptions(reader({ [name]: walk.wrong }), 3, 'chatModel');
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(NodeOperationError);
		// The Chat Model offers only Text and JSON Object.
		const message = name === 'responseFormat' ? 'Response Format must be one of "text", "json_object", not the text "xml"' : walk.error;
		expect((caught as NodeOperationError).message).toEqual(message);
		expect((caught as NodeOperationError).context.itemIndex).toBe(3);
		expect((caught as NodeOperationError).description).toMatch(/\(item 3\)$/);
	});
});
