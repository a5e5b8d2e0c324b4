import { ChatAssembler } from '../../nodes/shared/chat/assemble';

const meta = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1740081592, model: 'm', system_fingerprint: 'fp' };

function chunk(choices: unknown[], extra: Record<string, unknown> = {}) {
	return { ...meta, choices, ...extra };
}

function delta(index: number, value: Record<string, unknown>, finish: string | null = null) {
	return { index, delta: value, logprobs: null, finish_reason: finish };
}

describe('ChatAssembler', () => {
	it('joins content deltas into one message and takes usage from the final chunk', () => {
		const assembler = new ChatAssembler();
		const seen = [
			assembler.push(chunk([delta(0, { role: 'assistant', content: '' })])),
			assembler.push(chunk([delta(0, { content: 'It' })])),
			assembler.push(chunk([delta(0, { content: ' looks' })])),
			assembler.push(chunk([delta(0, {}, 'stop')])),
			assembler.push(chunk([], { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })),
		];
		expect(seen.flat()).toEqual([
			{ index: 0, text: 'It' },
			{ index: 0, text: ' looks' },
		]);
		expect(assembler.finished).toBe(true);
		expect(assembler.completion()).toEqual({
			id: 'chatcmpl-1',
			object: 'chat.completion',
			created: 1740081592,
			model: 'm',
			system_fingerprint: 'fp',
			choices: [{ index: 0, message: { role: 'assistant', content: 'It looks' }, finish_reason: 'stop', logprobs: null }],
			usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
		});
	});

	it('keeps interleaved choices apart (n > 1) and orders them by index', () => {
		const assembler = new ChatAssembler();
		assembler.push(chunk([delta(1, { role: 'assistant', content: 'B' })]));
		assembler.push(chunk([delta(0, { role: 'assistant', content: 'A' })]));
		assembler.push(chunk([delta(1, { content: '2' })]));
		assembler.push(chunk([delta(0, { content: '1' }, 'stop')]));
		expect(assembler.finished).toBe(false);
		assembler.push(chunk([delta(1, {}, 'length')]));
		expect(assembler.finished).toBe(true);
		const choices = assembler.completion().choices;
		expect(choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
			[0, 'A1', 'stop'],
			[1, 'B2', 'length'],
		]);
	});

	it('merges tool-call fragments by index and sets content to null like a plain answer', () => {
		const assembler = new ChatAssembler();
		assembler.push(chunk([delta(0, { role: 'assistant', content: '' })]));
		assembler.push(chunk([delta(0, { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] })]));
		assembler.push(chunk([delta(0, { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })]));
		assembler.push(chunk([delta(0, { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] })]));
		assembler.push(chunk([delta(0, { tool_calls: [{ index: 0, function: { arguments: ' "Paris"}' } }] })]));
		assembler.push(chunk([delta(0, {}, 'tool_calls')]));
		const message = assembler.completion().choices[0].message;
		expect(message.content).toBeNull();
		expect(message.tool_calls).toEqual([
			{ id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
			{ id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
		]);
	});

	it('copes with tool-call fragments without an index and with a name repeated in every fragment', () => {
		const assembler = new ChatAssembler();
		assembler.push(chunk([delta(0, { tool_calls: [{ id: 'x', function: { name: 'f', arguments: '{"a"' } }] })]));
		assembler.push(chunk([delta(0, { tool_calls: [{ function: { name: 'f', arguments: ':1}' } }] })]));
		assembler.push(chunk([delta(0, { tool_calls: [{ id: 'y', function: { name: 'g', arguments: '{}' } }] })]));
		assembler.push(chunk([delta(0, {}, 'tool_calls')]));
		expect(assembler.completion().choices[0].message.tool_calls).toEqual([
			{ id: 'x', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
			{ id: 'y', type: 'function', function: { name: 'g', arguments: '{}' } },
		]);
	});

	it('collects reasoning from reasoning_content and from reasoning without reporting it as content', () => {
		const assembler = new ChatAssembler();
		const deltas = [
			...assembler.push(chunk([delta(0, { role: 'assistant', reasoning_content: 'Think ' })])),
			...assembler.push(chunk([delta(0, { reasoning_content: 'hard.' })])),
			...assembler.push(chunk([delta(0, { reasoning: 'Other.' })])),
			...assembler.push(chunk([delta(0, { content: 'Answer' }, 'stop')])),
		];
		expect(deltas).toEqual([{ index: 0, text: 'Answer' }]);
		const message = assembler.completion().choices[0].message;
		expect(message).toEqual({ role: 'assistant', content: 'Answer', reasoning_content: 'Think hard.', reasoning: 'Other.' });
	});

	it('is not finished without any choice, and merges logprobs', () => {
		const assembler = new ChatAssembler();
		assembler.push(chunk([], { usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } }));
		expect(assembler.finished).toBe(false);
		assembler.push(chunk([{ index: 0, delta: { content: 'a' }, logprobs: { content: [{ token: 'a' }] }, finish_reason: null }]));
		assembler.push(chunk([{ index: 0, delta: { content: 'b' }, logprobs: { content: [{ token: 'b' }] }, finish_reason: 'stop' }]));
		expect(assembler.completion().choices[0].logprobs).toEqual({ content: [{ token: 'a' }, { token: 'b' }] });
	});

	it('switches between choices and back, and reads a choice without an index by its position', () => {
		const assembler = new ChatAssembler();
		const seen = [
			assembler.push(chunk([delta(0, { content: 'a' }), delta(1, { content: 'x' })])),
			assembler.push(chunk([delta(1, { content: 'y' })])),
			assembler.push(chunk([delta(0, { content: 'b' })])),
			assembler.push(chunk([{ delta: { content: 'c' }, finish_reason: 'stop' }, { delta: { content: 'z' }, finish_reason: 'stop' }])),
		];
		expect(seen).toEqual([
			[
				{ index: 0, text: 'a' },
				{ index: 1, text: 'x' },
			],
			[{ index: 1, text: 'y' }],
			[{ index: 0, text: 'b' }],
			[
				{ index: 0, text: 'c' },
				{ index: 1, text: 'z' },
			],
		]);
		expect(assembler.completion().choices.map((choice) => choice.message.content)).toEqual(['abc', 'xyz']);
	});

	it('takes the first non-empty id and model and the first created time, and the last fingerprint', () => {
		const assembler = new ChatAssembler();
		assembler.push({ id: '', model: '', created: 0, system_fingerprint: 'fp1', choices: [delta(0, { content: 'a' })] });
		assembler.push({ id: 'first', model: 'm1', created: 5, system_fingerprint: null, choices: [] });
		assembler.push({ id: 'second', model: 'm2', created: 6, choices: [delta(0, {}, 'stop')] });
		const completion = assembler.completion();
		expect([completion.id, completion.model, completion.created, completion.system_fingerprint]).toEqual(['first', 'm1', 5, null]);
		expect(assembler.chunks).toBe(3);
	});
});
