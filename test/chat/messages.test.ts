import { InputError } from '../../nodes/shared/inputError';
import { assertConversation, messagesFromForm, messagesFromJson, withSystemMessage } from '../../nodes/shared/chat/messages';

function failure(run: () => unknown): InputError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(InputError);
		return error as InputError;
	}
	throw new Error('expected a InputError');
}

describe('messagesFromForm', () => {
	it('keeps the rows in order', () => {
		expect(
			messagesFromForm([
				{ role: 'system', content: 'S' },
				{ role: 'user', content: 'U' },
				{ role: 'assistant', content: 42 },
			]),
		).toEqual([
			{ role: 'system', content: 'S' },
			{ role: 'user', content: 'U' },
			{ role: 'assistant', content: '42' },
		]);
	});

	it('names the row with empty content or a bad role', () => {
		const empty = failure(() => messagesFromForm([{ role: 'user', content: 'a' }, { role: 'user', content: '  ' }]));
		expect(empty.message).toBe('Message 2 (user) has no content');
		// The content is often an expression that gave nothing: "fill it in" alone would not fit.
		expect(empty.description).toBe(
			'Fill in the content of every message, or remove the empty one. If the content is an expression, check that it gives text for this item.',
		);
		expect(failure(() => messagesFromForm([{ role: 'bot', content: 'a' }])).message).toBe(
			'Message 1 has role "bot": expected one of system, user, assistant, tool',
		);
	});
});

describe('messagesFromJson', () => {
	const history = [
		{ role: 'user', content: 'Hi' },
		{ role: 'assistant', content: 'Hello', extra: 'dropped' },
	];

	it('accepts an array, JSON text, or an object with a messages array', () => {
		const expected = [
			{ role: 'user', content: 'Hi' },
			{ role: 'assistant', content: 'Hello' },
		];
		expect(messagesFromJson(history)).toEqual(expected);
		expect(messagesFromJson(JSON.stringify(history))).toEqual(expected);
		expect(messagesFromJson({ messages: history })).toEqual(expected);
	});

	it('keeps tool calls, tool results, names and content parts', () => {
		const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } };
		const parts = [{ type: 'text', text: 'look' }];
		expect(
			messagesFromJson([
				{ role: 'user', content: parts, name: 'ann' },
				{ role: 'assistant', content: null, tool_calls: [call] },
				{ role: 'tool', content: '42', tool_call_id: 'c1' },
			]),
		).toEqual([
			{ role: 'user', content: parts, name: 'ann' },
			{ role: 'assistant', content: null, tool_calls: [call] },
			{ role: 'tool', content: '42', tool_call_id: 'c1' },
		]);
	});

	it.each([
		[[{ role: 'user', content: 'ok' }, 'text'], 'Message at index 1 is the text "text", not an object with role and content'],
		[[{ content: 'no role' }], 'Message at index 0 has no role: expected one of system, user, assistant, tool'],
		[[{ role: 'user', content: 'a' }, { role: 'human', content: 'b' }], 'Message at index 1 has role "human": expected one of system, user, assistant, tool'],
		[[{ role: 'user' }], 'Message at index 0 has no content'],
		[[{ role: 'assistant', content: null }], 'Message at index 0 has no content'],
		[[{ role: 'user', content: { text: 'x' } }], 'Message at index 0 has content that is an object, not text'],
		[[{ role: 'tool', content: 'x' }], 'Message at index 0 has role "tool" but no tool_call_id'],
		[[], 'Messages (From JSON) is an empty array'],
		[{ role: 'user', content: 'x' }, 'Messages (From JSON) must be an array, not an object'],
		[42, 'Messages (From JSON) must be an array, not the number 42'],
		['', 'Messages (From JSON) is empty'],
	])('rejects %j with a message naming what is wrong', (value, message) => {
		const error = failure(() => messagesFromJson(value));
		expect(error.message).toBe(message);
		expect(error.description).not.toBe('');
	});

	it('says when the text is not JSON', () => {
		expect(failure(() => messagesFromJson('[{"role": "user",')).message).toMatch(/^Messages \(From JSON\) is not valid JSON: /);
	});
});

describe('withSystemMessage and assertConversation', () => {
	it('puts a non-empty system message first', () => {
		const user = { role: 'user' as const, content: 'U' };
		expect(withSystemMessage([user], 'Be brief')).toEqual([{ role: 'system', content: 'Be brief' }, user]);
		expect(withSystemMessage([user], '  ')).toEqual([user]);
		expect(withSystemMessage([user], undefined)).toEqual([user]);
	});

	it('needs a message that is not the system prompt', () => {
		expect(failure(() => assertConversation([{ role: 'system', content: 'S' }])).message).toBe('There is no message to answer');
		expect(() => assertConversation([{ role: 'user', content: 'U' }])).not.toThrow();
	});
});
