import { estimateMessageTokens, estimateTokens, truncateMessages } from '../../nodes/shared/chat/truncate';
import type { ChatMessage } from '../../nodes/shared/chat/types';

const words = (count: number) => 'word '.repeat(count).trim();

describe('estimateTokens', () => {
	it('counts about four ASCII characters and one other character per token', () => {
		expect(estimateTokens('')).toBe(0);
		expect(estimateTokens('abcd')).toBe(1);
		expect(estimateTokens('abcde')).toBe(2);
		expect(estimateTokens('你好')).toBe(2);
	});
});

describe('truncateMessages', () => {
	const system: ChatMessage = { role: 'system', content: 'Be brief.' };
	const conversation: ChatMessage[] = [
		system,
		{ role: 'user', content: `first ${words(100)}` },
		{ role: 'assistant', content: `second ${words(100)}` },
		{ role: 'user', content: `third ${words(100)}` },
		{ role: 'assistant', content: 'fourth' },
		{ role: 'user', content: 'fifth' },
	];
	const total = conversation.reduce((sum, message) => sum + estimateMessageTokens(message), 0);

	it('keeps everything that fits', () => {
		const result = truncateMessages(conversation, total);
		expect(result.messages).toEqual(conversation);
		expect(result.evicted).toBe(0);
	});

	it('evicts the earliest non-system messages first, never the system message', () => {
		const result = truncateMessages(conversation, total - 1);
		expect(result.messages.map((m) => String(m.content).split(' ')[0])).toEqual(['Be', 'second', 'third', 'fourth', 'fifth']);
		const tight = truncateMessages(conversation, 60);
		expect(tight.messages.map((m) => String(m.content).split(' ')[0])).toEqual(['Be', 'fourth', 'fifth']);
		expect(tight.estimatedTokens).toBeLessThanOrEqual(60);
	});

	it('keeps the last message and the system message even when they alone exceed the budget', () => {
		const result = truncateMessages(conversation, 1);
		expect(result.messages).toEqual([system, { role: 'user', content: 'fifth' }]);
		expect(result.evicted).toBe(4);
		expect(result.estimatedTokens).toBeGreaterThan(1);
	});

	it('drops tool results with the turn that called the tool, and keeps the call a final tool result answers', () => {
		const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
		const messages: ChatMessage[] = [
			{ role: 'user', content: words(50) },
			{ role: 'assistant', content: null, tool_calls: [call] },
			{ role: 'tool', content: words(50), tool_call_id: 'c1' },
			{ role: 'user', content: 'now' },
			{ role: 'assistant', content: null, tool_calls: [{ ...call, id: 'c2' }] },
			{ role: 'tool', content: 'result', tool_call_id: 'c2' },
		];
		const result = truncateMessages(messages, 80);
		expect(result.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
		expect(result.messages[0].content).toBe('now');
		const minimal = truncateMessages(messages, 1);
		expect(minimal.messages.map((m) => m.role)).toEqual(['assistant', 'tool']);
	});
});
