import type { Clock } from '../../nodes/shared/clock';

/** A clock that moves only when told: timers run in time order as `advance` passes them. */
export class ManualClock implements Clock {
	private time = 0;
	/** The wall clock at time 0: 2026-01-01T12:00:00Z, so tests can read the times errors name. */
	readonly epochAtZero = Date.UTC(2026, 0, 1, 12, 0, 0);
	private sequence = 0;
	private timers: Array<{ at: number; order: number; run: () => void; cancelled: boolean }> = [];

	now(): number {
		return this.time;
	}

	wallNow(): number {
		return this.epochAtZero + this.time;
	}

	async sleep(ms: number, signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) throw signal.reason;
		await new Promise<void>((resolve, reject) => {
			const timer = this.setTimer(ms, () => {
				signal?.removeEventListener('abort', onAbort);
				resolve();
			});
			const onAbort = () => {
				timer.cancel();
				reject(signal?.reason);
			};
			signal?.addEventListener('abort', onAbort, { once: true });
		});
	}

	async nextTurn(): Promise<void> {
		await settle();
	}

	setTimer(ms: number, run: () => void): { cancel(): void } {
		const timer = { at: this.time + Math.max(0, ms), order: this.sequence++, run, cancelled: false };
		this.timers.push(timer);
		return { cancel: () => void (timer.cancelled = true) };
	}

	/** Runs every timer due within `ms`, letting promise callbacks settle after each. */
	async advance(ms: number): Promise<void> {
		const until = this.time + ms;
		for (;;) {
			await settle();
			this.timers = this.timers.filter((timer) => !timer.cancelled);
			this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
			const next = this.timers[0];
			if (next === undefined || next.at > until) break;
			this.timers.shift();
			this.time = Math.max(this.time, next.at);
			next.run();
		}
		this.time = until;
		await settle();
	}

	/** Runs timers until none are left (or `limitMs` of clock time passed). */
	async runAll(limitMs = 3_600_000): Promise<void> {
		const end = this.time + limitMs;
		while (this.time < end) {
			await settle();
			const pending = this.timers.filter((timer) => !timer.cancelled);
			if (pending.length === 0) return;
			const next = Math.min(...pending.map((timer) => timer.at));
			await this.advance(Math.max(0, next - this.time));
		}
	}

	get pendingTimers(): number {
		return this.timers.filter((timer) => !timer.cancelled).length;
	}
}

async function settle(): Promise<void> {
	for (let index = 0; index < 5; index++) await Promise.resolve();
}
