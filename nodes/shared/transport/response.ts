/**
 * What is read from a response, whoever sent the request: its error, request id and Retry-After,
 * its body as text; and the URL a request goes to.
 */
import { parseJson } from '../json';
import { clock } from '../clock';
import { NebulaBlockError, httpFailure, redact } from './errors';
import type { ApiRequest, Connection } from './types';

export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/** The status line and headers of a response: what errors and request ids are read from. */
export interface ResponseHead {
	statusCode: number;
	headers: Record<string, string | string[] | undefined>;
}

export interface BufferedResponse extends ResponseHead {
	/** The body as text (an error body at most 64 KiB of it). */
	text: string;
}

/** UTF-8 text of the body, without a leading byte order mark (as undici's body.text() does). */
export function decodeBody(chunks: Buffer[], size: number): string {
	const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
	const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
	return bytes.toString('utf8', start);
}

export interface Target {
	origin: string;
	/** Path and query, as undici sends them. */
	path: string;
}

/** Parsed request targets by base URL and path: a handful per process, each parsed once. */
const targets = new Map<string, Map<string, Target>>();
const MAX_CACHED_BASE_URLS = 64;

export function targetOf(baseUrl: string, path: string): Target {
	let byPath = targets.get(baseUrl);
	const cached = byPath?.get(path);
	if (cached !== undefined) return cached;
	const url = new URL(joinUrl(baseUrl, path));
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new NebulaBlockError({
			kind: 'network',
			code: 'ERR_INVALID_URL_SCHEME',
			message: `Could not reach the service: Invalid URL protocol: the URL must start with \`http:\` or \`https:\` (${url.protocol})`,
		});
	}
	const target = { origin: url.origin, path: `${url.pathname}${url.search}` };
	if (byPath === undefined) {
		if (targets.size >= MAX_CACHED_BASE_URLS) targets.clear();
		byPath = new Map();
		targets.set(baseUrl, byPath);
	}
	byPath.set(path, target);
	return target;
}

/** The origin a request goes to; the base URL as it is when it cannot be parsed (the request then fails on its own). */
export function originOf(baseUrl: string, path: string): string {
	try {
		return targetOf(baseUrl, path).origin;
	} catch {
		return baseUrl;
	}
}

function joinUrl(baseUrl: string, path: string): string {
	return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export function failureFor(
	response: ResponseHead,
	body: unknown,
	connection: Connection,
	apiRequest: ApiRequest,
): NebulaBlockError {
	return httpFailure({
		status: response.statusCode,
		body,
		requestId: requestIdOf(response),
		retryAfterMs: retryAfterMs(response.headers),
		path: apiRequest.path,
		secrets: [connection.apiKey],
	});
}

export function parseJsonText(response: BufferedResponse, connection: Connection): unknown {
	const text = response.text;
	const parsed = parseJson(text);
	if (parsed.ok) return parsed.value;
	throw new NebulaBlockError({
		kind: 'invalidResponse',
		status: response.statusCode,
		message: redact(`The service sent a reply that is not JSON: ${text.slice(0, 200) || '(empty body)'}`, [connection.apiKey]),
		requestId: requestIdOf(response),
	});
}

export function headerValue(value: string | string[] | undefined): string | undefined {
	return Array.isArray(value) ? value[0] : value;
}

export function requestIdOf(response: ResponseHead): string | undefined {
	return headerValue(response.headers['x-request-id']) ?? headerValue(response.headers['request-id']);
}

/** A number of seconds (or milliseconds) as HTTP writes it: digits, perhaps a fraction. */
const DELAY_NUMBER = /^\d+(?:\.\d+)?$/;
/** The three date forms of HTTP (RFC 9110 5.6.7); V8's Date.parse reads almost any text as some date. */
const HTTP_DATE = /^[A-Za-z]{3,9},? [\dA-Za-z -]+ \d{2}:\d{2}:\d{2}(?: GMT| \d{4})$/;

/**
 * The wait the service asks for, or undefined when it asks for none the client can read: an
 * empty or unparsable header then leaves the normal backoff in charge instead of meaning "now".
 */
export function retryAfterMs(headers: ResponseHead['headers']): number | undefined {
	const ms = headerValue(headers['retry-after-ms'])?.trim();
	if (ms !== undefined && DELAY_NUMBER.test(ms)) return Number(ms);
	const retryAfter = headerValue(headers['retry-after'])?.trim();
	if (retryAfter === undefined) return undefined;
	if (DELAY_NUMBER.test(retryAfter)) return Number(retryAfter) * 1000;
	if (!HTTP_DATE.test(retryAfter)) return undefined;
	const date = Date.parse(retryAfter);
	return Number.isNaN(date) ? undefined : Math.max(0, date - clock.wallNow());
}
