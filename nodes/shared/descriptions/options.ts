import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_CONCURRENCY } from '../runner';

/**
 * Options both generation nodes offer, one definition each (a node spreads one to change its
 * default, e.g. Text Generate's Max Tokens of 256). A node composes its Options
 * collection from these, so a fix to one field reaches every node.
 */
export const maxTokensOption: INodeProperties = {
	displayName: 'Max Tokens',
	name: 'maxTokens',
	type: 'number',
	typeOptions: { minValue: 1, numberPrecision: 0 },
	default: 1024,
	description: 'The most tokens the answer may have. Longer answers stop with finish reason "length".',
};

export const temperatureOption: INodeProperties = {
	displayName: 'Temperature',
	name: 'temperature',
	type: 'number',
	typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 2 },
	default: 1,
	description: 'Randomness of the answer: lower is more focused and repeatable, higher more varied',
};

export const topPOption: INodeProperties = {
	displayName: 'Top P',
	name: 'topP',
	type: 'number',
	typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
	default: 1,
	description: 'Nucleus sampling: only the tokens within this probability mass are considered. Change this or Temperature, not both.',
};

export const frequencyPenaltyOption: INodeProperties = {
	displayName: 'Frequency Penalty',
	name: 'frequencyPenalty',
	type: 'number',
	typeOptions: { minValue: -2, maxValue: 2, numberPrecision: 2 },
	default: 0,
	description: 'Positive values make the model repeat the same words less often',
};

export const presencePenaltyOption: INodeProperties = {
	displayName: 'Presence Penalty',
	name: 'presencePenalty',
	type: 'number',
	typeOptions: { minValue: -2, maxValue: 2, numberPrecision: 2 },
	default: 0,
	description: 'Positive values make the model more likely to talk about new topics',
};

export const stopOption: INodeProperties = {
	displayName: 'Stop Sequences',
	name: 'stop',
	type: 'string',
	default: '',
	placeholder: 'e.g. ###, END',
	description: 'Comma-separated text that ends the answer when the model writes it (at most 4)',
};

export const streamOption: INodeProperties = {
	displayName: 'Stream',
	name: 'stream',
	type: 'boolean',
	default: true,
	description:
		'Whether to receive the answer token by token. It keeps long generations alive through proxies and lets n8n stream the answer to a chat; the node still returns one complete result.',
};

/** n8n's AI Agent has the same option, with the same name and default. */
export const enableStreamingOption: INodeProperties = {
	displayName: 'Enable Streaming',
	name: 'enableStreaming',
	type: 'boolean',
	default: true,
	description:
		'Whether to stream the answer to the chat as it is generated, when the workflow answers a Chat Trigger or a Webhook whose Response Mode is Streaming. Independent of Stream, which governs the request to Nebula Block: with Stream off the chat gets the whole answer at once. Never streams when the node is an AI Agent tool.',
};

export const timeoutOption: INodeProperties = {
	displayName: 'Timeout (Seconds)',
	name: 'timeout',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: 600,
	description:
		'How long to wait for the answer to start: with Stream on, until its first token arrives; with Stream off, until the whole answer is there. Once tokens arrive, a stream is never cut while they keep coming: only a silence of more than 5 minutes between two of them (the idle limit) ends it.',
};

export const maxRetriesOption: INodeProperties = {
	displayName: 'Max Retries',
	name: 'maxRetries',
	type: 'number',
	typeOptions: { minValue: 0, maxValue: 10, numberPrecision: 0 },
	default: 2,
	description: 'How often to retry after a rate limit (429), a server error (5xx) or a dropped connection',
};

export const concurrencyOption: INodeProperties = {
	displayName: 'Concurrency',
	name: 'concurrency',
	type: 'number',
	typeOptions: { minValue: 1, maxValue: 100, numberPrecision: 0 },
	default: DEFAULT_CONCURRENCY,
	description: 'How many items are sent to the service at once. Output order always equals input order.',
};

export const batchDelayOption: INodeProperties = {
	displayName: 'Delay Between Batches (Milliseconds)',
	name: 'batchDelay',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 0,
	description: 'Pause after each batch of Concurrency items, to stay under a requests-per-minute limit. 0 sends the next item as soon as one finishes.',
};

export const simplifyParameter: INodeProperties = {
	displayName: 'Simplify Output',
	name: 'simplify',
	type: 'boolean',
	default: true,
	description: 'Whether to return a short result (text, finish reason, usage) instead of the whole API response',
};
