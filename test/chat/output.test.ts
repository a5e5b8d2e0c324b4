import { InputError } from '../../nodes/shared/inputError';
import { rawCompletion, simplifyCompletion } from '../../nodes/shared/chat/output';
import type { ChatCompletion, ChatCompletionMessage, ChatRequestBody } from '../../nodes/shared/chat/types';

function completion(messages: ChatCompletionMessage[], finish = 'stop'): ChatCompletion {
	return {
		id: 'c1',
		object: 'chat.completion',
		created: 1,
		model: 'm',
		choices: messages.map((message, index) => ({ index, message, finish_reason: finish })),
		usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
	};
}

const separate = { reasoning: 'separate' as const, parseJson: false };

describe('simplifyCompletion', () => {
	it('gives the short result with usage', () => {
		expect(simplifyCompletion(completion([{ role: 'assistant', content: 'Hi' }]), separate)).toEqual([
			{ content: 'Hi', role: 'assistant', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, model: 'm', id: 'c1' },
		]);
	});

	it('gives one result per choice with its index, each with the usage', () => {
		const results = simplifyCompletion(completion([{ role: 'assistant', content: 'A' }, { role: 'assistant', content: 'B' }]), separate);
		expect(results.map((r) => [r.index, r.content, r.usage])).toEqual([
			[0, 'A', { promptTokens: 3, completionTokens: 4, totalTokens: 7 }],
			[1, 'B', { promptTokens: 3, completionTokens: 4, totalTokens: 7 }],
		]);
	});

	it('returns tool calls with parsed arguments, and empty text for a tool-only answer', () => {
		const [result] = simplifyCompletion(
			completion(
				[
					{
						role: 'assistant',
						content: null,
						tool_calls: [
							{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
							{ id: 't2', type: 'function', function: { name: 'g', arguments: 'not json' } },
						],
					},
				],
				'tool_calls',
			),
			{ reasoning: 'separate', parseJson: true },
		);
		expect(result.content).toBe('');
		expect(result.finishReason).toBe('tool_calls');
		expect(result.toolCalls).toEqual([
			{ id: 't1', type: 'function', name: 'f', arguments: { a: 1 } },
			{ id: 't2', type: 'function', name: 'g', arguments: 'not json' },
		]);
	});

	it('parses JSON content, also inside a code fence and after a think block', () => {
		const parse = { reasoning: 'separate' as const, parseJson: true };
		expect(simplifyCompletion(completion([{ role: 'assistant', content: '{"a": [1]}' }]), parse)[0].content).toEqual({ a: [1] });
		expect(simplifyCompletion(completion([{ role: 'assistant', content: '```json\n{"a": 2}\n```' }]), parse)[0].content).toEqual({ a: 2 });
		const [withThink] = simplifyCompletion(completion([{ role: 'assistant', content: '<think>hmm</think>{"a": 3}' }]), parse);
		expect(withThink).toMatchObject({ content: { a: 3 }, reasoning: 'hmm' });
	});

	it('says clearly when the content is not JSON, and that Max Tokens cut it', () => {
		const parse = { reasoning: 'separate' as const, parseJson: true };
		let error: unknown;
		try {
			simplifyCompletion(completion([{ role: 'assistant', content: '{"a": ' }], 'length'), parse);
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(InputError);
		expect((error as InputError).message).toMatch(/^The answer is not valid JSON, so Parse JSON Output cannot turn it into an object/);
		expect((error as InputError).description).toMatch(/cut off by Max Tokens/);
	});

	describe('the hint for an answer that is not JSON fits what the request asked for', () => {
		const parse = { reasoning: 'separate' as const, parseJson: true };
		function hintFor(request: ChatRequestBody | undefined, finish = 'stop'): string {
			try {
				simplifyCompletion(completion([{ role: 'assistant', content: 'Sure! Here is the JSON you asked for.' }], finish), { ...parse, request });
			} catch (error) {
				return (error as InputError).description;
			}
			throw new Error('The answer was parsed');
		}
		const user = { role: 'user' as const, content: 'Classify this' };

		it('Response Format Text: set it to JSON', () => {
			const hint = hintFor({ model: 'm', messages: [user] });
			expect(hint).toBe(
				'It begins "Sure! Here is the JSON you asked for.". Set Response Format to JSON Object or JSON Schema so the model must answer in JSON, or turn off Parse JSON Output.',
			);
			expect(hintFor(undefined)).toBe(hint);
		});

		it('Response Format JSON Schema: the model did not follow it, and what to try', () => {
			const request = { model: 'm', messages: [user], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } };
			expect(hintFor(request)).toBe(
				'It begins "Sure! Here is the JSON you asked for.". Response Format is already JSON Schema, but the model did not follow it. ' +
					'Try a model that supports JSON mode (structured output); or a lower Temperature, e.g. 0; or a system message that asks for JSON only, with no other text. ' +
					'Or turn off Parse JSON Output to keep the answer as text.',
			);
		});

		it('Response Format JSON Object with Temperature 0 and a system message asking for JSON: only what is left to try', () => {
			const request = {
				model: 'm',
				messages: [{ role: 'system' as const, content: 'Reply in JSON.' }, user],
				response_format: { type: 'json_object' },
				temperature: 0,
			};
			const hint = hintFor(request);
			expect(hint).toContain('Response Format is already JSON Object, but the model did not follow it. Try a model that supports JSON mode (structured output). Or turn off');
			expect(hint).not.toMatch(/Set Response Format|Temperature|system message/);
		});

		it('an answer cut by Max Tokens says so first, in either state', () => {
			expect(hintFor({ model: 'm', messages: [user] }, 'length')).toContain('. The answer was cut off by Max Tokens: raise Max Tokens. Set Response Format');
			expect(hintFor({ model: 'm', messages: [user], response_format: { type: 'json_object' } }, 'length')).toContain(
				'. The answer was cut off by Max Tokens: raise Max Tokens. Response Format is already JSON Object',
			);
		});
	});

	it('leaves usage out when the service sent none', () => {
		const plain = { ...completion([{ role: 'assistant', content: 'x' }]), usage: undefined };
		expect(simplifyCompletion(plain, separate)[0]).not.toHaveProperty('usage');
	});
});

describe('rawCompletion', () => {
	it('returns the completion untouched as one item', () => {
		const value = completion([{ role: 'assistant', content: '<think>r</think>A' }, { role: 'assistant', content: 'B' }]);
		expect(rawCompletion(value)).toEqual([value]);
	});
});
