/** Wall time of a suite's slow steps, for its log: printed, never asserted (these machines are shared and noisy). */
export class StepTimer {
	readonly lines: string[] = [];

	async time<T>(label: string, work: () => Promise<T>): Promise<T> {
		const started = Date.now();
		try {
			return await work();
		} finally {
			this.lines.push(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
		}
	}
}
