/** The shape of the one clock (clock.ts, or clock.cloud.ts in the cloud edition). */

export interface Timer {
	cancel(): void;
}

export interface Clock {
	/** Milliseconds on a monotonic scale: for spans and deadlines, never shown. */
	now(): number;
	/** Milliseconds since the epoch: for telling a person when a wait ends. */
	wallNow(): number;
	/** Runs `run` once after `ms`; a limiter's wake-up never keeps n8n alive on its own where the clock can say so. */
	setTimer(ms: number, run: () => void): Timer;
	/** Resolves after `ms`; rejects with a cancelled-request error when `signal` aborts first. */
	sleep(ms: number, signal?: AbortSignal): Promise<void>;
	/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
	nextTurn(): Promise<void>;
}
