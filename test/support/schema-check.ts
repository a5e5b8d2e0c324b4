/**
 * A small JSON-schema checker for tests: the subset the examples and the fake model use
 * (type, enum, const, properties, required, additionalProperties, items, minItems/maxItems,
 * minimum/maximum, minLength/maxLength, anyOf/oneOf/allOf, local $ref). Returns the problems found,
 * so an assertion shows where a value does not fit. No dependency: the package has no validator.
 */
type Schema = Record<string, any>;

function isRecord(value: unknown): value is Record<string, any> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeMatches(type: string, value: unknown): boolean {
	switch (type) {
		case 'object':
			return isRecord(value);
		case 'array':
			return Array.isArray(value);
		case 'string':
			return typeof value === 'string';
		case 'integer':
			return Number.isInteger(value);
		case 'number':
			return typeof value === 'number' && Number.isFinite(value);
		case 'boolean':
			return typeof value === 'boolean';
		case 'null':
			return value === null;
		default:
			return true;
	}
}

function resolve(schema: Schema, root: Schema): Schema {
	if (typeof schema.$ref !== 'string' || !schema.$ref.startsWith('#')) return schema;
	const parts = schema.$ref.slice(1).split('/').filter(Boolean);
	return parts.reduce<any>((node, part) => node?.[part], root) ?? {};
}

export function schemaProblems(value: unknown, schema: Schema, root: Schema = schema, at = '$'): string[] {
	const s = resolve(schema, root);
	const problems: string[] = [];
	const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
	if (types.length > 0 && !types.some((type: string) => typeMatches(type, value))) {
		return [`${at}: expected ${types.join(' or ')}, got ${JSON.stringify(value)}`];
	}
	if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value)) problems.push(`${at}: expected const ${JSON.stringify(s.const)}`);
	if (Array.isArray(s.enum) && !s.enum.some((option: unknown) => JSON.stringify(option) === JSON.stringify(value))) {
		problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
	}
	for (const key of ['anyOf', 'oneOf'] as const) {
		if (Array.isArray(s[key]) && !s[key].some((option: Schema) => schemaProblems(value, option, root, at).length === 0)) {
			problems.push(`${at}: fits none of ${key}`);
		}
	}
	if (Array.isArray(s.allOf)) for (const part of s.allOf) problems.push(...schemaProblems(value, part, root, at));
	if (typeof value === 'string') {
		if (Number.isInteger(s.minLength) && Array.from(value).length < s.minLength) problems.push(`${at}: shorter than ${s.minLength}`);
		if (Number.isInteger(s.maxLength) && Array.from(value).length > s.maxLength) problems.push(`${at}: longer than ${s.maxLength}`);
	}
	if (typeof value === 'number') {
		if (typeof s.minimum === 'number' && value < s.minimum) problems.push(`${at}: below ${s.minimum}`);
		if (typeof s.maximum === 'number' && value > s.maximum) problems.push(`${at}: above ${s.maximum}`);
	}
	if (Array.isArray(value)) {
		if (Number.isInteger(s.minItems) && value.length < s.minItems) problems.push(`${at}: fewer than ${s.minItems} items`);
		if (Number.isInteger(s.maxItems) && value.length > s.maxItems) problems.push(`${at}: more than ${s.maxItems} items`);
		if (isRecord(s.items)) value.forEach((item, index) => problems.push(...schemaProblems(item, s.items, root, `${at}[${index}]`)));
	}
	if (isRecord(value)) {
		const properties: Record<string, Schema> = isRecord(s.properties) ? s.properties : {};
		for (const name of Array.isArray(s.required) ? s.required : []) {
			if (!(name in value)) problems.push(`${at}: missing required ${name}`);
		}
		for (const [name, item] of Object.entries(value)) {
			if (properties[name]) problems.push(...schemaProblems(item, properties[name], root, `${at}.${name}`));
			else if (s.additionalProperties === false) problems.push(`${at}: unexpected property ${name}`);
		}
	}
	return problems;
}
