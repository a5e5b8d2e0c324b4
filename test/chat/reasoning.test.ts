import { ThinkFilter, shapeReasoning, splitReasoning } from '../../nodes/shared/chat/reasoning';

describe('splitReasoning', () => {
	it('takes reasoning_content, reasoning and inline <think> blocks', () => {
		expect(splitReasoning({ content: 'Hi', reasoning_content: 'R1' })).toEqual({ answer: 'Hi', reasoning: 'R1' });
		expect(splitReasoning({ content: 'Hi', reasoning: 'R2' })).toEqual({ answer: 'Hi', reasoning: 'R2' });
		expect(splitReasoning({ content: '<think>\nR3\n</think>\n\nHi' })).toEqual({ answer: 'Hi', reasoning: 'R3' });
	});

	it('handles an answer that starts inside the block and one cut off while thinking', () => {
		expect(splitReasoning({ content: 'thinking…</think>\n\nHi' })).toEqual({ answer: 'Hi', reasoning: 'thinking…' });
		expect(splitReasoning({ content: 'Pre <think>never closed' })).toEqual({ answer: 'Pre', reasoning: 'never closed' });
	});

	it('leaves content without reasoning untouched', () => {
		expect(splitReasoning({ content: '  a < b  ' })).toEqual({ answer: '  a < b  ' });
		expect(splitReasoning({ content: null })).toEqual({ answer: '' });
	});
});

describe('shapeReasoning', () => {
	const inline = { content: '<think>plan</think>\n\nDone' };
	const field = { content: 'Done', reasoning_content: 'plan' };

	it('separate: reasoning apart from the answer, wherever it came from', () => {
		expect(shapeReasoning(inline, 'separate')).toEqual({ content: 'Done', reasoning: 'plan' });
		expect(shapeReasoning(field, 'separate')).toEqual({ content: 'Done', reasoning: 'plan' });
	});

	it('strip: the answer only', () => {
		expect(shapeReasoning(inline, 'strip')).toEqual({ content: 'Done' });
		expect(shapeReasoning(field, 'strip')).toEqual({ content: 'Done' });
	});

	it('inline: content as sent, and field reasoning moved into a <think> block', () => {
		expect(shapeReasoning(inline, 'inline')).toEqual({ content: '<think>plan</think>\n\nDone' });
		expect(shapeReasoning(field, 'inline')).toEqual({ content: '<think>\nplan\n</think>\n\nDone' });
		expect(shapeReasoning({ content: 'Done' }, 'inline')).toEqual({ content: 'Done' });
	});
});

describe('ThinkFilter', () => {
	function run(pieces: string[]): string {
		const filter = new ThinkFilter();
		return pieces.map((piece) => filter.push(piece)).join('') + filter.flush();
	}

	it('hides a think block even when its tags are split across deltas', () => {
		expect(run(['<thi', 'nk>secret', ' plan</th', 'ink>\n\nHel', 'lo'])).toBe('Hello');
		expect(run(['A ', '<', 'think>x</think>', 'B'])).toBe('A B');
	});

	it('passes text through and gives back a held-back "<" at the end', () => {
		expect(run(['a <', 'b'])).toBe('a <b');
		expect(run(['x <'])).toBe('x <');
		expect(run(['<think>unfinished'])).toBe('');
	});
});
