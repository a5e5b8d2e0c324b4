import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/** How the errors name a text field: its form label and what it is in the user's words. */
export interface TextParameter {
	/** The parameter's name, e.g. `prompt`. */
	name: string;
	/** Its display name, e.g. "Prompt". */
	label: string;
	/** What it holds, for the error title, e.g. "the prompt". */
	what: string;
	/** How to fill an empty one, e.g. "type a prompt, or check that its expression returns text for this item". */
	whenEmpty: string;
}

/**
 * A text field the service takes as text: a number or boolean from an expression becomes text, a
 * list, an object or nothing at all is a NodeOperationError of the item that says how to fix it.
 */
export function readTextParameter(context: IExecuteFunctions, itemIndex: number, field: TextParameter): string {
	const value = context.getNodeParameter(field.name, itemIndex, '') as unknown;
	const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
	const title = field.what.charAt(0).toUpperCase() + field.what.slice(1);
	if (typeof text !== 'string') {
		throw new NodeOperationError(context.getNode(), `${title} is not text`, {
			itemIndex,
			description: `The ${field.label} of item ${itemIndex} is ${Array.isArray(value) ? 'a list' : 'an object'}: make its expression return text, e.g. {{ JSON.stringify($json.data) }}.`,
		});
	}
	if (text.trim() === '') {
		throw new NodeOperationError(context.getNode(), `${title} is empty`, {
			itemIndex,
			description: `The ${field.label} of item ${itemIndex} is empty: ${field.whenEmpty}.`,
		});
	}
	return text;
}
