/**
 * Hints that must fit every node and every state they can be shown in: the Chat Model has no
 * Concurrency or Delay Between Batches, only the Chat Completion node has Prompt Truncate Length,
 * Stream is on by default, and an error in the middle of a stream is never retried.
 */
import type { NodeApiError } from 'n8n-workflow';

import { httpFailure, rateLimitExhausted, streamFailure, timeoutFailure, toNodeError } from '../../nodes/shared/transport/errors';
import { packageNode } from '../support/node-fixture';

const chatModel = packageNode('lmChatNebulaBlock', 'Nebula Block Chat Model');

function hintOf(failure: Parameters<typeof toNodeError>[1]): string {
	return (toNodeError(chatModel, failure, 0) as NodeApiError).description ?? '';
}

describe('hints that fit the node and the state', () => {
	it('a bare rate limit names only what every node has (Max Retries, Timeout, the account), never Concurrency or batches', () => {
		const coded = hintOf(httpFailure({ status: 429, body: { error: { message: 'Slow down', code: 'rate_limit_exceeded' } }, secrets: [] }));
		expect(coded).toMatch(/^You hit your plan's rate limit: raise Max Retries or the Timeout to wait longer, or ask Nebula Block for a higher tier\./);
		const bare = hintOf(httpFailure({ status: 429, body: 'Too Many Requests', secrets: [] }));
		expect(bare).toMatch(/^Too many requests: raise Max Retries or the Timeout to wait longer/);
		for (const hint of [coded, bare]) expect(hint).not.toMatch(/Concurrency|Delay Between Batches/);
	});

	it('a rate limit after all tries says what Auto did and what to change, and Fixed advice only under Fixed', () => {
		const failure = httpFailure({ status: 429, body: { error: { message: 'Slow down', code: 'rate_limit_exceeded' } }, secrets: [] });
		const underAuto = rateLimitExhausted(failure, { adaptive: true, tries: 9, waitedMs: 63_000 }).hint;
		expect(underAuto).toMatch(/^Sent this request 9 times over 63 s of waiting, pausing every request on this API key/);
		expect(underAuto).toMatch(/Raise Max Retries .* or the Timeout/);
		expect(underAuto).toMatch(/higher tier/);
		// Also shown by the Chat Model, which has no Concurrency options at all.
		expect(underAuto).not.toMatch(/Concurrency|Delay Between Batches/);
		const underFixed = rateLimitExhausted(failure, { adaptive: false, tries: 3, waitedMs: 400 }).hint;
		expect(underFixed).toMatch(/^Sent this request 3 times; the service still refused\. Raise Max Retries, lower Concurrency or add a Delay Between Batches/);
		// The service's own words and code stay.
		expect(rateLimitExhausted(failure, { adaptive: true, tries: 1, waitedMs: 0 })).toMatchObject({ message: 'Slow down', status: 429, code: 'rate_limit_exceeded' });
	});

	it('a context overflow names Prompt Truncate Length as the Chat Completion node’s, and asks to set or lower it', () => {
		const hint = hintOf(httpFailure({ status: 400, body: { error: { message: 'Too long', code: 'context_length_exceeded' } }, secrets: [] }));
		expect(hint).toMatch(
			/^Shorten the prompt or messages, or lower Max Tokens; on the Chat Completion node, set or lower Prompt Truncate Length so the earliest messages are left out\./,
		);
	});

	it('a timeout asks to turn Stream on only if the node has it and it is off', () => {
		expect(hintOf(timeoutFailure('UND_ERR_HEADERS_TIMEOUT'))).toBe(
			'No answer in time: raise the Timeout option; if the node has a Stream option and it is off, turn it on so long answers keep the connection alive. (code UND_ERR_HEADERS_TIMEOUT)',
		);
	});

	it('an error in the middle of a stream does not suggest Max Retries, which never repeats it', () => {
		const hint = hintOf(streamFailure({ error: { message: 'The model crashed' } }, []));
		expect(hint).toBe('The service failed while generating the answer, which Max Retries does not repeat: run the item again, and try another model if it keeps happening.');
		expect(hint).not.toMatch(/raise Max Retries/);
	});
});
