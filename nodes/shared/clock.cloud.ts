/**
 * The cloud edition's clock (it replaces clock.ts there): a package n8n verifies may not touch
 * Node's timers, so every wait runs on n8n-workflow's own abortable sleep, found by feature:
 * `sleepWithAbort(ms, signal)` up to n8n 2.33, `sleep(ms, signal)` from 2.34 on.
 */
import * as workflow from 'n8n-workflow';

import type { Clock } from './clockTypes';
import { cancelledError } from './transport/errors';

export type { Clock, Timer } from './clockTypes';

type AbortableSleep = (ms: number, signal?: AbortSignal) => Promise<void>;

const n8nSleep: AbortableSleep =
	(workflow as unknown as { sleepWithAbort?: AbortableSleep }).sleepWithAbort ?? (workflow.sleep as unknown as AbortableSleep);

/** Node fires a timer past 2^31 - 1 ms (about 24.8 days) at once: a longer wait is slept in parts. */
const LONGEST_SLEEP_MS = 2 ** 31 - 1;

async function sleepFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
	for (let left = ms; left > 0; left -= LONGEST_SLEEP_MS) {
		try {
			await n8nSleep(Math.min(left, LONGEST_SLEEP_MS), signal);
		} catch {
			throw cancelledError();
		}
		if (signal?.aborted) throw cancelledError();
	}
}

export const clock: Clock = {
	now: () => performance.now(),
	wallNow: () => Date.now(),
	setTimer(ms, run) {
		const cancel = new AbortController();
		sleepFor(Math.max(0, ms), cancel.signal).then(run, () => undefined);
		return { cancel: () => cancel.abort() };
	},
	async sleep(ms, signal) {
		if (signal?.aborted) throw cancelledError();
		await sleepFor(ms, signal);
	},
	// A zero sleep is a macrotask: the turn after pending I/O callbacks, as setImmediate gives.
	nextTurn: async () => await n8nSleep(0),
};
