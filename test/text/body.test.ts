import type { IDataObject } from 'n8n-workflow';

import { checkOptions, type OptionValues } from '../../nodes/shared/options/collection';
import { OPTION_TABLE } from '../../nodes/shared/options/table';
import { promptAsChatBody, textGenerateBody } from '../../nodes/shared/text/body';

function checked(options: IDataObject): OptionValues {
	const result = checkOptions('textGenerate', options);
	if (!result.ok) throw new Error(result.message);
	return result.values;
}

const text = (options: IDataObject, prompt = 'Hi') => textGenerateBody({ model: 'fake/m', prompt, options: checked(options) });

describe('textGenerateBody', () => {
	it('sends seed 003 defaults explicitly when no option is set, and no stream field', () => {
		expect(text({})).toEqual({ model: 'fake/m', prompt: 'Hi', max_tokens: 256, temperature: 0.7, top_p: 1 });
	});

	it('takes those defaults from the option table, where the form takes them too', () => {
		const { maxTokens, temperature, topP } = OPTION_TABLE;
		expect([maxTokens, temperature, topP].map((entry) => entry.offeredBy.textGenerate)).toEqual([
			{ default: 256, sentWhenUnset: true },
			{ default: 0.7, sentWhenUnset: true },
			{ default: 1, sentWhenUnset: true },
		]);
	});

	it('sends each option the user set, field by field; Stream is not a body field', () => {
		expect(text({ maxTokens: 42, temperature: 0, topP: 0.25, stop: '###, END', stream: false }, 'Write')).toEqual({
			model: 'fake/m',
			prompt: 'Write',
			max_tokens: 42,
			temperature: 0,
			top_p: 0.25,
			stop: ['###', 'END'],
		});
	});

	it('keeps a temperature of 0 (a falsy value is still a value)', () => {
		expect(text({ temperature: 0 }).temperature).toBe(0);
	});

	it('sends the prompt as given, whitespace included', () => {
		expect(text({}, '  two\nlines ').prompt).toBe('  two\nlines ');
	});

	it('leaves stop out when Stop Sequences holds only separators', () => {
		expect('stop' in text({ stop: ' , ,' })).toBe(false);
	});
});

describe('Stop Sequences', () => {
	it.each([
		['END', ['END']],
		[' ###,END , \n\n ', ['###', 'END']],
		['a,,b', ['a', 'b']],
		[['###', ' END ', ''], ['###', 'END']],
		[42, ['42']],
	])('%j -> %j', (raw, expected) => {
		expect(text({ stop: raw }).stop).toEqual(expected);
	});

	it('refuses an object from an expression', () => {
		expect(() => text({ stop: { a: 1 } })).toThrow('Stop Sequences must be comma-separated text or a list of texts, not an object');
	});
});

describe('promptAsChatBody', () => {
	it('sends the prompt as one user message with the same sampling values, and no stream field', () => {
		expect(
			promptAsChatBody({ model: 'fake/m', prompt: 'Hello', options: checked({ maxTokens: 10, temperature: 0.3, topP: 0.9, stop: 'X' }) }),
		).toEqual({
			model: 'fake/m',
			messages: [{ role: 'user', content: 'Hello' }],
			max_tokens: 10,
			temperature: 0.3,
			top_p: 0.9,
			stop: ['X'],
		});
	});

	it('carries the seed defaults too, so both endpoints get the same request', () => {
		expect(promptAsChatBody({ model: 'm', prompt: 'p', options: checked({}) })).toEqual({
			model: 'm',
			messages: [{ role: 'user', content: 'p' }],
			max_tokens: 256,
			temperature: 0.7,
			top_p: 1,
		});
	});
});
