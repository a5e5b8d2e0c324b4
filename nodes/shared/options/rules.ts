import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { describeValue } from '../inputError';
import { isObject, parseJson } from '../json';

/**
 * What one option's value becomes after its rule: the value to use, or what is wrong with it and
 * how to fix it. Rules return rather than throw, so the one reader that calls them
 * (`readOptions`) makes every option's error the same way, with the item it belongs to.
 */
export type Checked = { ok: true; value: unknown } | { ok: false; message: string; fix: string };

/** A rule of its own, for an option its field type does not describe (a JSON array, a list). */
export type OptionRule = (value: unknown, field: INodeProperties) => Checked;

const valid = (value: unknown): Checked => ({ ok: true, value });

function invalid(label: string, expected: string, value: unknown): Checked {
	return {
		ok: false,
		message: `${label} must be ${expected}, not ${describeValue(value)}`,
		fix: `Set ${label} to ${expected}, or remove the option; if it is an expression, check what it gives.`,
	};
}

/** Unset: the option was not added, or an expression gave nothing. */
export function isUnset(value: unknown): boolean {
	return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * The rule a field's own declaration states: a number within its minValue/maxValue (whole when
 * its precision is 0), a boolean, one of its choices, text. The form enforces the same for typed
 * values; expressions reach the node unchecked, so the node applies it again.
 */
export function fieldRule(field: INodeProperties): OptionRule {
	switch (field.type) {
		case 'number':
			return numberRule(field);
		case 'boolean':
			return booleanRule;
		case 'options':
			return choiceRule((field.options ?? []) as INodePropertyOptions[]);
		case 'string':
			return textRule;
		default:
			return valid;
	}
}

/** "a whole number from 1 to 10", "a number of at least 0": the words of a number field's rule. */
export function expectedNumber(field: INodeProperties): string {
	const { minValue: min, maxValue: max, numberPrecision } = field.typeOptions ?? {};
	const kind = numberPrecision === 0 ? 'a whole number' : 'a number';
	if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
	if (min !== undefined) return `${kind} of at least ${min}`;
	if (max !== undefined) return `${kind} of at most ${max}`;
	return kind;
}

function numberRule(field: INodeProperties): OptionRule {
	const { minValue: min, maxValue: max, numberPrecision } = field.typeOptions ?? {};
	const expected = expectedNumber(field);
	const label = field.displayName;
	return (value) => {
		// An expression gives text ("300"); a number written as text is still that number.
		const number = typeof value === 'string' ? Number(value.trim()) : value;
		if (typeof number !== 'number' || !Number.isFinite(number)) return invalid(label, expected, value);
		const outside = (min !== undefined && number < min) || (max !== undefined && number > max);
		if (outside || (numberPrecision === 0 && !Number.isInteger(number))) return invalid(label, expected, value);
		return valid(number);
	};
}

const booleanRule: OptionRule = (value, field) => {
	if (typeof value === 'boolean') return valid(value);
	if (value === 'true' || value === 'false') return valid(value === 'true');
	return invalid(field.displayName, 'true or false', value);
};

function choiceRule(choices: INodePropertyOptions[]): OptionRule {
	const values = choices.map((choice) => choice.value);
	const expected = `one of ${values.map((value) => JSON.stringify(value)).join(', ')}`;
	return (value, field) => (values.includes(value as string) ? valid(value) : invalid(field.displayName, expected, value));
}

const textRule: OptionRule = (value, field) => {
	if (typeof value === 'string') return valid(value);
	if (typeof value === 'number' || typeof value === 'boolean') return valid(String(value));
	return invalid(field.displayName, 'text', value);
};

/** JSON typed into a field, or the value an expression gave; `isShape` says what it must be. */
function jsonRule(isShape: (value: unknown) => boolean, expected: string, example: string): OptionRule {
	return (value, field) => {
		const label = field.displayName;
		let parsed = value;
		if (typeof value === 'string') {
			const json = parseJson(value);
			if (!json.ok) return { ok: false, message: `${label} is not valid JSON: ${json.error}`, fix: `Check the JSON in ${label}, e.g. ${example}.` };
			parsed = json.value;
		}
		if (!isShape(parsed)) {
			return { ok: false, message: `${label} must be ${expected}, not ${describeValue(parsed)}`, fix: `Write ${label} as ${expected}, e.g. ${example}.` };
		}
		return valid(parsed);
	};
}

export const jsonObjectRule = jsonRule(isObject, 'a JSON object', '{"key": "value"}');

export const jsonArrayRule = jsonRule(Array.isArray, 'a JSON array', '[{"type": "function", "function": {"name": "get_weather"}}]');

/** "###, END" or a list from an expression -> ['###', 'END']; blanks are dropped, nothing left is unset. */
export const stopSequencesRule: OptionRule = (value, field) => {
	const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : typeof value === 'number' ? [value] : undefined;
	if (list === undefined || !list.every((entry) => ['string', 'number'].includes(typeof entry))) {
		return invalid(field.displayName, 'comma-separated text or a list of texts', value);
	}
	const sequences = list.map((entry) => String(entry).trim()).filter((entry) => entry !== '');
	return valid(sequences.length > 0 ? sequences : undefined);
};
