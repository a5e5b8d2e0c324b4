/** A parsed JSON object, as the service's bodies and stream payloads arrive. */
export type JsonObject = Record<string, unknown>;

/** Whether a parsed JSON value is an object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * The one place text is parsed as JSON. It returns what went wrong instead of throwing, so each
 * caller raises the error of its own kind (a form field's input error, the transport's invalid
 * reply) where the rule that n8n errors are made outside catch blocks can see it.
 */
export function parseJson(text: string): ParsedJson {
	try {
		return { ok: true, value: JSON.parse(text) };
	} catch (error) {
		return { ok: false, error: (error as Error).message };
	}
}

/** The parsed JSON, or the text itself when it is not JSON (error bodies may be HTML or plain words). */
export function parseJsonOrText(text: string): unknown {
	const parsed = parseJson(text);
	return parsed.ok ? parsed.value : text;
}
