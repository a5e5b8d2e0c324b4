/**
 * What the fake Nebula Block server answers when a test scripted nothing: a stand-in for a model,
 * good enough that every example workflow runs in the sandbox the way it would against the service.
 *
 * - `response_format` json_schema: a JSON value built from the schema (types, required properties,
 *   enums, nested objects and arrays), its strings and enum choices taken from the user's message;
 * - `response_format` json_object: a JSON object holding the user's message;
 * - `tools` offered and no tool result since the last user message: a call of the tool that fits the
 *   message best, its arguments built from the tool's parameter schema;
 * - a tool result since the last user message: a final answer that quotes it (an n8n item's text
 *   field, or the texts of the content parts in it);
 * - images in the last user message: a description of what arrived (each image's MIME type and
 *   byte size, or its URL), then the question, like a vision model that can only count bytes;
 * - otherwise the plain echo ("Echo: <last user message>").
 *
 * Deterministic on purpose: the same request always gets the same answer, so tests can assert it.
 * Node built-ins only (the server is started by plain `npx tsx` scripts too).
 */

export interface FakeToolCallAnswer {
	id: string;
	name: string;
	arguments: string;
}

export type ModelAnswer =
	| { kind: 'text'; text: string }
	/** Already-serialised JSON: never cut by max_tokens, or it would stop being JSON. */
	| { kind: 'json'; text: string }
	| { kind: 'toolCalls'; toolCalls: FakeToolCallAnswer[] };

interface Message {
	role?: unknown;
	content?: unknown;
	name?: unknown;
	tool_call_id?: unknown;
	tool_calls?: unknown;
}

type Schema = Record<string, any>;

const MAX_SCHEMA_DEPTH = 8;
const SUMMARY_WORDS = 12;

function isRecord(value: unknown): value is Record<string, any> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of a message's content: a string, or the text parts of a content list joined by spaces. */
export function textOf(content: unknown): string {
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	return content
		.filter((part): part is { text: string } => typeof part?.text === 'string')
		.map((part) => part.text)
		.join(' ');
}

function messagesOf(body: Record<string, any>): Message[] {
	return Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
}

function lastUserIndex(messages: Message[]): number {
	for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return i;
	return -1;
}

/** The text the answer is about: the last user message. */
export function userTextOf(body: Record<string, any>): string {
	const messages = messagesOf(body);
	const index = lastUserIndex(messages);
	return index === -1 ? '' : textOf(messages[index].content);
}

/**
 * The default answer for a chat request, or undefined for the plain echo (which the server builds,
 * cutting it to max_tokens as it always did).
 */
export function defaultModelAnswer(body: Record<string, any>): ModelAnswer | undefined {
	const userText = userTextOf(body);
	const toolResults = toolResultsSinceLastUser(messagesOf(body));
	if (toolResults.length > 0) {
		const answer = finalAnswerFrom(toolResults);
		// A final answer follows the requested format too, its strings built from the tool results.
		return jsonAnswer(body.response_format, answer) ?? { kind: 'text', text: answer };
	}
	const call = toolCallFor(body, userText);
	if (call) return { kind: 'toolCalls', toolCalls: [call] };
	const images = imagesOfLastUser(messagesOf(body));
	if (images.length > 0) {
		const text = describeImages(images, userText);
		return jsonAnswer(body.response_format, text) ?? { kind: 'text', text };
	}
	return jsonAnswer(body.response_format, userText);
}

/** What one image_url part carried, as the fake can tell: the data URL's type and decoded size, or the URL. */
export function describeImagePart(url: string): string {
	const match = /^data:([^;,]+)[^,]*;base64,(.*)$/s.exec(url);
	if (match) return `an ${match[1]} image of ${Buffer.from(match[2], 'base64').length} bytes`;
	return `an image at ${url}`;
}

function imagesOfLastUser(messages: Message[]): string[] {
	const index = lastUserIndex(messages);
	const content = index === -1 ? undefined : messages[index].content;
	if (!Array.isArray(content)) return [];
	return content
		.filter((part) => isRecord(part) && part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string')
		.map((part) => part.image_url.url as string);
}

function describeImages(urls: string[], question: string): string {
	const count = urls.length === 1 ? 'one image' : `${urls.length} images`;
	const asked = question.trim() === '' ? '' : ` You asked: ${question.trim()}`;
	return `I received ${count}: ${urls.map(describeImagePart).join('; ')}.${asked}`;
}

/** JSON in the requested response_format, or undefined when it asks for none. */
function jsonAnswer(format: unknown, text: string): ModelAnswer | undefined {
	if (isRecord(format) && format.type === 'json_schema') {
		const schema = isRecord(format.json_schema?.schema) ? format.json_schema.schema : {};
		return { kind: 'json', text: JSON.stringify(valueForSchema(schema, text)) };
	}
	if (isRecord(format) && format.type === 'json_object') return { kind: 'json', text: JSON.stringify({ answer: text }) };
	return undefined;
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

interface ToolResult {
	name: string;
	text: string;
}

/** Tool messages after the last user message: the model asked, the tools answered, now it must reply. */
function toolResultsSinceLastUser(messages: Message[]): ToolResult[] {
	const start = lastUserIndex(messages) + 1;
	const namesById = new Map<string, string>();
	const results: ToolResult[] = [];
	for (const message of messages.slice(start)) {
		if (message.role === 'assistant' && Array.isArray(message.tool_calls)) {
			for (const call of message.tool_calls) {
				if (isRecord(call) && typeof call.id === 'string') namesById.set(call.id, String(call.function?.name ?? 'tool'));
			}
		}
		if (message.role !== 'tool') continue;
		const name = typeof message.name === 'string' ? message.name : (namesById.get(String(message.tool_call_id)) ?? 'tool');
		results.push({ name, text: readableToolResult(textOf(message.content)) });
	}
	return results;
}

/** The texts of a list of text content parts (`[{ type: 'text', text }]`), one a line, or undefined for anything else. */
function textPartsOf(value: unknown): string | undefined {
	if (!Array.isArray(value) || value.length === 0) return undefined;
	if (!value.every((part) => isRecord(part) && part.type === 'text' && typeof part.text === 'string')) return undefined;
	return value.map((part) => part.text as string).join('\n');
}

/**
 * A tool that answers with n8n items (JSON) is quoted by its text field, as a model would read it;
 * a field holding text parts (a vector store as a tool: one part per document found) by their texts.
 */
function readableToolResult(text: string): string {
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return text;
	}
	const first = Array.isArray(parsed) ? parsed[0] : parsed;
	const item = isRecord(first) && isRecord(first.json) ? first.json : first;
	if (isRecord(item)) {
		for (const field of ['response', 'output', 'content', 'text', 'result', 'answer']) {
			if (typeof item[field] === 'string' && item[field] !== '') return item[field];
			const parts = textPartsOf(item[field]);
			if (parts !== undefined) return parts;
		}
	}
	return typeof parsed === 'string' ? parsed : text;
}

function finalAnswerFrom(results: ToolResult[]): string {
	return results.map((result) => `The ${result.name} tool answered: ${result.text}`).join('\n');
}

interface ToolFunction {
	name: string;
	description: string;
	parameters: Schema;
}

function offeredTools(body: Record<string, any>): ToolFunction[] {
	if (!Array.isArray(body.tools)) return [];
	return body.tools
		.map((tool: unknown) => (isRecord(tool) && isRecord(tool.function) ? tool.function : undefined))
		.filter((fn: unknown): fn is Record<string, any> => isRecord(fn) && typeof fn.name === 'string' && fn.name !== '')
		.map((fn: Record<string, any>) => ({
			name: fn.name,
			description: typeof fn.description === 'string' ? fn.description : '',
			parameters: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
		}));
}

/** tool_choice "none" or no tools: answer in text; a named function: call that one; else the best fit. */
function toolCallFor(body: Record<string, any>, userText: string): FakeToolCallAnswer | undefined {
	const tools = offeredTools(body);
	if (tools.length === 0 || body.tool_choice === 'none') return undefined;
	const forced = isRecord(body.tool_choice) ? body.tool_choice.function?.name : undefined;
	const tool = tools.find((candidate) => candidate.name === forced) ?? bestMatch(tools, userText, (t) => `${t.name} ${t.description}`);
	const args = isCalculator(tool) ? calculatorArguments(tool, userText) : valueForSchema(tool.parameters, userText);
	return { id: `call_${tool.name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 24)}_1`, name: tool.name, arguments: JSON.stringify(args) };
}

function isCalculator(tool: ToolFunction): boolean {
	return /calculat|arithmetic|\bmath/i.test(`${tool.name} ${tool.description}`);
}

/**
 * A calculator needs an expression, not the question: the one written in the message, or else
 * the product of its numbers ("37 boxes of 12 cookies ... in a 6-day week" -> "37 * 12 * 6").
 */
function calculatorArguments(tool: ToolFunction, userText: string): unknown {
	const written = /\(?\s*\d[\d.\s]*\)?(?:\s*[-+*/^x×]\s*\(?\s*\d[\d.\s]*\)?)+/.exec(userText)?.[0].trim();
	const numbers = userText.match(/\d+(?:\.\d+)?/g) ?? [];
	const expression = written ? written.replace(/[x×]/g, '*') : numbers.length > 0 ? numbers.join(' * ') : userText;
	return valueForSchema(tool.parameters, expression);
}

// ---------------------------------------------------------------------------
// Choosing among options by the words of the message
// ---------------------------------------------------------------------------

function wordsOf(text: string): string[] {
	return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** Same word, or the same stem: "bill" and "billing", "calculate" and "calculator" (not "bug" and "bugle"). */
function sameStem(a: string, b: string): boolean {
	if (a === b) return true;
	const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
	if (shorter.length >= 4 && longer.startsWith(shorter)) return true;
	let common = 0;
	while (common < shorter.length && a[common] === b[common]) common++;
	return common >= 6;
}

/** How many words of the candidate (camelCase and snake_case split) the message has. */
function overlap(candidate: string, messageWords: Set<string>): number {
	return wordsOf(candidate.replace(/([a-z])([A-Z])/g, '$1 $2')).filter((word) => [...messageWords].some((messageWord) => sameStem(word, messageWord))).length;
}

/** The candidate with the most words in the message; the first one on a tie. */
function bestMatch<T>(candidates: T[], text: string, label: (candidate: T) => string): T {
	const messageWords = new Set(wordsOf(text));
	let best = candidates[0];
	let bestScore = 0;
	for (const candidate of candidates) {
		const score = overlap(label(candidate), messageWords);
		if (score > bestScore) {
			best = candidate;
			bestScore = score;
		}
	}
	return best;
}

// ---------------------------------------------------------------------------
// A value that fits a JSON schema
// ---------------------------------------------------------------------------

/** Builds a value that validates against the schema; strings come from the text. */
export function valueForSchema(schema: Schema, text: string): unknown {
	return valueFor(schema, { root: schema, text, depth: 0, name: '' });
}

interface SchemaContext {
	root: Schema;
	text: string;
	depth: number;
	/** The property the value is for, used to pick a fitting string. */
	name: string;
}

function resolveRef(schema: Schema, root: Schema): Schema {
	if (typeof schema.$ref !== 'string' || !schema.$ref.startsWith('#')) return schema;
	const target = schema.$ref
		.slice(1)
		.split('/')
		.filter(Boolean)
		.reduce<any>((node, part) => (isRecord(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root);
	return isRecord(target) ? target : {};
}

function valueFor(input: Schema, ctx: SchemaContext): unknown {
	if (!isRecord(input)) return ctx.text;
	const schema = resolveRef(input, ctx.root);
	const deeper = { ...ctx, depth: ctx.depth + 1 };
	if (ctx.depth > MAX_SCHEMA_DEPTH) return null;
	if ('const' in schema) return schema.const;
	if (Array.isArray(schema.enum) && schema.enum.length > 0) return bestMatch(schema.enum, ctx.text, (value) => String(value));
	const options = schema.anyOf ?? schema.oneOf;
	if (Array.isArray(options) && options.length > 0) {
		const nonNull = options.find((option: Schema) => resolveRef(option, ctx.root).type !== 'null') ?? options[0];
		return valueFor(nonNull, deeper);
	}
	if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return valueFor(mergeAllOf(schema, ctx.root), deeper);
	switch (typeOf(schema)) {
		case 'object':
			return objectFor(schema, deeper);
		case 'array':
			return arrayFor(schema, deeper);
		case 'string':
			return stringFor(schema, ctx);
		case 'integer':
			return numberFor(schema, true);
		case 'number':
			return numberFor(schema, false);
		case 'boolean':
			return true;
		case 'null':
			return null;
		default:
			return ctx.text;
	}
}

function typeOf(schema: Schema): string | undefined {
	const type = Array.isArray(schema.type) ? (schema.type.find((t: unknown) => t !== 'null') ?? schema.type[0]) : schema.type;
	if (typeof type === 'string') return type;
	if (isRecord(schema.properties)) return 'object';
	if (schema.items !== undefined) return 'array';
	return undefined;
}

function mergeAllOf(schema: Schema, root: Schema): Schema {
	const { allOf, ...rest } = schema;
	const parts = (allOf as Schema[]).map((part) => resolveRef(part, root));
	return {
		...Object.assign({}, ...parts),
		...rest,
		properties: Object.assign({}, ...parts.map((part) => part.properties ?? {}), rest.properties ?? {}),
		required: [...new Set([...parts.flatMap((part) => part.required ?? []), ...(rest.required ?? [])])],
	};
}

/** Every declared property (a model fills them all), required ones at least. */
function objectFor(schema: Schema, ctx: SchemaContext): Record<string, unknown> {
	const properties: Record<string, Schema> = isRecord(schema.properties) ? schema.properties : {};
	const required: string[] = Array.isArray(schema.required) ? schema.required.filter((name: unknown) => typeof name === 'string') : [];
	const names = [...new Set([...Object.keys(properties), ...required])];
	const value: Record<string, unknown> = {};
	for (const name of names) value[name] = valueFor(properties[name] ?? {}, { ...ctx, name });
	return value;
}

function arrayFor(schema: Schema, ctx: SchemaContext): unknown[] {
	const minItems = Number.isInteger(schema.minItems) ? schema.minItems : 1;
	const maxItems = Number.isInteger(schema.maxItems) ? schema.maxItems : Math.max(minItems, 1);
	const count = Math.min(Math.max(minItems, 1), maxItems);
	if (Array.isArray(schema.prefixItems)) return schema.prefixItems.map((item: Schema) => valueFor(item, ctx));
	const items = isRecord(schema.items) ? schema.items : {};
	return Array.from({ length: count }, () => valueFor(items, ctx));
}

function numberFor(schema: Schema, integer: boolean): number {
	const minimum = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : undefined;
	const maximum = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1 : undefined;
	let value = minimum ?? (maximum !== undefined ? Math.min(maximum, 1) : 1);
	if (integer) value = Math.ceil(value);
	return value;
}

const FORMATTED: Record<string, string> = {
	'date-time': '2025-01-01T09:00:00Z',
	date: '2025-01-01',
	time: '09:00:00',
	email: 'someone@example.com',
	uri: 'https://example.com/',
	url: 'https://example.com/',
	uuid: '00000000-0000-4000-8000-000000000000',
};

/** The message itself, or its first words for short fields such as a title or summary. */
function stringFor(schema: Schema, ctx: SchemaContext): string {
	if (typeof schema.format === 'string' && FORMATTED[schema.format]) return FORMATTED[schema.format];
	const text = ctx.text.trim() === '' ? 'text' : ctx.text.trim();
	const short = /title|name|summary|label|subject|headline|topic/i.test(ctx.name);
	let value = short ? text.split(/\s+/).slice(0, SUMMARY_WORDS).join(' ') : text;
	if (Number.isInteger(schema.maxLength)) value = Array.from(value).slice(0, schema.maxLength).join('');
	if (Number.isInteger(schema.minLength)) value = value.padEnd(schema.minLength, '.');
	return value;
}
