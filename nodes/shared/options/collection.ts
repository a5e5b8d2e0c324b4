import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ParameterReader } from '../modelParameter';
import { OPTIONS_THIS_EDITION_LACKS } from './edition';
import { fieldRule, isUnset } from './rules';
import { OPTION_TABLE, type NodeVariant, type OptionEntry, type OptionName, type OptionNode, type OptionValue } from './table';

/** One option a node offers, with its field as that node shows it. */
export interface OfferedOption {
	name: OptionName;
	entry: OptionEntry;
	variant: NodeVariant;
	field: INodeProperties;
}

/** The options one node offers, each with its field as that node shows it (fresh copies, the caller's to change). */
export function optionsOf(node: OptionNode): OfferedOption[] {
	const lacking = OPTIONS_THIS_EDITION_LACKS[node] ?? [];
	return (Object.entries(OPTION_TABLE) as Array<[OptionName, OptionEntry]>)
		.filter(([name, entry]) => entry.offeredBy[node] !== undefined && !lacking.includes(name))
		.map(([name, entry]) => {
			const variant = entry.offeredBy[node] as NodeVariant;
			const field: INodeProperties = { ...entry.field };
			if (variant.default !== undefined) field.default = variant.default;
			if (variant.description !== undefined) field.description = variant.description;
			if (variant.options !== undefined) field.options = variant.options;
			return { name, entry, variant, field };
		});
}

/**
 * optionsOf per node, built once: the table and the edition are fixed for the life of the process.
 * For the readers that run per item (checkOptions, plainBodyFields), which only read it: building
 * it twice per item copied every field of the table: about 14 KB of garbage per item, of the
 * 95 KB a 10,000-item run allocated per item (benchmark figure 6). The list, its entries and their fields are frozen: a
 * reader that tried to change one would fail instead of changing it for every later item.
 */
const offeredByNode = new Map<OptionNode, readonly Readonly<OfferedOption>[]>();

function offeredOptions(node: OptionNode): readonly Readonly<OfferedOption>[] {
	let offered = offeredByNode.get(node);
	if (offered === undefined) {
		offered = Object.freeze(optionsOf(node).map((option) => Object.freeze({ ...option, field: Object.freeze(option.field) })));
		offeredByNode.set(node, offered);
	}
	return offered;
}

/** A node's Options collection, in alphabetical order of display name as n8n lists options. */
export function optionsCollection(node: OptionNode): INodeProperties {
	const fields = optionsOf(node)
		.map(({ field }) => field)
		.sort((a, b) => a.displayName.localeCompare(b.displayName));
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: fields,
	};
}

/** The options of one item, each checked by its rule; an option left out is absent. */
export type OptionValues = { [Name in OptionName]?: OptionValue<Name> };

/** The checked options, or the first one that breaks its rule and how to fix it. */
export type CheckedOptions = { ok: true; values: OptionValues } | { ok: false; message: string; fix: string };

/**
 * Checks every option a node offers by its rule, the same way in every node: a pure function of
 * the Options collection as n8n hands it over. Options a node sends with their default (Text
 * Generate's) get it when left out.
 */
export function checkOptions(node: OptionNode, given: IDataObject): CheckedOptions {
	// Each value comes out of its option's rule, which makes it the type OptionValue says.
	const values: Record<string, unknown> = {};
	const offered = offeredOptions(node);
	// An index, not for...of: V8 made an iterator result per option here, about 1 KB per item.
	for (let index = 0; index < offered.length; index++) {
		const { name, entry, variant, field } = offered[index];
		const raw = given[name];
		if (isUnset(raw)) {
			if (variant.sentWhenUnset) values[name] = field.default;
			continue;
		}
		const checked = (variant.rule ?? entry.rule ?? fieldRule(field))(raw, field);
		if (!checked.ok) return checked;
		if (checked.value !== undefined) values[name] = checked.value;
	}
	return { ok: true, values: values as OptionValues };
}

/**
 * Reads the Options collection of one item and checks it. An expression may give a value of the
 * wrong type (n8n does not check the expressions inside a collection): it stops the item with a
 * NodeOperationError that names the field and the item.
 */
export function readOptions(context: ParameterReader, itemIndex: number, node: OptionNode): OptionValues {
	const given = (context.getNodeParameter('options', itemIndex, {}) ?? {}) as IDataObject;
	const checked = checkOptions(node, given);
	if (checked.ok) return checked.values;
	throw new NodeOperationError(context.getNode(), checked.message, {
		itemIndex,
		description: `${checked.fix} (item ${itemIndex})`,
	});
}

/** The body fields sent as they are (`bodyKey`): the same for every node and endpoint that offers them. */
export function plainBodyFields(node: OptionNode, values: OptionValues): Record<string, unknown> {
	const body: Record<string, unknown> = {};
	const offered = offeredOptions(node);
	// An index, not for...of: see checkOptions.
	for (let index = 0; index < offered.length; index++) {
		const { name, entry } = offered[index];
		if (entry.bodyKey !== undefined && values[name] !== undefined) body[entry.bodyKey] = values[name];
	}
	return body;
}

/** How the runner paces the items, read once, from item 0. */
export interface RunSettings {
	/** Auto: the limiter shared per credential and origin decides how many go at once; Fixed: `concurrency`, as before Auto existed. */
	mode: 'auto' | 'fixed';
	/** Fixed: items at once. Auto: the most this node sends at once. */
	concurrency: number;
	batchDelayMs: number;
	includeRateLimitStats: boolean;
}

/** With Auto and no Concurrency set, how many items the runner starts at once; the limiter lets go as many as the service takes. */
export const AUTO_MAX_CONCURRENCY = 64;

/**
 * The options the item runner reads before any item runs, checked by the same rules as every
 * other option (an expression that gives "many" stops the node with the field's name, instead of
 * a NaN reaching the pool). Without Concurrency Mode, a workflow that sets Concurrency or Delay
 * Between Batches keeps the fixed pacing it was built with; Auto is for those that set neither.
 */
export function readRunSettings(context: ParameterReader): RunSettings {
	const given = (context.getNodeParameter('options', 0, {}) ?? {}) as IDataObject;
	const fail = (message: string, fix: string) =>
		new NodeOperationError(context.getNode(), message, { itemIndex: 0, description: `${fix} (item 0)` });
	// Each value comes out of its field's rule, which makes it the type its field declares.
	const read = (name: 'concurrency' | 'batchDelay' | 'concurrencyMode' | 'includeRateLimitStats'): unknown => {
		const { field } = OPTION_TABLE[name];
		if (isUnset(given[name])) return undefined;
		const checked = fieldRule(field)(given[name], field);
		if (checked.ok) return checked.value;
		throw fail(checked.message, checked.fix);
	};
	const concurrency = read('concurrency') as number | undefined;
	const batchDelayMs = (read('batchDelay') as number | undefined) ?? OPTION_TABLE.batchDelay.field.default;
	const chosenMode = read('concurrencyMode') as RunSettings['mode'] | undefined;
	const mode = chosenMode ?? (concurrency !== undefined || batchDelayMs > 0 ? 'fixed' : 'auto');
	if (mode === 'auto' && batchDelayMs > 0) {
		throw fail(
			'Delay Between Batches needs Concurrency Mode Fixed',
			'Batches are Concurrency items each, a fixed number: set Concurrency Mode to Fixed, or remove Delay Between Batches and let Auto pace the requests.',
		);
	}
	return {
		mode,
		concurrency: concurrency ?? (mode === 'auto' ? AUTO_MAX_CONCURRENCY : OPTION_TABLE.concurrency.field.default),
		batchDelayMs,
		includeRateLimitStats: read('includeRateLimitStats') === true,
	};
}
