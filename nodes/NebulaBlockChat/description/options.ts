import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_JSON_SCHEMA_NAME } from '../../shared/chat/body';
import {
	batchDelayOption,
	concurrencyOption,
	enableStreamingOption,
	frequencyPenaltyOption,
	maxRetriesOption,
	maxTokensOption,
	presencePenaltyOption,
	stopOption,
	streamOption,
	temperatureOption,
	timeoutOption,
	topPOption,
} from '../../shared/descriptions/options';

/**
 * The Options collection of the Chat Completion node, in alphabetical order (n8n lists them so).
 * An option left out sends nothing: the model's own default applies.
 */
export const chatOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Additional Body Fields',
			name: 'additionalBodyFields',
			type: 'json',
			default: '{}',
			description:
				'JSON object merged into the request body last, for parameters this form lacks, e.g. {"top_k": 40, "repetition_penalty": 1.1}. Stream and stream_options are set by the Stream option.',
		},
		concurrencyOption,
		batchDelayOption,
		enableStreamingOption,
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'options',
			options: [
				{
					name: 'Chat Completions',
					value: 'chatCompletions',
					description: 'POST {Base URL}/chat/completions, the OpenAI-compatible API',
				},
				{
					name: 'Chat Text',
					value: 'chatText',
					description:
						'POST {Base URL}/inference/chat_text: truncates long prompts on the server; without Max Tokens it answers at most 200 tokens',
				},
			],
			default: 'chatCompletions',
			description: 'Which API of the service answers. The output has the same shape either way.',
		},
		frequencyPenaltyOption,
		{
			displayName: 'JSON Schema',
			name: 'jsonSchema',
			type: 'json',
			default: '{\n  "type": "object",\n  "properties": {\n    "answer": { "type": "string" }\n  },\n  "required": ["answer"]\n}',
			displayOptions: { show: { responseFormat: ['json_schema'] } },
			description: 'The JSON Schema the answer must follow',
		},
		{
			displayName: 'JSON Schema Name',
			name: 'jsonSchemaName',
			type: 'string',
			default: DEFAULT_JSON_SCHEMA_NAME,
			displayOptions: { show: { responseFormat: ['json_schema'] } },
			description: 'A name for the schema (letters, digits, underscores and dashes)',
		},
		maxRetriesOption,
		{
			...maxTokensOption,
			description:
				'The most tokens the answer may have; without this option the model\'s default applies. Longer answers stop with finish reason "length".',
		},
		{
			displayName: 'Number of Choices',
			name: 'numberOfChoices',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 10, numberPrecision: 0 },
			default: 1,
			description: 'How many different answers to generate. Each becomes its own output item, with its index.',
		},
		{
			displayName: 'Parse JSON Output',
			name: 'parseJsonOutput',
			type: 'boolean',
			default: false,
			displayOptions: { show: { '/simplify': [true] } },
			description:
				'Whether to turn the answer into the JSON object it holds (a Markdown code fence around it is fine). An answer that is not JSON stops the item with an error.',
		},
		presencePenaltyOption,
		{
			displayName: 'Prompt Truncate Length',
			name: 'promptTruncateLength',
			type: 'number',
			typeOptions: { minValue: 1, numberPrecision: 0 },
			default: 1500,
			description:
				'Token budget for the messages: the earliest messages other than the system message are left out until an estimate fits. With the Chat Text endpoint the service also truncates to this length.',
		},
		{
			displayName: 'Reasoning',
			name: 'reasoning',
			type: 'options',
			options: [
				{
					name: 'Separate',
					value: 'separate',
					description: 'Put the reasoning in its own "reasoning" field and keep the answer clean',
				},
				{
					name: 'Strip',
					value: 'strip',
					description: 'Leave the reasoning out of the result',
				},
				{
					name: 'Leave Inline',
					value: 'inline',
					description: 'Keep the reasoning in the content, in a &lt;think&gt; block',
				},
			],
			default: 'separate',
			displayOptions: { show: { '/simplify': [true] } },
			description:
				'What to do with the thinking of reasoning models (DeepSeek-R1, QwQ), whether it comes as reasoning_content, reasoning, or inline &lt;think&gt; tags',
		},
		{
			displayName: 'Response Format',
			name: 'responseFormat',
			type: 'options',
			options: [
				{ name: 'Text', value: 'text', description: 'Any text (the default)' },
				{ name: 'JSON Object', value: 'json_object', description: 'Valid JSON; say in the messages which fields you want' },
				{ name: 'JSON Schema', value: 'json_schema', description: 'JSON that follows the JSON Schema option' },
			],
			default: 'text',
			description: 'The form of the answer. Combine a JSON format with Parse JSON Output to get an object.',
		},
		{
			displayName: 'Seed',
			name: 'seed',
			type: 'number',
			typeOptions: { numberPrecision: 0 },
			default: 0,
			description: 'The same seed with the same request gives the same answer, where the model supports it',
		},
		stopOption,
		streamOption,
		temperatureOption,
		timeoutOption,
		{
			displayName: 'Tool Choice',
			name: 'toolChoice',
			type: 'options',
			options: [
				{ name: 'Auto', value: 'auto', description: 'The model decides whether to call a tool' },
				{ name: 'None', value: 'none', description: 'The model answers in text and calls no tool' },
				{ name: 'Required', value: 'required', description: 'The model must call at least one tool' },
				{ name: 'Function', value: 'function', description: 'The model must call the function named below' },
			],
			default: 'auto',
			description: 'Whether and which tool the model must call',
		},
		{
			displayName: 'Tool Choice Function Name',
			name: 'toolChoiceFunction',
			type: 'string',
			default: '',
			placeholder: 'e.g. get_weather',
			displayOptions: { show: { toolChoice: ['function'] } },
			description: 'The function the model must call, one of the Tools',
		},
		{
			displayName: 'Tools',
			name: 'tools',
			type: 'json',
			default:
				'[\n  {\n    "type": "function",\n    "function": {\n      "name": "get_weather",\n      "description": "Current weather in a city",\n      "parameters": {\n        "type": "object",\n        "properties": { "city": { "type": "string" } },\n        "required": ["city"]\n      }\n    }\n  }\n]',
			description:
				'JSON array of function definitions the model may call. Its calls come back in "toolCalls", with their arguments parsed.',
		},
		topPOption,
	],
};
