import {
	TextStreamAssembler,
	assembleTextStream,
	generationFromChat,
	readTextReply,
	readUsage,
} from '../../nodes/shared/text/assemble';
import type { ChatCompletion } from '../../nodes/shared/chat/types';
import { NebulaBlockError } from '../../nodes/shared/transport/errors';

/** The events of seed 003's streaming example. */
const seedEvents = [
	{ text: "Here's", finish_reason: null },
	{ text: ' a', finish_reason: null },
	{ text: ' simple', finish_reason: null },
	{ text: ' Hello', finish_reason: null },
	{ text: ' World', finish_reason: null },
	{ text: ' program', finish_reason: null },
	{ text: ':', finish_reason: null },
	{ text: '\n\nprint("Hello, World!")', finish_reason: 'stop' },
];

function caught(action: () => unknown): NebulaBlockError {
	try {
		action();
	} catch (error) {
		if (error instanceof NebulaBlockError) return error;
		throw error;
	}
	throw new Error('expected a NebulaBlockError');
}

describe('TextStreamAssembler', () => {
	it("joins seed 003's example stream into its text, with the last event's finish reason", () => {
		expect(assembleTextStream(seedEvents)).toEqual({
			text: 'Here\'s a simple Hello World program:\n\nprint("Hello, World!")',
			finishReason: 'stop',
		});
	});

	it('returns each event\'s text as it is pushed, for live streaming', () => {
		const assembler = new TextStreamAssembler();
		expect(seedEvents.map((event) => assembler.push(event))).toEqual(seedEvents.map((event) => event.text));
	});

	it('takes the finish reason of the last event that carries one', () => {
		const generation = assembleTextStream([
			{ text: 'a', finish_reason: 'stop' },
			{ text: 'b', finish_reason: null },
			{ text: 'c', finish_reason: 'length' },
		]);
		expect(generation).toEqual({ text: 'abc', finishReason: 'length' });
	});

	it('keeps usage and model when the service sends them', () => {
		const generation = assembleTextStream([
			{ text: 'Hi', finish_reason: null, model: 'fake/m' },
			{ text: '!', finish_reason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
		]);
		expect(generation).toEqual({
			text: 'Hi!',
			finishReason: 'stop',
			usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
			model: 'fake/m',
		});
	});

	it('accepts events without text (a finish-only event) and an empty answer', () => {
		expect(assembleTextStream([{ text: '', finish_reason: null }, { finish_reason: 'stop' }])).toEqual({
			text: '',
			finishReason: 'stop',
		});
	});

	it('calls a stream that ends with no finish reason truncated', () => {
		const error = caught(() => assembleTextStream([{ text: 'Half an', finish_reason: null }], 'req-7'));
		expect(error.kind).toBe('truncated');
		expect(error.requestId).toBe('req-7');
		expect(error.hint).toMatch(/try again/i);
	});

	it('calls an empty stream truncated', () => {
		expect(caught(() => assembleTextStream([])).kind).toBe('truncated');
	});

	it('rejects an event whose text is not a string', () => {
		const error = caught(() => new TextStreamAssembler().push({ text: 42, finish_reason: null }));
		expect(error.kind).toBe('invalidResponse');
	});
});

describe('readTextReply', () => {
	it("reads seed 003's success reply", () => {
		const reply = {
			status: 'success',
			data: {
				text: 'Here\'s a simple Hello World program in Python:\n\nprint("Hello, World!")',
				usage: { prompt_tokens: 8, completion_tokens: 12, total_tokens: 20 },
			},
		};
		expect(readTextReply(reply)).toEqual({
			text: reply.data.text,
			finishReason: null,
			usage: { prompt_tokens: 8, completion_tokens: 12, total_tokens: 20 },
		});
	});

	it('keeps a finish reason and model when the reply has them', () => {
		const reply = { status: 'success', data: { text: 'x', finish_reason: 'length', model: 'fake/m' } };
		expect(readTextReply(reply)).toEqual({ text: 'x', finishReason: 'length', model: 'fake/m' });
	});

	it.each([
		['no data', { status: 'success' }],
		['text not a string', { status: 'success', data: { text: null } }],
		['a chat completion', { choices: [{ message: { content: 'x' } }] }],
		['not an object', 'hello'],
	])('rejects a reply with %s', (_name, reply) => {
		const error = caught(() => readTextReply(reply, 'req-1'));
		expect(error.kind).toBe('invalidResponse');
		expect(error.requestId).toBe('req-1');
	});
});

describe('readUsage', () => {
	it('keeps only numeric counts', () => {
		expect(readUsage({ prompt_tokens: 1, completion_tokens: 'two', total_tokens: 3, extra: 9 })).toEqual({
			prompt_tokens: 1,
			total_tokens: 3,
		});
	});

	it.each([[undefined], [null], [{}], [{ prompt_tokens: 'x' }]])('returns undefined for %j', (value) => {
		expect(readUsage(value)).toBeUndefined();
	});
});

describe('generationFromChat', () => {
	const completion: ChatCompletion = {
		id: 'chatcmpl-1',
		object: 'chat.completion',
		created: 1,
		model: 'fake/chat',
		choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: hi' }, finish_reason: 'stop' }],
		usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
	};

	it("reads the first choice's content, finish reason, usage and model", () => {
		expect(generationFromChat(completion)).toEqual({
			text: 'Echo: hi',
			finishReason: 'stop',
			usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
			model: 'fake/chat',
		});
	});

	it('turns null content into empty text', () => {
		const empty = { ...completion, choices: [{ ...completion.choices[0], message: { role: 'assistant', content: null } }] };
		expect(generationFromChat(empty).text).toBe('');
	});

	it('rejects a completion without choices', () => {
		expect(caught(() => generationFromChat({ ...completion, choices: [] })).kind).toBe('invalidResponse');
	});
});
