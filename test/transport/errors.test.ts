import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { NebulaBlockError, httpFailure, readServiceError, redact, toNodeError } from '../../nodes/shared/transport/errors';
import { packageNode } from '../support/node-fixture';

const node = packageNode('nebulaBlockChat', 'Nebula Block');

describe('readServiceError', () => {
	it('reads every error shape the service is known to send', () => {
		expect(readServiceError({ error: { message: 'm1', type: 't', param: 'p', code: 400 } })).toEqual({
			message: 'm1',
			code: '400',
			type: 't',
			details: { param: 'p' },
		});
		expect(readServiceError({ object: 'error', message: 'm2', type: 'BadRequestError', code: 400 })).toMatchObject({ message: 'm2' });
		expect(readServiceError({ status: 'error', error: { code: 'model_not_found', message: 'm3', details: { model: 'x' } } })).toEqual({
			message: 'm3',
			code: 'model_not_found',
			type: undefined,
			details: { model: 'x' },
		});
		expect(readServiceError({ detail: 'Not Found' })).toEqual({ message: 'Not Found' });
		expect(readServiceError({ error: 'plain words' })).toMatchObject({ message: 'plain words' });
	});

	it('does not mistake a successful reply for an error', () => {
		expect(readServiceError({ choices: [], usage: {} })).toBeUndefined();
		expect(readServiceError({ status: 'success', data: { text: 'hi' } })).toBeUndefined();
		expect(readServiceError({ text: 'hi', finish_reason: null })).toBeUndefined();
		expect(readServiceError('text')).toBeUndefined();
	});
});

describe('toNodeError', () => {
	it('keeps the service message, HTTP status, code and request ID, and adds a hint', () => {
		const failure = httpFailure({
			status: 429,
			body: { error: { message: 'Rate limit reached for requests', type: 'rate_limit', code: 'rate_limit_exceeded' } },
			requestId: 'req-123',
			secrets: ['sk-secret-key'],
		});
		const error = toNodeError(node, failure, 3) as NodeApiError;
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('Rate limit reached for requests');
		expect(error.httpCode).toBe('429');
		expect(error.context.itemIndex).toBe(3);
		expect(error.description).toContain('Max Retries');
		expect(error.description).toContain('code rate_limit_exceeded');
		expect(error.description).toContain('request ID req-123');
	});

	it('puts details of the Nebula envelope in the description', () => {
		const failure = httpFailure({
			status: 404,
			body: { status: 'error', error: { code: 'model_not_found', message: 'Invalid model specified', details: { model: "Model 'x' not found" } } },
			secrets: [],
		});
		const error = toNodeError(node, failure, 0) as NodeApiError;
		expect(error.message).toBe('Invalid model specified');
		expect(error.description).toContain("Model 'x' not found");
		expect(error.description).toContain('Pick a model from the list');
	});

	it('masks the API key wherever the service repeats it', () => {
		const key = 'sk-live-abcdef123456';
		const failure = httpFailure({
			status: 401,
			body: { error: { message: `Incorrect API key provided: ${key}`, details: { key } } },
			secrets: [key],
		});
		const error = toNodeError(node, failure, 0) as NodeApiError;
		const everything = JSON.stringify({ message: error.message, description: error.description, context: error.context, cause: (error as { cause?: unknown }).cause, messages: error.messages });
		expect(everything).not.toContain(key);
		expect(error.message).toBe('Incorrect API key provided: ***');
		expect(redact(`a ${key} b ${key}`, [key])).toBe('a *** b ***');
	});

	it('passes n8n errors through and fills in a missing item index', () => {
		const original = new NodeOperationError(node, 'bad input');
		expect(toNodeError(node, original, 4)).toBe(original);
		expect(original.context.itemIndex).toBe(4);
	});

	it('wraps a failure without a status as an API error with its hint', () => {
		const error = toNodeError(node, new NebulaBlockError({ kind: 'truncated', message: 'The stream ended early' }), 1) as NodeApiError;
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('The stream ended early');
		expect(error.description).toMatch(/try again/);
	});
});
