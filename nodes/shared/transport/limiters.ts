/**
 * Module state beside the dispatcher cache (dispatcher.ts): one adaptive limiter (limiter.ts) per
 * credential and origin, shared by every item and every execution of this n8n process that uses
 * Concurrency Auto. Keyed by the origin and a SHA-256 digest of the API key, never the key itself,
 * so the key is not kept or shown here. Each n8n process (each worker in queue mode) has its own.
 */
import { createHash } from 'node:crypto';

import { clock as realClock, type Clock } from '../clock';
import { AdaptiveLimiter } from './limiter';

const limiters = new Map<string, AdaptiveLimiter>();
/** Limiters idle this long are dropped when a new one is made, so credentials that are gone leave nothing behind. */
const IDLE_DROP_MS = 10 * 60_000;

export function limiterFor(origin: string, apiKey: string, clock: Clock = realClock): AdaptiveLimiter {
	return registered(origin, digestOf(apiKey), clock);
}

/** The limiters of one API key by origin, for a caller that sends many requests with it: the key is hashed once. */
export function limitersOf(apiKey: string, clock: Clock = realClock): (origin: string) => AdaptiveLimiter {
	const digest = digestOf(apiKey);
	return (origin) => registered(origin, digest, clock);
}

/** What the registry is keyed by (origin and key digest), for tests that check no key is kept. */
export function registryKeys(): string[] {
	return [...limiters.keys()];
}

function digestOf(apiKey: string): string {
	return createHash('sha256').update(apiKey).digest('base64url').slice(0, 22);
}

function registered(origin: string, digest: string, clock: Clock): AdaptiveLimiter {
	const key = `${origin} ${digest}`;
	let limiter = limiters.get(key);
	if (!limiter) {
		dropIdle(clock.now());
		limiter = new AdaptiveLimiter(clock);
		limiters.set(key, limiter);
	}
	return limiter;
}

function dropIdle(now: number): void {
	for (const [key, limiter] of limiters) if (limiter.idle && now - limiter.lastUsedAt > IDLE_DROP_MS) limiters.delete(key);
}
