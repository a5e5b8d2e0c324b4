import type { IExecuteFunctions, ISupplyDataFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

type ParameterReader = Pick<IExecuteFunctions | ISupplyDataFunctions, 'getNodeParameter' | 'getNode'>;

/** The Model field's ID for one item; an empty one (e.g. an expression that gave nothing) stops the item. */
export function readModelId(context: ParameterReader, itemIndex: number): string {
	const model = String(context.getNodeParameter('model', itemIndex, '', { extractValue: true }) ?? '').trim();
	if (model !== '') return model;
	throw new NodeOperationError(context.getNode(), 'No model selected', {
		itemIndex,
		description: 'Pick a model from the list, or switch Model to "By ID" and type one, e.g. meta-llama/Llama-3.3-70B-Instruct.',
	});
}
