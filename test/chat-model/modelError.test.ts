import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { failedAttemptHandler, modelError } from '../../nodes/shared/model/modelError';
import { httpFailure, networkFailure, waitTooLong } from '../../nodes/shared/transport/errors';
import { ModelRequestFailed } from '../../nodes/shared/transport/errors';
import { packageNode } from '../support/node-fixture';

const node = packageNode('lmChatNebulaBlock', 'Nebula Block Chat Model');
const KEY = 'nb-live-0123456789abcdef';

/** Shaped like the OpenAI client's APIError: `error` is the body's `error` member. */
function apiError(status: number, error: unknown, message: string, requestID?: string) {
	return Object.assign(new Error(message), { status, error, requestID });
}

/** Shaped like the OpenAI client's APIConnectionError: what it throws when its fetch rejects (no status). */
class APIConnectionError extends Error {
	readonly status = undefined;
	constructor({ cause }: { cause: unknown }) {
		super('Connection error.', { cause });
	}
}

/** What the retry engine gave up with on a 429 asking for an hour, as modelFetch rejects with it. */
function hourLongWait(): ModelRequestFailed {
	const limited = httpFailure({
		status: 429,
		body: { error: { message: `Rate limit reached for ${KEY}`, type: 'rate_limit_error', code: 'rate_limit_exceeded' } },
		requestId: 'req-429',
		retryAfterMs: 3_600_000,
		secrets: [KEY],
	});
	const failure = waitTooLong(limited, {
		waitMs: 3_600_000,
		limitMs: 60_000,
		untilWallMs: Date.UTC(2026, 0, 1, 13, 0, 0),
		cause: 'retryAfter',
		adaptive: true,
	});
	return new ModelRequestFailed(failure);
}

function thrownBy(run: () => void): NodeApiError {
	let caught: unknown;
	try {
		run();
	} catch (error) {
		caught = error;
	}
	expect(caught).toBeInstanceOf(NodeApiError);
	return caught as NodeApiError;
}

describe('the Chat Model failed-attempt hook', () => {
	test('a rejected key: the service message without the key, the credential hint, status and request ID', () => {
		const error = apiError(
			401,
			{ message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' },
			`401 Incorrect API key provided: ${KEY}`,
			'req-123',
		);
		const nodeError = thrownBy(() => failedAttemptHandler(node, KEY, 0)(error));
		expect(nodeError.message).toBe('Incorrect API key provided: ***');
		expect(nodeError.description).toBe(
			'Check the API key in the Nebula Block API credential. (HTTP 401, code invalid_api_key, request ID req-123)',
		);
		expect(nodeError.httpCode).toBe('401');
		expect(JSON.stringify(nodeError)).not.toContain(KEY);
	});

	test('a rate limit gets the rate-limit hint', () => {
		const error = apiError(429, { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' }, '429 Rate limit reached');
		const nodeError = thrownBy(() => failedAttemptHandler(node, KEY, 0)(error));
		expect(nodeError.message).toBe('Rate limit reached');
		expect(nodeError.description).toMatch(/^You hit your plan's rate limit/);
	});

	test('a body that was not JSON: the client\'s text without its status prefix', () => {
		const nodeError = modelError(node, apiError(502, undefined, '502 upstream connect error'), KEY, 0);
		expect(nodeError.message).toBe('upstream connect error');
		expect((nodeError as NodeApiError).description).toMatch(/^The service had a problem/);
	});

	test('no connection: what the socket said, with the network hint', () => {
		const socketError = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:9 (${KEY})`), { code: 'ECONNREFUSED' });
		const error = Object.assign(new Error('Connection error.'), { cause: Object.assign(new TypeError('fetch failed'), { cause: socketError }) });
		const nodeError = modelError(node, error, KEY, 0) as NodeApiError;
		// Not n8n's generic sentence for the socket code: what the socket said stays in the message.
		expect(nodeError.message).toBe('Could not reach the service: connect ECONNREFUSED 127.0.0.1:9 (***)');
		expect(nodeError.description).toMatch(/^Could not reach the service: check the Base URL/);
		expect(nodeError.description).toContain('ECONNREFUSED');
		expect(JSON.stringify(nodeError)).not.toContain(KEY);
	});

	test('a timeout is named as one', () => {
		const timeout = Object.assign(new Error('Request timed out.'), { name: 'TimeoutError' });
		expect(modelError(node, timeout, KEY, 0).message).toBe('The service did not answer within the timeout');
		const headers = Object.assign(new Error('Connection error.'), { cause: { code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' } });
		expect(modelError(node, headers, KEY, 0).message).toBe('The service did not answer within the timeout');
	});

	test('a cancelled execution is left to n8n', () => {
		const abort = Object.assign(new Error('Request was aborted.'), { name: 'AbortError' });
		expect(() => failedAttemptHandler(node, KEY, 0)(abort)).not.toThrow();
	});

	test('n8n errors pass through untouched', () => {
		const own = new NodeOperationError(node, 'already explained');
		expect(modelError(node, own, KEY, 0)).toBe(own);
	});

	describe("the package's own error, which the client wraps (modelFetch rejects, the client throws an APIConnectionError with it as the cause)", () => {
		test('a wait too long: the service\'s words and the wait, the hint, the status and request ID, not "Connection error."', () => {
			const nodeError = thrownBy(() => failedAttemptHandler(node, KEY, 2)(new APIConnectionError({ cause: hourLongWait() })));
			expect(nodeError.message).toBe('Rate limit reached for *** (the service asked to wait 60 minutes, until 13:00:00 UTC)');
			expect(nodeError.httpCode).toBe('429');
			expect(nodeError.description).toMatch(/^A request waits at most 60 s for a rate limit, so it was not sent: run the item again after that time\./);
			expect(nodeError.description).toContain('(HTTP 429, code rate_limit_exceeded, request ID req-429)');
			expect(nodeError.context.itemIndex).toBe(2);
			expect(JSON.stringify(nodeError)).not.toContain(KEY);
		});

		test('found a few causes down too, and whatever its kind (here: no connection after the retries)', () => {
			const failed = new ModelRequestFailed(networkFailure(`connect ECONNREFUSED 127.0.0.1:9 (${KEY})`, 'ECONNREFUSED', [KEY]));
			const wrapped = new APIConnectionError({ cause: Object.assign(new Error('wrapped'), { cause: failed }) });
			const nodeError = modelError(node, wrapped, KEY, 0) as NodeApiError;
			expect(nodeError).toBeInstanceOf(NodeApiError);
			expect(nodeError.message).toBe('Could not reach the service: connect ECONNREFUSED 127.0.0.1:9 (***)');
		});

		test('its text stays off toString, where the client would read a "timeout" as its own and drop the cause', () => {
			expect(String(hourLongWait())).toBe('ModelRequestFailed');
		});
	});
});
