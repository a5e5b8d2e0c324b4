/**
 * A problem the user can fix (what they entered, or asked for, like Parse JSON Output on an
 * answer that is not JSON), found by a pure function that has no node to blame. The runner
 * (through `toNodeError`) turns it into a NodeOperationError with the item index; `description`
 * says how to fix it. The options are checked before any such function runs (`readOptions`),
 * which makes its NodeOperationError itself.
 */
export class InputError extends Error {
	readonly description: string;

	constructor(message: string, description: string) {
		super(message);
		this.name = 'InputError';
		this.description = description;
	}
}

/** A value as an error message names it: `the text "abc"`, `an array`, `the number 3`. */
export function describeValue(value: unknown): string {
	if (value === null || value === undefined) return String(value);
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'object') return 'an object';
	if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
	return `${typeof value === 'number' ? 'the number' : typeof value} ${String(value)}`;
}
