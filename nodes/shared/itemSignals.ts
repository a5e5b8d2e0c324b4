/**
 * One abort signal per item in flight, all aborted at once when the execution is cancelled or the
 * node stops. A signal shared by every item would carry a listener for each request and wait in
 * flight, past the ten Node warns about; raising that limit takes `node:events`, which an edition
 * n8n verifies may not import.
 */
export class ItemSignals {
	private readonly running = new Set<AbortController>();
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
		const item = new AbortController();
		if (this.stopped.signal.aborted) item.abort(this.stopped.signal.reason);
		else this.running.add(item);
		return item;
	}

	close(item: AbortController): void {
		this.running.delete(item);
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
