import type { IDataObject } from 'n8n-workflow';

import { CHAT_MODEL_DEFAULTS, chatModelSetup } from '../../nodes/shared/model/config';
import { checkOptions, type CheckedOptions } from '../../nodes/shared/options/collection';

/** The Chat Model's options as its supplyData checks them before the setup. */
function setup(conn: typeof connection, model: string, options: IDataObject) {
	const checked = checkOptions('chatModel', options);
	if (!checked.ok) throw new Error(checked.message);
	return chatModelSetup(conn, model, checked.values);
}

const connection = { apiKey: 'nb-test-key', baseUrl: 'https://inference.nebulablock.com/v1/', allowUnauthorizedCerts: false };

describe('chatModelSetup', () => {
	test('an empty Options collection sends only the model, with the default timeout; Max Retries stays unset', () => {
		const { config, tuning } = setup(connection, 'meta-llama/Llama-3.3-70B-Instruct', {});
		expect(config).toEqual({
			type: 'openai',
			baseUrl: 'https://inference.nebulablock.com/v1',
			apiKey: 'nb-test-key',
			model: 'meta-llama/Llama-3.3-70B-Instruct',
			timeout: CHAT_MODEL_DEFAULTS.timeoutSeconds * 1000,
			maxRetries: 0,
		});
		expect(tuning).toEqual({ timeoutMs: 600_000, allowUnauthorizedCerts: false });
		// Unset, not a number: the retry engine then gives a 429 up to 8 retries under the limiter, other failures 2.
		expect(tuning.maxRetries).toBeUndefined();
	});

	test('every option lands in its field; Timeout is in seconds; Max Retries goes to the package\'s retry engine, not the client or LangChain', () => {
		const { config, tuning } = setup({ ...connection, allowUnauthorizedCerts: true }, 'fake/m', {
			maxTokens: 300,
			temperature: 0,
			topP: 0.5,
			frequencyPenalty: -1.5,
			presencePenalty: 2,
			responseFormat: 'json_object',
			timeout: 30,
			maxRetries: 5,
		});
		expect(config).toMatchObject({
			maxTokens: 300,
			temperature: 0,
			topP: 0.5,
			frequencyPenalty: -1.5,
			presencePenalty: 2,
			additionalParams: { response_format: { type: 'json_object' } },
			timeout: 30_000,
			maxRetries: 0,
		});
		expect(tuning).toEqual({ maxRetries: 5, timeoutMs: 30_000, allowUnauthorizedCerts: true });
	});

	test('Response Format Text sends nothing: it is the service default', () => {
		expect(setup(connection, 'fake/m', { responseFormat: 'text' }).config.additionalParams).toBeUndefined();
	});

	test('numbers from expressions may come as text; empty means unset', () => {
		const { config, tuning } = setup(connection, 'fake/m', { temperature: ' 0.7 ', maxTokens: '', maxRetries: '0' });
		expect(config.temperature).toBe(0.7);
		expect(config).not.toHaveProperty('maxTokens');
		expect(tuning.maxRetries).toBe(0);
	});

	test.each([
		[{ temperature: 'warm' }, 'Temperature must be a number from 0 to 2, not the text "warm"'],
		[{ temperature: 2.5 }, 'Temperature must be a number from 0 to 2, not the number 2.5'],
		[{ maxTokens: 0 }, 'Max Tokens must be a whole number of at least 1, not the number 0'],
		[{ maxTokens: 10.5 }, 'Max Tokens must be a whole number of at least 1, not the number 10.5'],
		[{ maxRetries: -1 }, 'Max Retries must be a whole number from 0 to 10, not the number -1'],
		[{ timeout: 0 }, 'Timeout (Seconds) must be a number of at least 1, not the number 0'],
		[{ responseFormat: 'xml' }, 'Response Format must be one of "text", "json_object", not the text "xml"'],
		[{ responseFormat: 'json_schema' }, 'The Chat Model has no JSON Schema response format'],
	])('%j is refused with a message that says what to change', (options, message) => {
		const checked = checkOptions('chatModel', options) as Extract<CheckedOptions, { ok: false }>;
		expect(checked.ok).toBe(false);
		expect(checked.message).toBe(message);
		expect(checked.fix).toMatch(/^Set .+ to /);
	});

	it('json_schema (the Chat Completion node has it, e.g. set by an expression) points to a Structured Output Parser', () => {
		const checked = checkOptions('chatModel', { responseFormat: 'json_schema' }) as Extract<CheckedOptions, { ok: false }>;
		expect(checked.fix).toBe(
			'Set Response Format to JSON Object and connect a Structured Output Parser to the chain or agent to enforce a schema.',
		);
	});
});
