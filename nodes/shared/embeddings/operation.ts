import { readModelId } from '../modelParameter';
import { readOptions } from '../options/collection';
import { DEFAULT_OUTPUT_FIELD } from '../options/table';
import { policyFromOptions } from '../policy';
import type { ItemOperation } from '../runner';
import { readTextParameter, type TextParameter } from '../textParameter';
import { embedTexts } from './embed';
import { embeddingSettings } from './settings';

const TEXT: TextParameter = {
	name: 'text',
	label: 'Text',
	what: 'the text to embed',
	whenEmpty: 'check that its expression returns text for this item, e.g. {{ $json.text }}',
};

/**
 * The Embed node's work for one item: its Text becomes one vector, put on the item under Put Output
 * In Field, with the model and the usage. One request per item: the runner runs items one by one
 * (several at once, paced by the shared limiter under Concurrency Auto).
 */
export const embedOperation: ItemOperation = async (context, run) => {
	const { itemIndex } = run;
	const options = readOptions(context, itemIndex, 'embed');
	const model = readModelId(context, itemIndex);
	const text = readTextParameter(context, itemIndex, TEXT);
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
