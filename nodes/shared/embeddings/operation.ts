import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import { DEFAULT_OUTPUT_FIELD } from '../options/table';
import { policyFromOptions } from '../policy';
import type { ItemOperation } from '../runner';
import { embedTexts } from './embed';
import { embeddingSettings } from './settings';

/**
 * The Embed node's work for one item: its Text becomes one vector, put on the item under Put Output
 * In Field, with the model and the usage. One request per item: the runner runs items one by one
 * (several at once, paced by the shared limiter under Concurrency Auto).
 */
export const embedOperation: ItemOperation = async (context, run) => {
	const { itemIndex } = run;
	const options = readOptions(context, itemIndex, 'embed');
	const model = readModelId(context, itemIndex);
	const text = readText(context, itemIndex);
	const embedded = await embedTexts({
		connection: run.connection,
		model,
		texts: [text],
		settings: { ...embeddingSettings(options), batchSize: 1 },
		policy: policyFromOptions(options, run),
		nameOf: () => `The text of item ${itemIndex}`,
	});
	const field = options.outputField ?? DEFAULT_OUTPUT_FIELD;
	const input = context.getInputData()[itemIndex]?.json ?? {};
	return [
		{
			...input,
			[field]: embedded.vectors[0],
			model: embedded.model,
			usage: embedded.usage,
			...(embedded.truncated.length > 0 ? { truncated: true } : {}),
		},
	];
};

function readText(context: IExecuteFunctions, itemIndex: number): string {
	const value = context.getNodeParameter('text', itemIndex, '') as unknown;
	// An expression may yield a number or boolean; text is what the service takes.
	const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
	if (typeof text !== 'string') {
		throw new NodeOperationError(context.getNode(), 'The text to embed is not text', {
			itemIndex,
			description: `The Text of item ${itemIndex} is ${Array.isArray(value) ? 'a list' : 'an object'}: make its expression return text, e.g. {{ JSON.stringify($json.data) }}.`,
		});
	}
	if (text.trim() === '') {
		throw new NodeOperationError(context.getNode(), 'The text to embed is empty', {
			itemIndex,
			description: `The Text of item ${itemIndex} is empty: check that its expression returns text for this item, e.g. {{ $json.text }}.`,
		});
	}
	return text;
}
