import type { INodeProperties } from 'n8n-workflow';

import { maxRetriesOption, timeoutOption } from '../descriptions/options';
import { CHAT_MODEL_DEFAULTS } from './config';

/**
 * Options only the Chat Model has, or has with other defaults. Field names match the Chat
 * Completion node's, so both read the same form values.
 */
export const responseFormatOption: INodeProperties = {
	displayName: 'Response Format',
	name: 'responseFormat',
	type: 'options',
	options: [
		{ name: 'Text', value: 'text', description: 'Plain text, the usual answer' },
		{
			name: 'JSON Object',
			value: 'json_object',
			description: 'Valid JSON only. Say "JSON" in the prompt too; some models need it.',
		},
	],
	default: 'text',
	description: 'The form of the answer',
};

/** The model waits for a whole answer (no streaming), so the timeout covers the whole call. */
export const modelTimeoutOption: INodeProperties = {
	...timeoutOption,
	default: CHAT_MODEL_DEFAULTS.timeoutSeconds,
	description: 'How long to wait for each answer of the model before the call fails',
};

export const modelMaxRetriesOption: INodeProperties = {
	...maxRetriesOption,
	default: CHAT_MODEL_DEFAULTS.maxRetries,
};
