/**
 * Figure 7b, recovery after a rate limit: how soon Concurrency Mode Auto is back to its unlimited
 * speed once the service stops limiting. What Auto learns from a 429 (a pace, a window ceiling) is
 * forgotten after LEARNED_LIMIT_MEMORY_MS without another 429 (nodes/shared/transport/limiter.ts);
 * this measures what that means for a workflow that keeps sending items.
 *
 * The same workflow as figure 7 (the Chat Completion node, Auto, Continue On Fail, default Max
 * Retries, through n8n-core's engine; the fake server in its own process, `rateLimitLatencyMs` per
 * answer) runs executions of `recoveryBatchItems` items one after another, on one API key, so the
 * key's limiter carries over from one execution to the next:
 * 1. unlimited: a key of its own, no limit, for `recoveryUnlimitedMs`; its throughput after the
 *    first window (slow start) is the reference;
 * 2. burst: another key, limited to R requests/s with burst B (figure 7's limit) for
 *    `recoveryBurstMs`, so Auto meets 429s and learns a pace; then until the limiter's next 429
 *    (at most LIFT_WAIT_MAX_MS more), so the lift comes when what it learned is freshest: the
 *    slowest case, as the forgetting counts from the last 429;
 * 3. lift: the key's limit is lifted while the executions go on, for `recoveryObserveMs`; the last
 *    execution is cancelled at the end.
 * Throughput is what the server accepted, in consecutive windows of `recoveryWindowMs` after the
 * lift, over the unlimited reference; plus the first time the throughput over the last window
 * reached 0.9 of it. The limiter's state (`limiterFor(origin, key).state()`) is sampled every
 * second, for whoever has to explain the curve. Ratios only: nothing here asserts on timing.
 */
import type { IDataObject } from 'n8n-workflow';

import { countFailed, runExecution } from './rateLimit';
import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { packageModule, questionItems, round, sleep, type BenchConfig } from './support';

/** The share of the unlimited throughput that counts as recovered (the product owner's target). */
export const RECOVERED_SHARE = 0.9;
/** The longest the recovery may take, in s after the lift (the product owner's target). */
export const RECOVERY_TARGET_S = 60;
const SAMPLE_EVERY_MS = 1000;
/** After the burst's time, how long the lift waits for a 429 at most. */
const LIFT_WAIT_MAX_MS = 20_000;
const POLL_MS = 20;
/** Step of the sliding window that finds the first time the throughput reached RECOVERED_SHARE. */
const SLIDE_STEP_MS = 500;

export interface LimiterSample {
	/** s since the lift (negative: during the burst). */
	atS: number;
	window: number;
	/** The pace in requests/s; absent when it paces at nothing (no limit learned, or forgotten). */
	rate?: number;
	inFlight: number;
	waiting: number;
	pausedForMs: number;
	/** 429s the limiter has seen so far. */
	rateLimited: number;
}

export interface RecoveryWindow {
	/** s after the lift. */
	fromS: number;
	toS: number;
	accepted: number;
	perSecond: number;
	vsUnlimited: number;
	/** The limiter's state at the window's end. */
	limiterAtEnd?: LimiterSample;
}

export interface RecoveryResult {
	requestsPerSecond: number;
	burst: number;
	latencyMs: number;
	batchItems: number;
	windowMs: number;
	unlimited: {
		durationMs: number;
		/** Accepted per second after the first window: the reference. */
		perSecond: number;
		/** Accepted per second in each window, the first (slow start) included. */
		windows: number[];
		failedItems: number;
	};
	burstPhase: {
		durationMs: number;
		accepted: number;
		/** Accepted per second over R. */
		throughputVsLimit: number;
		/** 429s the server sent while the limit was on. */
		rateLimited: number;
		/** ms from the last 429 the limiter saw to the lift (to POLL_MS); null: it saw none within LIFT_WAIT_MAX_MS after the burst's time. */
		lastRateLimitBeforeLiftMs: number | null;
	};
	observeMs: number;
	windows: RecoveryWindow[];
	/** s after the lift when the throughput over the last `windowMs` first reached RECOVERED_SHARE of unlimited; null: not within `observeMs`. */
	secondsToRecovered: number | null;
	/** 429s the server sent after the lift (none expected: there is no limit). */
	rateLimitedAfterLift: number;
	/** Items of the finished executions that ran out of retries, burst and after the lift. */
	failedItems: number;
	executions: number;
	limiterSamples: LimiterSample[];
}

type LimiterState = ReturnType<ReturnType<typeof import('../../dist/nodes/shared/transport/limiters')['limiterFor']>['state']>;

export async function measureRecovery(config: BenchConfig): Promise<RecoveryResult> {
	const { rateLimitRequestsPerSecond: requestsPerSecond, rateLimitBurst: burst, rateLimitLatencyMs: latencyMs, rateLimitHeaders: sendHeaders } = config;
	const { recoveryBatchItems: batchItems, recoveryWindowMs: windowMs, recoveryUnlimitedMs: unlimitedMs, recoveryBurstMs: burstMs, recoveryObserveMs: observeMs } = config;
	// No limit for the server: the burst's limit is the tier of its key alone, so it can be lifted.
	const server = await startServerProcess({ latencyMs });
	const limiters = packageModule<typeof import('../../dist/nodes/shared/transport/limiters')>(config, 'dist/nodes/shared/transport/limiters');
	const origin = new URL(server.url).origin;
	const items = questionItems(batchItems);
	try {
		// Loads n8n-core and the package: not measured.
		await runExecution(config, server, await server.newKey('warm-up'), items.slice(0, 4), { label: 'warm-up', concurrency: 2 });

		// 1. Unlimited.
		const unlimitedKey = await server.newKey('recovery-unlimited');
		const unlimitedStart = Date.now();
		const unlimitedRun = keepSending(config, server, unlimitedKey, items);
		await sleep(unlimitedMs);
		const unlimitedFailed = await unlimitedRun.stop();
		const unlimitedEnd = unlimitedStart + unlimitedMs;
		const unlimitedTimes = (await server.rateLimitStats(unlimitedKey)).acceptedAt;
		const unlimitedWindows = windowsOf(unlimitedTimes, unlimitedStart, unlimitedEnd, windowMs).map((count) => count / (windowMs / 1000));
		const steadyFrom = Math.min(unlimitedStart + windowMs, unlimitedEnd - windowMs);
		const unlimitedPerSecond = countIn(unlimitedTimes, steadyFrom, unlimitedEnd) / ((unlimitedEnd - steadyFrom) / 1000);
		// The cancelled execution's requests end before the next phase starts.
		await sleep(latencyMs * 2 + 300);

		// 2. Burst, then 3. lift.
		const key = await server.newKey('recovery');
		await server.setRateLimit({ requestsPerSecond, burst, sendHeaders }, key);
		const limiter = limiters.limiterFor(origin, key);
		const samples: Array<{ at: number; state: LimiterState }> = [];
		const sampler = setInterval(() => samples.push({ at: Date.now(), state: limiter.state() }), SAMPLE_EVERY_MS);
		const burstStart = Date.now();
		const run = keepSending(config, server, key, items);
		await sleep(burstMs);
		// Lifted at the limiter's next 429: what it learned is as fresh as it gets, the slowest case.
		const lastBefore = await nextRateLimit(limiter, LIFT_WAIT_MAX_MS);
		const liftedAt = await server.setRateLimit(undefined, key);
		const atLift = await server.rateLimitStats(key);
		// Samples at each window's end, from the lift on.
		await sleep(Math.max(0, liftedAt + observeMs - Date.now()));
		samples.push({ at: Date.now(), state: limiter.state() });
		clearInterval(sampler);
		const failedItems = await run.stop();
		const stats = await server.rateLimitStats(key);

		const sampleOf = ({ at, state }: { at: number; state: LimiterState }): LimiterSample => ({
			atS: round((at - liftedAt) / 1000, 1),
			window: round(state.window, 2),
			...(state.rate !== undefined && { rate: round(state.rate, 2) }),
			inFlight: state.inFlight,
			waiting: state.waiting,
			pausedForMs: Math.round(state.pausedForMs),
			rateLimited: state.rateLimited,
		});
		const limiterSamples = samples.map(sampleOf);
		const windows = windowsOf(stats.acceptedAt, liftedAt, liftedAt + observeMs, windowMs).map((accepted, index): RecoveryWindow => {
			const toMs = (index + 1) * windowMs;
			const atEnd = [...limiterSamples].reverse().find((sample) => sample.atS * 1000 <= toMs + SAMPLE_EVERY_MS / 2);
			const perSecond = accepted / (windowMs / 1000);
			return {
				fromS: (index * windowMs) / 1000,
				toS: toMs / 1000,
				accepted,
				perSecond: round(perSecond, 1),
				vsUnlimited: round(perSecond / unlimitedPerSecond, 3),
				...(atEnd && { limiterAtEnd: atEnd }),
			};
		});
		let secondsToRecovered: number | null = null;
		for (let at = windowMs; at <= observeMs; at += SLIDE_STEP_MS) {
			const perSecond = countIn(stats.acceptedAt, liftedAt + at - windowMs, liftedAt + at) / (windowMs / 1000);
			if (perSecond >= RECOVERED_SHARE * unlimitedPerSecond) {
				secondsToRecovered = at / 1000;
				break;
			}
		}
		const burstAccepted = countIn(stats.acceptedAt, burstStart, liftedAt);
		const rateLimitedAtLift = atLift.rejected.rate + atLift.rejected.concurrency;
		return {
			requestsPerSecond,
			burst,
			latencyMs,
			batchItems,
			windowMs,
			unlimited: {
				durationMs: unlimitedMs,
				perSecond: round(unlimitedPerSecond, 1),
				windows: unlimitedWindows.map((value) => round(value, 1)),
				failedItems: unlimitedFailed.failed,
			},
			burstPhase: {
				durationMs: liftedAt - burstStart,
				accepted: burstAccepted,
				throughputVsLimit: round(burstAccepted / ((liftedAt - burstStart) / 1000) / requestsPerSecond, 3),
				rateLimited: rateLimitedAtLift,
				lastRateLimitBeforeLiftMs: lastBefore === undefined ? null : Math.max(0, liftedAt - lastBefore),
			},
			observeMs,
			windows,
			secondsToRecovered,
			rateLimitedAfterLift: stats.rejected.rate + stats.rejected.concurrency - rateLimitedAtLift,
			failedItems: failedItems.failed,
			executions: failedItems.executions,
			limiterSamples,
		};
	} finally {
		await server.close();
	}
}

/**
 * Runs executions of `items` one after another on `key` until stopped; `stop()` cancels the one
 * running and resolves with the failed items of the finished ones (a cancelled execution's items
 * are not counted: they were cut short on purpose).
 */
function keepSending(config: BenchConfig, server: RemoteFakeNebula, key: string, items: IDataObject[]): { stop(): Promise<{ failed: number; executions: number }> } {
	const controller = new AbortController();
	const label = 'Auto, recovery';
	const loop = (async () => {
		let failed = 0;
		let executions = 0;
		while (!controller.signal.aborted) {
			try {
				const output = await runExecution(config, server, key, items, { label, concurrency: 'auto' }, controller.signal);
				if (controller.signal.aborted) break;
				failed += countFailed(output, items, label);
				executions++;
			} catch (error) {
				if (controller.signal.aborted) break;
				throw error;
			}
		}
		return { failed, executions };
	})();
	// Until stop() is called nobody awaits the loop: an error must not go unhandled meanwhile.
	loop.catch(() => undefined);
	return {
		stop: () => {
			controller.abort();
			return loop;
		},
	};
}

/** Resolves when the limiter has seen one more 429 (with the time it saw it), or after `maxMs` with undefined. */
async function nextRateLimit(limiter: { state(): LimiterState }, maxMs: number): Promise<number | undefined> {
	const seen = limiter.state().rateLimited;
	const until = Date.now() + maxMs;
	while (Date.now() < until) {
		await sleep(POLL_MS);
		if (limiter.state().rateLimited > seen) return Date.now();
	}
	return undefined;
}

function countIn(times: number[], from: number, to: number): number {
	let count = 0;
	for (const at of times) if (at >= from && at < to) count++;
	return count;
}

/** Counts of `times` in consecutive windows of `windowMs` from `from` to `to` (a last, partial window is left out). */
function windowsOf(times: number[], from: number, to: number, windowMs: number): number[] {
	const count = Math.floor((to - from) / windowMs);
	return Array.from({ length: count }, (_, index) => countIn(times, from + index * windowMs, from + (index + 1) * windowMs));
}
