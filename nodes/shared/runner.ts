import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openChatStream } from './chatStream';
import { clock } from './clock';
import { ItemSignals } from './itemSignals';
import { readConnection, type NebulaConnection } from './connection';
import { readRunSettings } from './options/collection';
import type { RateLimitStats } from './transport/client';
import { toNodeError } from './transport/errors';

/** Everything an operation needs for one item, prepared once per execution by the runner. */
export interface ItemRun {
	itemIndex: number;
	connection: NebulaConnection;
	/** Aborted when the execution is cancelled, or when another item failed and the node stops. */
	signal: AbortSignal;
	/** Set when this node's answer streams to the chat (see chatStream.ts): call it with each text delta. */
	onDelta?: (text: string) => void;
	/** Concurrency Auto: the item's requests go through the limiter shared per credential and origin. */
	adaptive: boolean;
	/** The 429s this item's requests met and the time they waited, filled in by the transport. */
	stats: RateLimitStats;
}

/** One input item in, one or more results out (several with Number of Choices > 1). */
export type ItemOperation = (context: IExecuteFunctions, run: ItemRun) => Promise<IDataObject[]>;

/**
 * The one item loop of every node: runs the operation for each input item with bounded
 * concurrency (Fixed: that many at once; Auto: up to that many, the shared limiter letting their
 * requests go as fast as the service takes them), keeps input order, sets pairedItem, honours Continue On Fail, streams the answers
 * to the chat item by item (chatStream.ts), and turns every failure into an n8n error with its item.
 */
export async function runItems(context: IExecuteFunctions, operation: ItemOperation): Promise<INodeExecutionData[][]> {
	const items = context.getInputData();
	if (items.length === 0) return [[]];
	const connection = await readConnection(context);
	const { mode, concurrency, batchDelayMs, includeRateLimitStats } = readRunSettings(context);
	const chat = openChatStream(context);
	const continueOnFail = context.continueOnFail();

	const cancel = context.getExecutionCancelSignal();
	const signals = new ItemSignals(cancel);
	const results: INodeExecutionData[][] = new Array(items.length);

	const runOne = async (itemIndex: number): Promise<void> => {
		const itemSignal = signals.open();
		const run: ItemRun = { itemIndex, connection, signal: itemSignal.signal, adaptive: mode === 'auto', stats: { responses429: 0, waitedMs: 0 } };
		const withStats = (json: IDataObject): IDataObject =>
			includeRateLimitStats ? { ...json, rateLimitStats: { responses429: run.stats.responses429, waitedMs: Math.round(run.stats.waitedMs) } } : json;
		if (chat) {
			chat.begin(itemIndex);
			run.onDelta = (text) => chat.delta(itemIndex, text);
		}
		try {
			const outputs = await operation(context, run);
			results[itemIndex] = outputs.map((json) => ({ json: withStats(json), pairedItem: { item: itemIndex } }));
		} catch (caught) {
			const error = toNodeError(context.getNode(), caught, itemIndex);
			// A stopped execution is not an item failure: Continue On Fail must not turn it into data.
			if (!continueOnFail || cancel?.aborted) {
				signals.stop();
				throw error;
			}
			// n8n sends its own error chunk when the node throws; a continued item needs ours.
			chat?.error(itemIndex, error.message);
			// No rate limit stats here: n8n's engine replaces a failed item's json with { error }.
			results[itemIndex] = [{ json: { error: error.message }, error: error as never, pairedItem: { item: itemIndex } }];
		} finally {
			signals.close(itemSignal);
			chat?.end(itemIndex);
		}
	};

	try {
		if (batchDelayMs > 0) await runInBatches(items.length, concurrency, batchDelayMs, runOne, signals.runSignal);
		else await runPooled(items.length, concurrency, runOne);
	} finally {
		signals.dispose();
		await chat?.drain();
	}
	return [results.flat()];
}

/** A sliding window: a new item starts as soon as any finishes, so one slow answer holds up nothing. */
async function runPooled(count: number, concurrency: number, runOne: (index: number) => Promise<void>): Promise<void> {
	let next = 0;
	let failure: unknown;
	const worker = async () => {
		while (failure === undefined && next < count) {
			const index = next++;
			try {
				await runOne(index);
			} catch (error) {
				failure ??= error;
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
	if (failure !== undefined) throw failure;
}

/** Fixed batches with a pause between them, for services that limit requests per minute. */
async function runInBatches(
	count: number,
	batchSize: number,
	delayMs: number,
	runOne: (index: number) => Promise<void>,
	signal: AbortSignal,
): Promise<void> {
	for (let start = 0; start < count; start += batchSize) {
		if (start > 0) await pause(delayMs, signal);
		// The first item to fail stops its siblings, which then fail as cancelled: report the
		// failure that came first in time (as runPooled does), not the lowest item index.
		let failure: unknown;
		const batch = [];
		for (let index = start; index < Math.min(start + batchSize, count); index++) {
			batch.push(runOne(index).catch((error: unknown) => void (failure ??= error)));
		}
		await Promise.all(batch);
		if (failure !== undefined) throw failure;
	}
}

/** The Delay Between Batches; a cancel ends it early, and the next item then fails as cancelled. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
	await clock.sleep(ms, signal).catch(() => undefined);
}
