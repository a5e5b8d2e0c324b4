/**
 * One abort signal per item in flight, all aborted at once when the execution is cancelled or the
 * node stops. A signal shared by every item would carry a listener for each request and wait in
 * flight, past the ten Node warns about; raising that limit takes `node:events`, which an edition
 * n8n verifies may not import. A finished item's controller, never aborted and with every listener
 * removed by the code that added it, serves the next item: a new one per item cost about 1 KB
 * each, 10 MiB of garbage per 10,000 items (benchmark figure 6).
 */
export class ItemSignals {
	private readonly running = new Set<AbortController>();
	private readonly spare: AbortController[] = [];
	private readonly stopped = new AbortController();

	constructor(private readonly cancel: AbortSignal | undefined) {
		if (cancel?.aborted) this.stopped.abort(cancel.reason);
		else cancel?.addEventListener('abort', this.stop, { once: true });
	}

	/** Aborted when the run stops: for the waits between batches. */
	get runSignal(): AbortSignal {
		return this.stopped.signal;
	}

	/** A signal for one item, aborted already if the run has stopped. */
	open(): AbortController {
		if (this.stopped.signal.aborted) {
			const item = new AbortController();
			item.abort(this.stopped.signal.reason);
			return item;
		}
		const item = this.spare.pop() ?? new AbortController();
		this.running.add(item);
		return item;
	}

	/** The item is done: its controller serves the next one, unless it was aborted. */
	close(item: AbortController): void {
		if (this.running.delete(item) && !item.signal.aborted) this.spare.push(item);
	}

	/** Stops every item in flight and every item still to start. */
	readonly stop = (): void => {
		if (!this.stopped.signal.aborted) this.stopped.abort(this.cancel?.reason);
		for (const item of this.running) item.abort(this.stopped.signal.reason);
		this.running.clear();
	};

	dispose(): void {
		this.cancel?.removeEventListener('abort', this.stop);
	}
}
