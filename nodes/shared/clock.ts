/**
 * The one clock of the package: every wait, timer and deadline goes through it, and no other file
 * under nodes/ touches Node's timers. That makes two things possible: tests move time by hand
 * (test/support/manual-clock.ts), and an edition that may not use Node's timers swaps this one
 * module at build time (n8n-workflow's own sleep behind it).
 */
import { NebulaBlockError } from './transport/errors';

export interface Timer {
	cancel(): void;
}

export interface Clock {
	/** Milliseconds on a monotonic scale: for spans and deadlines, never shown. */
	now(): number;
	/** Milliseconds since the epoch: for telling a person when a wait ends. */
	wallNow(): number;
	/** Runs `run` once after `ms`; a timer never keeps n8n alive on its own. */
	setTimer(ms: number, run: () => void): Timer;
	/** Resolves after `ms`; rejects with a cancelled-request error when `signal` aborts first. */
	sleep(ms: number, signal?: AbortSignal): Promise<void>;
	/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
	nextTurn(): Promise<void>;
}

/** Node refuses a timer past 2^31 - 1 ms (about 24.8 days) and fires it at once: longer ones are re-armed. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export function cancelledError(): NebulaBlockError {
	return new NebulaBlockError({ kind: 'aborted', message: 'The request was cancelled' });
}

function nodeTimer(ms: number, run: () => void, keepAlive = false): Timer {
	let handle: NodeJS.Timeout;
	const due = performance.now() + Math.max(0, ms);
	const arm = (left: number) => {
		handle = setTimeout(() => {
			const rest = due - performance.now();
			if (rest > 1) arm(rest);
			else run();
		}, Math.min(LONGEST_TIMER_MS, Math.max(0, left)));
		// A limiter's wake-up must not keep n8n (or a test) alive by itself; a sleep someone awaits does.
		if (!keepAlive) handle.unref?.();
	};
	arm(ms);
	return { cancel: () => clearTimeout(handle) };
}

export const clock: Clock = {
	now: () => performance.now(),
	wallNow: () => Date.now(),
	setTimer: (ms, run) => nodeTimer(ms, run),
	async sleep(ms, signal) {
		if (signal?.aborted) throw cancelledError();
		if (ms <= 0) return;
		await new Promise<void>((resolve, reject) => {
			const onAbort = () => {
				timer.cancel();
				reject(cancelledError());
			};
			const timer = nodeTimer(
				ms,
				() => {
					signal?.removeEventListener('abort', onAbort);
					resolve();
				},
				true,
			);
			signal?.addEventListener('abort', onAbort, { once: true });
		});
	},
	nextTurn: async () => await new Promise<void>((resolve) => setImmediate(resolve)),
};
