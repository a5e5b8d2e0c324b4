import {
	TEXT_GENERATE_DEFAULTS,
	buildChatBody,
	buildTextGenerateBody,
} from '../../nodes/shared/text/body';
import { parseStopSequences } from '../../nodes/shared/stopSequences';

describe('buildTextGenerateBody', () => {
	it('sends seed 003 defaults explicitly when no option is set', () => {
		const body = buildTextGenerateBody({ model: 'fake/m', prompt: 'Hi', options: {} });
		expect(body).toEqual({
			model: 'fake/m',
			prompt: 'Hi',
			max_tokens: 256,
			temperature: 0.7,
			top_p: 1,
			stream: true,
		});
		expect('stop' in body).toBe(false);
	});

	it('keeps the form defaults and the body defaults the same numbers', () => {
		expect(TEXT_GENERATE_DEFAULTS).toEqual({ maxTokens: 256, temperature: 0.7, topP: 1, stream: true });
	});

	it('sends each option the user set, field by field', () => {
		const body = buildTextGenerateBody({
			model: 'fake/m',
			prompt: 'Write',
			options: { maxTokens: 42, temperature: 0, topP: 0.25, stop: '###, END', stream: false },
		});
		expect(body).toEqual({
			model: 'fake/m',
			prompt: 'Write',
			max_tokens: 42,
			temperature: 0,
			top_p: 0.25,
			stop: ['###', 'END'],
			stream: false,
		});
	});

	it('keeps a temperature of 0 (a falsy value is still a value)', () => {
		expect(buildTextGenerateBody({ model: 'm', prompt: 'p', options: { temperature: 0 } }).temperature).toBe(0);
	});

	it('sends the prompt as given, whitespace included', () => {
		expect(buildTextGenerateBody({ model: 'm', prompt: '  two\nlines ', options: {} }).prompt).toBe('  two\nlines ');
	});

	it('leaves stop out when Stop Sequences holds only separators', () => {
		expect('stop' in buildTextGenerateBody({ model: 'm', prompt: 'p', options: { stop: ' , ,' } })).toBe(false);
	});
});

describe('parseStopSequences', () => {
	it.each([
		[undefined, []],
		['', []],
		['END', ['END']],
		[' ###,END , \n\n ', ['###', 'END']],
		['a,,b', ['a', 'b']],
		[['###', ' END ', ''], ['###', 'END']],
		[42, []],
	])('%j -> %j', (raw, expected) => {
		expect(parseStopSequences(raw)).toEqual(expected);
	});
});

describe('buildChatBody', () => {
	it('sends the prompt as one user message with the same sampling values, and no stream field', () => {
		const text = buildTextGenerateBody({
			model: 'fake/m',
			prompt: 'Hello',
			options: { maxTokens: 10, temperature: 0.3, topP: 0.9, stop: 'X' },
		});
		expect(buildChatBody(text)).toEqual({
			model: 'fake/m',
			messages: [{ role: 'user', content: 'Hello' }],
			max_tokens: 10,
			temperature: 0.3,
			top_p: 0.9,
			stop: ['X'],
		});
	});

	it('carries the seed defaults too, so both endpoints get the same request', () => {
		const chat = buildChatBody(buildTextGenerateBody({ model: 'm', prompt: 'p', options: {} }));
		expect(chat).toEqual({
			model: 'm',
			messages: [{ role: 'user', content: 'p' }],
			max_tokens: 256,
			temperature: 0.7,
			top_p: 1,
		});
	});
});
