/**
 * The one clock of the package: every wait, timer and deadline goes through it, and no other file
 * under nodes/ touches Node's timers. That makes two things possible: tests move time by hand
 * (test/support/manual-clock.ts), and an edition that may not use Node's timers swaps this one
 * module at build time (n8n-workflow's own sleep behind it).
 */
import type { Clock, Timer } from './clockTypes';
import { cancelledError } from './transport/errors';

export type { Clock, Timer } from './clockTypes';

/** Node refuses a timer past 2^31 - 1 ms (about 24.8 days) and fires it at once: longer ones are re-armed. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

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
