/**
 * Each item in flight has its own abort signal (nodes/shared/itemSignals.ts): a hundred items at
 * once put one listener on the execution's cancel signal, not one per request and wait, so Node
 * never warns of a leak; and cancelling, or the node stopping, still reaches every item.
 */
import { getEventListeners } from 'node:events';

import type { IDataObject } from 'n8n-workflow';

import { ItemSignals } from '../../nodes/shared/itemSignals';
import { useFakeNebula } from '../support/fake-for-node-tests';
import { createGate, type Step } from '../support/fake-nebula';
import { runNode } from '../support/n8n-harness';

const fake = useFakeNebula();

async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('item signals', () => {
	it('one listener on the cancel signal for any number of items; a cancel aborts each, and items opened after it start aborted', () => {
		const cancel = new AbortController();
		const signals = new ItemSignals(cancel.signal);
		const items = Array.from({ length: 100 }, () => signals.open());
		expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(1);
		signals.close(items[0]);
		cancel.abort(new Error('stopped by the user'));
		expect(items.slice(1).every((item) => item.signal.aborted)).toBe(true);
		// Closed before the cancel: that item was done and is left alone.
		expect(items[0].signal.aborted).toBe(false);
		expect(signals.open().signal.aborted).toBe(true);
		expect(signals.runSignal.aborted).toBe(true);
		signals.dispose();
		expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0);
	});

	it('a finished item\'s controller serves the next item; an aborted one never does', () => {
		const signals = new ItemSignals(undefined);
		const first = signals.open();
		signals.close(first);
		expect(signals.open()).toBe(first);
		const second = signals.open();
		second.abort();
		signals.close(second);
		expect(signals.open()).not.toBe(second);
	});

	it('stop() aborts every item in flight and to come (another item failed)', () => {
		const signals = new ItemSignals(undefined);
		const first = signals.open();
		signals.stop();
		expect(first.signal.aborted).toBe(true);
		expect(signals.open().signal.aborted).toBe(true);
	});
});

it('a hundred items in flight at once through the node are all answered', async () => {
	const key = fake.newKey('hundred');
	const gate = createGate();
	fake.script(key, ...Array.from({ length: 100 }, (): Step => ({ kind: 'gate', afterChunks: 1, gate })));
	const inputs: IDataObject[] = Array.from({ length: 100 }, (_, index) => ({ question: `Question ${index}` }));
	const running = runNode({
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		parameters: {
			model: { __rl: true, mode: 'id', value: 'fake/model' },
			messagesSource: 'define',
			messages: { values: [{ role: 'user', content: '={{ $json.question }}' }] },
			options: { concurrencyMode: 'fixed', concurrency: 100 },
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url } },
		inputItems: inputs,
	});
	await until(() => fake.inFlightNow(key) === 100);
	gate.release();
	const result = await running;
	expect(result.error).toBeUndefined();
	expect(result.items.map((item) => item.json.content)).toEqual(inputs.map((input) => `Echo: ${String(input.question)}`));
});
