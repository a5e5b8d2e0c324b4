import type { IExecuteFunctions, ISupplyDataFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/** What reading a node's parameters takes, in a node that runs (execute) or supplies a model. */
export type ParameterReader = Pick<IExecuteFunctions | ISupplyDataFunctions, 'getNodeParameter' | 'getNode'>;

/** The Model field's ID for one item; an empty one (e.g. an expression that gave nothing) stops the item. */
export function readModelId(context: ParameterReader, itemIndex: number): string {
	const model = String(context.getNodeParameter('model', itemIndex, '', { extractValue: true }) ?? '').trim();
	if (model !== '') return model;
	throw new NodeOperationError(context.getNode(), 'No model selected', { itemIndex, description: emptyModelHint(context, itemIndex) });
}

const EXAMPLE_MODEL = 'meta-llama/Llama-3.3-70B-Instruct';

/**
 * n8n itself refuses to run with an empty Model, so an empty one here came from an expression:
 * telling someone who already typed one "By ID" to switch to "By ID" helps nobody.
 */
function emptyModelHint(context: ParameterReader, itemIndex: number): string {
	const raw = context.getNodeParameter('model', itemIndex, '', { rawExpressions: true }) as unknown;
	const locator = typeof raw === 'object' && raw !== null ? (raw as { mode?: unknown; value?: unknown }) : { value: raw };
	if (typeof locator.value === 'string' && locator.value.startsWith('=')) {
		return `Model is an expression that gave no model ID for this item: make it return one, e.g. ${EXAMPLE_MODEL}, or check the field it reads.`;
	}
	return `Pick a model from the list, or switch Model to "By ID" and type one, e.g. ${EXAMPLE_MODEL}.`;
}
