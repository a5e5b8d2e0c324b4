/**
 * How the Chat Completion node fails, in n8n-core's engine against the fake server: which failure
 * the item runner reports, Delay Between Batches, the chunks and cancellation rules Continue On
 * Fail must not change, and the Timeout as a user sets it. Run `npm run build` first.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { NodeApiError } from 'n8n-workflow';
import type { IDataObject, INodeParameters, StructuredChunk } from 'n8n-workflow';

import { OPTION_TABLE } from '../../nodes/shared/options/table';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../nodes/shared/transport/client';
import { useFakeNebula } from '../support/fake-for-node-tests';
import type { Step } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';

const TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
const MODEL = 'fake/chat-model';
const UNKNOWN_MODEL = 'nobody/unknown';

const fake = useFakeNebula();

interface Run {
	key?: string;
	options?: INodeParameters;
	inputItems: IDataObject[];
	continueOnFail?: boolean;
	onChunk?: (chunk: StructuredChunk) => void;
	signal?: AbortSignal;
	baseUrl?: string;
}

/** Each input item names its model and its question, so one item can fail on its own. */
async function run(opts: Run) {
	const key = opts.key ?? fake.newKey('runner');
	const outcome = await runNode({
		type: TYPE,
		parameters: {
			model: { __rl: true, mode: 'id', value: '={{ $json.model }}' },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: '={{ $json.question }}' }] },
			options: opts.options ?? {},
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: opts.baseUrl ?? fake.url } },
		inputItems: opts.inputItems,
		continueOnFail: opts.continueOnFail,
		onChunk: opts.onChunk,
		signal: opts.signal,
	});
	return { ...outcome, key, requests: fake.requests(key) };
}

/** A streamed answer of 40 words, one every 100 ms: still running when anything else fails. */
const slowAnswer: Step[] = [
	{ kind: 'drip', intervalMs: 100 },
	{ kind: 'reply', content: Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ') },
];

describe('the failure the node reports', () => {
	// Item 0 is still streaming when item 1 fails with the service's 404; stopping the node
	// cancels item 0, and that cancellation is not what went wrong.
	it.each([
		['with Delay Between Batches', { batchDelay: 50 }],
		['without a batch delay', {}],
	])('is the first real failure, on its own item, %s', async (_name, options) => {
		const key = fake.newKey('first-failure');
		fake.script(key, slowAnswer, slowAnswer);
		const { error, items } = await run({
			key,
			inputItems: [
				{ model: MODEL, question: 'a long answer' },
				{ model: UNKNOWN_MODEL, question: 'x' },
			],
			options: { concurrency: 2, maxRetries: 0, ...options },
		});
		expect(items).toEqual([]);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe(`The model \`${UNKNOWN_MODEL}\` does not exist.`);
		expect((error as NodeApiError).httpCode).toBe('404');
		expect((error as NodeApiError).context.itemIndex).toBe(1);
		expect(fake.maxInFlight(key)).toBe(2);
	});
});

describe('Delay Between Batches', () => {
	it('sends Concurrency items at a time and pauses at least the delay before the next batch', async () => {
		const key = fake.newKey('batches');
		const delayMs = 400;
		const questions = ['one', 'two', 'three', 'four', 'five'];
		// Each answer takes a moment, so the two of a batch are in flight together.
		fake.script(key, ...questions.map((): Step => ({ kind: 'delayHeaders', ms: 100 })));
		const { error, items, requests } = await run({
			key,
			inputItems: questions.map((question) => ({ model: MODEL, question })),
			options: { concurrency: 2, batchDelay: delayMs },
		});
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json.content)).toEqual(questions.map((question) => `Echo: ${question}`));
		expect(fake.maxInFlight(key)).toBe(2);
		expect(requests).toHaveLength(5);
		// Batches [0, 1], [2, 3], [4]: the third and fifth requests each wait for a pause.
		const at = requests.map((request) => request.at);
		expect(at[2] - Math.max(at[0], at[1])).toBeGreaterThanOrEqual(delayMs);
		expect(at[4] - Math.max(at[2], at[3])).toBeGreaterThanOrEqual(delayMs);
	});
});

describe('Continue On Fail', () => {
	it('sends begin, error and end for a failed item while n8n streams the answer', async () => {
		const chunks: StructuredChunk[] = [];
		const { error, items } = await run({
			continueOnFail: true,
			inputItems: [
				{ model: MODEL, question: 'fine' },
				{ model: UNKNOWN_MODEL, question: 'x' },
			],
			options: { concurrency: 1, maxRetries: 0 },
			onChunk: (chunk) => chunks.push(chunk),
		});
		expect(error).toBeUndefined();
		expect(items.map((item) => item.json)).toEqual([
			expect.objectContaining({ content: 'Echo: fine' }),
			{ error: `The model \`${UNKNOWN_MODEL}\` does not exist.` },
		]);
		const failed = chunks.filter((chunk) => chunk.metadata.itemIndex === 1);
		expect(failed.map((chunk) => [chunk.type, chunk.content])).toEqual([
			['begin', undefined],
			['error', `The model \`${UNKNOWN_MODEL}\` does not exist.`],
			['end', undefined],
		]);
	});

	it('does not turn a cancelled execution into data', async () => {
		const key = fake.newKey('cancel-continue');
		fake.script(key, slowAnswer);
		const controller = new AbortController();
		const { error, items } = await run({
			key,
			continueOnFail: true,
			inputItems: [
				{ model: MODEL, question: 'first' },
				{ model: MODEL, question: 'second' },
			],
			options: { concurrency: 1 },
			signal: controller.signal,
			onChunk: (chunk) => {
				// Cancel once the answer is streaming.
				if (chunk.type === 'item' && !controller.signal.aborted) controller.abort();
			},
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('The request was cancelled');
		expect((error as NodeApiError).description).toBe('The execution was stopped.');
		// n8n passes the input through for a node that throws under Continue On Fail; what must
		// not be there is an item the node made of the cancellation.
		expect(items.map((item) => item.json)).toEqual([
			{ model: MODEL, question: 'first' },
			{ model: MODEL, question: 'second' },
		]);
		// The second item was never sent: the cancellation stopped the node, not one item.
		expect(fake.requests(key)).toHaveLength(1);
	});
});

describe('Timeout', () => {
	it('limits the wait for the first token of a stream whose headers came at once', async () => {
		const key = fake.newKey('first-token');
		fake.script(key, { kind: 'firstTokenDelay', ms: 3000 });
		const { error, items } = await run({ key, inputItems: [{ model: MODEL, question: 'slow start' }], options: { timeout: 1 } });
		expect(items).toEqual([]);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('The service did not start the answer within the timeout (1 s): the stream opened, but no token came');
		expect((error as NodeApiError).description).toMatch(/^No answer in time: raise the Timeout option/);
		expect(fake.requests(key)).toHaveLength(1);
	});

	it('says in its description what it limits, and what the idle limit is', () => {
		const description = String(OPTION_TABLE.timeout.field.description);
		expect(description).toContain('until its first token arrives');
		expect(description).toContain('until the whole answer is there');
		expect(description).toContain(`a silence of more than ${DEFAULT_IDLE_TIMEOUT_MS / 60_000} minutes`);
	});
});

describe('connection failures', () => {
	it('keep the cause in the message (not only a generic sentence) and the hint in the description', async () => {
		const closed = http.createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const port = (closed.address() as AddressInfo).port;
		await new Promise<void>((resolve) => closed.close(() => resolve()));
		const { error } = await run({
			baseUrl: `http://127.0.0.1:${port}/v1`,
			inputItems: [{ model: MODEL, question: 'anyone there?' }],
			options: { maxRetries: 0 },
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe(`Could not reach the service: connect ECONNREFUSED 127.0.0.1:${port}`);
		expect((error as NodeApiError).description).toBe(
			'Could not reach the service: check the Base URL in the credential and that this n8n instance can reach it. (code ECONNREFUSED)',
		);
	});

	it('report a stream cut off after it began as an answer cut short, with a hint to run the item again', async () => {
		const key = fake.newKey('cut');
		fake.script(key, { kind: 'destroy', afterChunks: 2 });
		const { error } = await run({ key, inputItems: [{ model: MODEL, question: 'one two three four' }] });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.message).toBe('The connection ended before the answer was complete (other side closed)');
		expect((error as NodeApiError).description).toMatch(/^The service was reached, but the answer was cut off \(.*\): try again\./);
		expect(fake.requests(key)).toHaveLength(1);
	});
});
