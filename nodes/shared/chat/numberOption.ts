import { ChatInputError } from './inputError';

/**
 * A number from the form, or from an expression that gave a numeric string; empty means unset.
 * A value that breaks the rules stops the item with how to fix it.
 */
export function numberOption(
	value: unknown,
	label: string,
	rules: { min?: number; integer?: boolean } = {},
): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const number = typeof value === 'string' ? Number(value.trim()) : value;
	if (typeof number !== 'number' || !Number.isFinite(number)) {
		throw new ChatInputError(`${label} must be a number, not ${JSON.stringify(value)}`, `Set ${label} to a number, or remove the option.`);
	}
	const tooSmall = rules.min !== undefined && number < rules.min;
	if (tooSmall || (rules.integer === true && !Number.isInteger(number))) {
		const kind = rules.integer === true ? 'a whole number' : 'a number';
		const wanted = rules.min === undefined ? kind : `${kind} of at least ${rules.min}`;
		throw new ChatInputError(`${label} must be ${wanted}, not ${number}`, `Set ${label} to ${wanted}, or remove the option.`);
	}
	return number;
}
