import { simplifyGeneration, streamedReply } from '../../nodes/shared/text/output';

describe('simplifyGeneration', () => {
	it('gives text, finish reason, usage in camel case and the model the service names', () => {
		const item = simplifyGeneration(
			{
				text: 'Hello',
				finishReason: 'stop',
				usage: { prompt_tokens: 8, completion_tokens: 12, total_tokens: 20 },
				model: 'served/model',
			},
			'asked/model',
		);
		expect(item).toEqual({
			text: 'Hello',
			finishReason: 'stop',
			usage: { promptTokens: 8, completionTokens: 12, totalTokens: 20 },
			model: 'served/model',
		});
	});

	it('falls back to the requested model and leaves unknown usage out', () => {
		expect(simplifyGeneration({ text: 'x', finishReason: null }, 'asked/model')).toEqual({
			text: 'x',
			finishReason: null,
			model: 'asked/model',
		});
	});

	it('adds up a missing total from the two counts it has', () => {
		const item = simplifyGeneration(
			{ text: '', finishReason: 'stop', usage: { prompt_tokens: 2, completion_tokens: 3 } },
			'm',
		);
		expect(item.usage).toEqual({ promptTokens: 2, completionTokens: 3, totalTokens: 5 });
	});
});

describe('streamedReply', () => {
	it('is the reply a non-streamed call would have given', () => {
		expect(streamedReply({ text: 'Hi', finishReason: 'stop' })).toEqual({
			status: 'success',
			data: { text: 'Hi', finish_reason: 'stop' },
		});
	});

	it('includes usage and model when the stream carried them', () => {
		const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
		expect(streamedReply({ text: 'Hi', finishReason: 'length', usage, model: 'fake/m' })).toEqual({
			status: 'success',
			data: { text: 'Hi', usage, model: 'fake/m', finish_reason: 'length' },
		});
	});
});
