import { describeValue, InputError } from '../inputError';
import { isObject, parseJson } from '../json';
import type { DefinedImages } from './binaryImages';
import { hasImageSource } from './binaryImages';
import { checkContentParts } from './images';
import type { ChatMessage, ChatRole } from './types';

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];
const FORMAT_HINT =
	'From JSON expects an array like [{"role": "user", "content": "Hello"}], with role system, user, assistant or tool.';

/** One row of the "Define Below" list, as n8n hands it over. */
export interface DefinedMessage {
	role?: unknown;
	content?: unknown;
	images?: DefinedImages;
}

/**
 * The "Define Below" rows as messages (text only: `contentWithImages` adds a row's images);
 * a row's content must not be empty unless it carries images.
 */
export function messagesFromForm(rows: DefinedMessage[]): ChatMessage[] {
	return rows.map((row, index) => {
		const where = `Message ${index + 1}`;
		const role = readRole(row.role, where, 'Pick a role for every message in the list.');
		const content = textOf(row.content);
		if (role === 'user' && hasImageSource(row.images)) return { role, content: content ?? '' };
		if (content === undefined || content.trim() === '') {
			throw new InputError(
				`${where} (${role}) has no content`,
				// Usually an expression that gave nothing for this item (n8n itself refuses an empty field).
				'Fill in the content of every message, or remove the empty one. If the content is an expression, check that it gives text for this item.',
			);
		}
		return { role, content };
	});
}

/**
 * Messages from an expression (e.g. a chat history from an earlier node): an array, the same
 * as JSON text, or an object with a `messages` array. Every element is checked, and an error
 * names the index of the first bad one and what is wrong with it.
 */
export function messagesFromJson(value: unknown): ChatMessage[] {
	const list = asList(value);
	if (list.length === 0) throw new InputError('Messages (From JSON) is an empty array', FORMAT_HINT);
	return list.map(toMessage);
}

/** Puts the System Message field first; an empty field adds nothing. */
export function withSystemMessage(messages: ChatMessage[], systemMessage: unknown): ChatMessage[] {
	const text = textOf(systemMessage);
	if (text === undefined || text.trim() === '') return messages;
	return [{ role: 'system', content: text }, ...messages];
}

/** What the API needs at the least: one message that is not the system prompt. */
export function assertConversation(messages: ChatMessage[]): void {
	if (!messages.some((message) => message.role !== 'system')) {
		throw new InputError(
			'There is no message to answer',
			'Add at least one user message; a system message alone gives the model nothing to reply to.',
		);
	}
}

function asList(value: unknown): unknown[] {
	let parsed = value;
	if (typeof value === 'string') {
		if (value.trim() === '') throw new InputError('Messages (From JSON) is empty', FORMAT_HINT);
		const json = parseJson(value);
		if (!json.ok) throw new InputError(`Messages (From JSON) is not valid JSON: ${json.error}`, FORMAT_HINT);
		parsed = json.value;
	}
	if (Array.isArray(parsed)) return parsed;
	if (isObject(parsed) && Array.isArray(parsed.messages)) return parsed.messages;
	throw new InputError(`Messages (From JSON) must be an array, not ${describeValue(parsed)}`, FORMAT_HINT);
}

function toMessage(element: unknown, index: number): ChatMessage {
	const where = `Message at index ${index}`;
	if (!isObject(element)) {
		throw new InputError(`${where} is ${describeValue(element)}, not an object with role and content`, FORMAT_HINT);
	}
	const role = readRole(element.role, where, FORMAT_HINT);
	const message: ChatMessage = { role, content: readContent(element, role, where) };
	if (typeof element.name === 'string' && element.name !== '') message.name = element.name;
	if (role === 'assistant' && Array.isArray(element.tool_calls) && element.tool_calls.length > 0) {
		message.tool_calls = element.tool_calls as ChatMessage['tool_calls'];
	}
	if (role === 'tool') {
		if (typeof element.tool_call_id !== 'string' || element.tool_call_id === '') {
			throw new InputError(
				`${where} has role "tool" but no tool_call_id`,
				'A tool message answers one tool call: give it the tool_call_id of that call.',
			);
		}
		message.tool_call_id = element.tool_call_id;
	}
	return message;
}

function readRole(value: unknown, where: string, hint: string): ChatRole {
	if (value === undefined || value === null || value === '') {
		throw new InputError(`${where} has no role: expected one of ${ROLES.join(', ')}`, hint);
	}
	if (typeof value !== 'string' || !ROLES.includes(value as ChatRole)) {
		throw new InputError(
			`${where} has role ${JSON.stringify(value)}: expected one of ${ROLES.join(', ')}`,
			hint,
		);
	}
	return value as ChatRole;
}

function readContent(element: Record<string, unknown>, role: ChatRole, where: string): ChatMessage['content'] {
	const content = element.content;
	if (typeof content === 'string') return content;
	// Content parts (text, image_url) go to the API as they are, once checked.
	if (Array.isArray(content)) return checkContentParts(content, where);
	const callsTools = Array.isArray(element.tool_calls) && element.tool_calls.length > 0;
	if ((content === null || content === undefined) && role === 'assistant' && callsTools) return null;
	if (content === undefined || content === null) {
		throw new InputError(`${where} has no content`, FORMAT_HINT);
	}
	if (typeof content === 'number' || typeof content === 'boolean') return String(content);
	throw new InputError(`${where} has content that is ${describeValue(content)}, not text`, FORMAT_HINT);
}

function textOf(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	return undefined;
}
