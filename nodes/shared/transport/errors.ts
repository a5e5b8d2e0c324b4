import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { InputError } from '../inputError';
import { isObject } from '../json';
import { LONGEST_WAIT_MS as LONGEST_RATE_LIMIT_WAIT_MS } from './retryPolicy';

/** What went wrong, in the terms a caller can act on (retry, report, hint). */
export type FailureKind =
	| 'http' // the service answered with an error status or an error body
	| 'stream' // the service sent an error event in the middle of a stream
	| 'truncated' // a stream ended before the answer was complete
	| 'network' // no usable connection (refused, reset, DNS)
	| 'timeout' // a connect, first-byte or idle timeout fired
	| 'aborted' // the execution was cancelled
	| 'invalidResponse'; // a reply that is not what the contract says

export interface FailureInit {
	kind: FailureKind;
	message: string;
	status?: number;
	code?: string;
	type?: string;
	requestId?: string;
	details?: unknown;
	retryAfterMs?: number;
	/** The request path, for hints that depend on the endpoint. */
	path?: string;
	/** Replaces the hint the kind, status or code would give. */
	hint?: string;
	cause?: unknown;
}

/**
 * The one error the transport throws. It carries the service's own words; `toNodeError`
 * turns it into what n8n shows. Secrets are removed before one is built (see `redact`).
 */
export class NebulaBlockError extends Error {
	readonly kind: FailureKind;
	readonly status?: number;
	readonly code?: string;
	readonly type?: string;
	readonly requestId?: string;
	readonly details?: unknown;
	readonly retryAfterMs?: number;
	readonly hint?: string;

	constructor(init: FailureInit) {
		super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
		this.name = 'NebulaBlockError';
		this.kind = init.kind;
		this.status = init.status;
		this.code = init.code;
		this.type = init.type;
		this.requestId = init.requestId;
		this.details = init.details;
		this.retryAfterMs = init.retryAfterMs;
		this.hint = init.hint ?? hintFor(init);
	}
}

const CODE_HINTS: Record<string, string> = {
	invalid_request:
		'Check the node parameters named in the details (model, prompt, token limits) and try again.',
	model_not_found:
		'Pick a model from the list, or check the model ID for typos; IDs are case-sensitive (e.g. meta-llama/Llama-3.3-70B-Instruct).',
	context_length_exceeded:
		'Shorten the prompt or messages, or lower Max Tokens; on the Chat Completion node, set or lower Prompt Truncate Length so the earliest messages are left out.',
	rate_limit_exceeded:
		'You hit your plan\'s rate limit: raise Max Retries or the Timeout to wait longer, or ask Nebula Block for a higher tier.',
	insufficient_quota: 'Your Nebula Block account is out of credits or quota: top up or upgrade the plan.',
	invalid_api_key: 'Check the API key in the Nebula Block API credential.',
};

const STATUS_HINTS: Record<number, string> = {
	400: 'The service rejected the request: check the parameters named in the message.',
	401: 'The API key was rejected: check the API key in the Nebula Block API credential.',
	402: 'Your Nebula Block account is out of credits: top up or upgrade the plan.',
	403: 'The API key is not allowed to use this model or endpoint: check your plan and the model ID.',
	404: 'The endpoint or model was not found: check the Base URL in the credential and the model ID.',
	408: 'The service timed out: try again, or raise Max Retries.',
	413: 'The request is too large: shorten the prompt or messages.',
	429: 'Too many requests: raise Max Retries or the Timeout to wait longer, or ask Nebula Block for a higher tier.',
};

const KIND_HINTS: Partial<Record<FailureKind, string>> = {
	network:
		'Could not reach the service: check the Base URL in the credential and that this n8n instance can reach it.',
	timeout: 'No answer in time: raise the Timeout option; if the node has a Stream option and it is off, turn it on so long answers keep the connection alive.',
	truncated:
		'The service was reached, but the answer was cut off (the service may have restarted, or a proxy closed the connection): try again. A cut-off answer is not resent automatically, since the service may already have generated, and billed, it.',
	stream: 'The service failed while generating the answer, which Max Retries does not repeat: run the item again, and try another model if it keeps happening.',
	aborted: 'The execution was stopped.',
};

const TEXT_GENERATE_MISSING_HINT =
	'The Text Generate endpoint was not found at the Text Generate URL. If your service only offers chat, set Endpoint to "Chat Completions"; otherwise check the Text Generate URL in the credential.';

function hintFor(init: FailureInit): string | undefined {
	const code = init.code?.toLowerCase();
	if (code && CODE_HINTS[code]) return CODE_HINTS[code];
	// A 404 that is not about the model means the service (or its proxy) only speaks chat.
	if (init.status === 404 && init.path?.endsWith('/text/generate')) return TEXT_GENERATE_MISSING_HINT;
	if (init.status !== undefined) {
		if (STATUS_HINTS[init.status]) return STATUS_HINTS[init.status];
		if (init.status >= 500) return 'The service had a problem: try again later, or raise Max Retries.';
	}
	return KIND_HINTS[init.kind];
}

/** What a wait or request stopped by the execution's cancel throws. */
export function cancelledError(): NebulaBlockError {
	return new NebulaBlockError({ kind: 'aborted', message: 'The request was cancelled' });
}

/** Replaces every occurrence of each secret with a mask, so no error or log can carry one. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
	let out = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 4) out = out.split(secret).join('***');
	}
	return out;
}

const MAX_TEXT_BODY = 300;

function shorten(text: string): string {
	const oneLine = text
		.replace(/<[^>]*>/g, ' ')
		.replace(/\s+/g, ' ')
		.trim();
	return oneLine.length > MAX_TEXT_BODY ? `${oneLine.slice(0, MAX_TEXT_BODY)}…` : oneLine;
}

function asString(value: unknown): string | undefined {
	if (typeof value === 'string' && value !== '') return value;
	if (typeof value === 'number') return String(value);
	return undefined;
}

export interface ServiceError {
	message: string;
	code?: string;
	type?: string;
	details?: unknown;
}

/**
 * Reads the service's own error out of any body shape it is known to send, or returns
 * undefined when the body is not an error: OpenAI `{error:{message,type,param,code}}`,
 * the flat vLLM `{object:"error",message}`, the Nebula envelope `{status:"error",error:{...}}`,
 * FastAPI's `{detail}`, and a bare `{error:"text"}`.
 */
export function readServiceError(body: unknown): ServiceError | undefined {
	if (!isObject(body)) return undefined;
	const error = body.error;
	if (isObject(error)) {
		return {
			message: asString(error.message) ?? asString(error.msg) ?? JSON.stringify(error),
			code: asString(error.code),
			type: asString(error.type),
			details: error.details ?? (error.param ? { param: error.param } : undefined),
		};
	}
	if (typeof error === 'string' && error !== '') {
		return { message: error, code: asString(body.code), type: asString(body.type) };
	}
	if (body.object === 'error' || body.status === 'error') {
		return {
			message: asString(body.message) ?? 'The service reported an error',
			code: asString(body.code),
			type: asString(body.type),
			details: body.details,
		};
	}
	if (body.detail !== undefined && body.choices === undefined && body.data === undefined) {
		const detail = body.detail;
		return { message: typeof detail === 'string' ? detail : JSON.stringify(detail) };
	}
	return undefined;
}

export interface HttpFailureInput {
	status: number;
	body: unknown; // parsed JSON, or the raw text when it was not JSON
	requestId?: string;
	retryAfterMs?: number;
	path?: string;
	secrets: ReadonlyArray<string | undefined>;
}

/** Builds the error for a non-2xx answer (or a 2xx whose body is an error). */
export function httpFailure(input: HttpFailureInput): NebulaBlockError {
	const service = readServiceError(input.body);
	const fallback =
		typeof input.body === 'string' && input.body.trim() !== ''
			? shorten(input.body)
			: `The service answered with HTTP ${input.status}`;
	return new NebulaBlockError({
		kind: 'http',
		status: input.status,
		message: redact(service?.message ?? fallback, input.secrets),
		code: service?.code,
		type: service?.type,
		details: redactDetails(service?.details, input.secrets),
		requestId: input.requestId,
		retryAfterMs: input.retryAfterMs,
		path: input.path,
	});
}

/** Builds the error for a connect, first-byte or idle timeout (undici's codes say which). */
export function timeoutFailure(code: string | undefined, cause?: unknown): NebulaBlockError {
	const message =
		code === 'UND_ERR_BODY_TIMEOUT'
			? 'The service stopped sending data before the answer was complete'
			: code === 'UND_ERR_CONNECT_TIMEOUT'
				? 'Connecting to the service timed out'
				: 'The service did not answer within the timeout';
	return new NebulaBlockError({ kind: 'timeout', code, message, cause });
}

/** The same error with some of its parts said again (a message completed, a hint that fits what was tried). */
function restated(error: NebulaBlockError, changes: Partial<Pick<FailureInit, 'message' | 'hint'>>): NebulaBlockError {
	return new NebulaBlockError({
		kind: error.kind,
		message: changes.message ?? error.message,
		status: error.status,
		code: error.code,
		type: error.type,
		requestId: error.requestId,
		details: error.details,
		retryAfterMs: error.retryAfterMs,
		hint: changes.hint ?? error.hint,
		cause: error,
	});
}

/** A span as a person says it: "45 s", "3 minutes", "60 minutes", "5 hours". */
export function spokenSpan(ms: number): string {
	const seconds = Math.max(1, Math.ceil(ms / 1000));
	if (seconds < 120) return `${seconds} s`;
	const minutes = Math.round(seconds / 60);
	return minutes < 120 ? `${minutes} minutes` : `${Math.round(minutes / 60)} hours`;
}

/** A moment as a clock on the wall shows it, in UTC: "14:05:09 UTC". */
function wallTime(epochMs: number): string {
	return `${new Date(epochMs).toISOString().slice(11, 19)} UTC`;
}

/** What the node did about rate limits before it gave up, for the hint of a rate-limit error. */
export interface RateLimitStory {
	/** Concurrency Mode Auto (the shared limiter) or Fixed. */
	adaptive: boolean;
	/** Requests sent for this item. */
	tries: number;
	/** Time spent waiting before them. */
	waitedMs: number;
}

const HIGHER_TIER = 'If this happens often, the account\'s rate limit is lower than the workflow needs: ask Nebula Block for a higher tier, or spread the work out.';

function capitalised(text: string): string {
	return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A rate-limit answer (429) after all the tries the item had: what Auto or Fixed did, and what the user can change. */
export function rateLimitExhausted(error: NebulaBlockError, story: RateLimitStory): NebulaBlockError {
	const tried = `sent this request ${story.tries} time${story.tries === 1 ? '' : 's'}${story.waitedMs >= 1000 ? ` over ${spokenSpan(story.waitedMs)} of waiting` : ''}`;
	const hint = story.adaptive
		? `${capitalised(tried)}, pausing every request on this API key whenever the service refused one; it still refused. Raise Max Retries (not set: up to 8 retries after a rate limit) or the Timeout to wait longer. ${HIGHER_TIER}`
		: `${capitalised(tried)}; the service still refused. Raise Max Retries, lower Concurrency or add a Delay Between Batches, or set Concurrency Mode to Auto, which paces all items on this API key together. ${HIGHER_TIER}`;
	return restated(error, { hint });
}

/** A wait the service asked for (or the backoff needed) that this request may not make. */
export interface RefusedWait {
	waitMs: number;
	/** The longest this request could wait: 60 s, or what was left of its Timeout. */
	limitMs: number;
	/** When the wait ends, in ms since the epoch. */
	untilWallMs: number;
	/** What set the wait: a Retry-After, a spent token or request budget, or refusals in a row. */
	cause: 'retryAfter' | 'tokenBudget' | 'requestBudget' | 'refusals';
	refusals?: number;
	adaptive: boolean;
}

/**
 * The error for a wait longer than any this request may make (60 s, or what is left of its
 * Timeout): failing at once, with the wait asked for and when it ends, beats holding the item (and
 * under Auto every item on the key) for an hour, or a retry that comes too early and fails again.
 */
export function waitTooLong(failure: NebulaBlockError | undefined, wait: RefusedWait): NebulaBlockError {
	const until = `${spokenSpan(wait.waitMs)}, until ${wallTime(wait.untilWallMs)}`;
	const said =
		wait.cause === 'refusals'
			? `the service refused ${wait.refusals ?? 'several'} requests in a row without saying how long to wait; nothing is sent for ${until}`
			: wait.cause === 'tokenBudget'
				? `the token budget of this API key is spent (x-ratelimit-remaining-tokens: 0); it comes back in ${until}`
				: wait.cause === 'requestBudget'
					? `the request budget of this API key is spent (x-ratelimit-remaining-requests: 0); it comes back in ${until}`
					: `the service asked to wait ${until}`;
	const limit =
		wait.limitMs < LONGEST_RATE_LIMIT_WAIT_MS
			? `That is longer than what is left of this item's Timeout (${spokenSpan(wait.limitMs)}), so it was not sent: raise the Timeout option to wait it out, or run the item again after that time.`
			: `A request waits at most ${LONGEST_RATE_LIMIT_WAIT_MS / 1000} s for a rate limit, so it was not sent: run the item again after that time.`;
	const mode = wait.adaptive ? ' Until then every request on this API key and host fails at once, so nothing queues up behind the limit.' : '';
	const hint = `${limit}${mode} ${HIGHER_TIER}`;
	if (failure) return restated(failure, { message: `${failure.message} (${said})`, hint });
	return new NebulaBlockError({ kind: 'http', message: capitalised(said), hint });
}

/** The error for a request that found no place among those the key may have in flight before its Timeout ran out. */
export function noPlaceInTime(waitedMs: number): NebulaBlockError {
	return new NebulaBlockError({
		kind: 'timeout',
		message: `The request waited its whole Timeout (${spokenSpan(waitedMs)}) for a place among the requests this API key may have in flight, and was not sent`,
		hint: 'Concurrency Mode Auto sends only as many requests at once as the service keeps up with: raise the Timeout option, or send fewer items per run.',
	});
}

/** Builds the error for a stream that opened but sent no event within the timeout. */
export function firstTokenTimeout(timeoutMs: number): NebulaBlockError {
	return new NebulaBlockError({
		kind: 'timeout',
		message: `The service did not start the answer within the timeout (${timeoutMs / 1000} s): the stream opened, but no token came`,
	});
}

/** Builds the error for a connection that could not be made or was lost. */
export function networkFailure(
	detail: string,
	code: string | undefined,
	secrets: ReadonlyArray<string | undefined>,
): NebulaBlockError {
	return new NebulaBlockError({ kind: 'network', code, message: redact(`Could not reach the service: ${detail}`, secrets) });
}

/** Builds the error for a connection lost after the answer began: the service was reached. */
export function cutShortFailure(
	detail: string,
	code: string | undefined,
	secrets: ReadonlyArray<string | undefined>,
): NebulaBlockError {
	return new NebulaBlockError({
		kind: 'truncated',
		code,
		message: redact(`The connection ended before the answer was complete (${detail})`, secrets),
	});
}

/**
 * What the Chat Model's fetch (modelFetch.ts) rejects with when the retry engine gives up: the package's error, which the model's
 * failed-attempt hook (model/modelError.ts) finds on the client's APIConnectionError. Its text is
 * kept off `toString` because the OpenAI client reads any "timeout" there as its own timeout and
 * then drops the cause.
 */
export class ModelRequestFailed extends Error {
	constructor(readonly failure: NebulaBlockError) {
		super('The request failed');
		this.name = 'ModelRequestFailed';
	}

	override toString(): string {
		return this.name;
	}
}

/**
 * Wraps what undici threw once a successful answer had begun to arrive, so the failure is
 * reported as an answer cut short, which is never resent, rather than as a service out of reach.
 */
export class AnswerCutShort extends Error {
	readonly reason: unknown;

	constructor(reason: unknown) {
		super(reason instanceof Error ? reason.message : String(reason));
		this.name = 'AnswerCutShort';
		this.reason = reason;
	}
}

/** Builds the error for an error event received in the middle of a stream. */
export function streamFailure(
	payload: unknown,
	secrets: ReadonlyArray<string | undefined>,
	requestId?: string,
): NebulaBlockError {
	const service = readServiceError(payload) ?? {
		message: typeof payload === 'string' && payload !== '' ? shorten(payload) : 'The stream reported an error',
	};
	const status = isObject(payload) && isObject(payload.error) ? Number(payload.error.code) : NaN;
	return new NebulaBlockError({
		kind: 'stream',
		message: redact(service.message, secrets),
		code: service.code,
		type: service.type,
		details: redactDetails(service.details, secrets),
		status: Number.isInteger(status) && status >= 400 && status < 600 ? status : undefined,
		requestId,
	});
}

function redactDetails(details: unknown, secrets: ReadonlyArray<string | undefined>): unknown {
	if (details === undefined || details === null) return undefined;
	return JSON.parse(redact(JSON.stringify(details), secrets));
}

/** Turns what the transport threw into the error n8n shows, with the item it belongs to. */
export function toNodeError(node: INode, error: unknown, itemIndex: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		if (error.context.itemIndex === undefined) error.context.itemIndex = itemIndex;
		return error;
	}
	if (error instanceof InputError) {
		return new NodeOperationError(node, error.message, { itemIndex, description: `${error.description} (item ${itemIndex})` });
	}
	if (!(error instanceof NebulaBlockError)) {
		const message = error instanceof Error ? error.message : String(error);
		return new NodeOperationError(node, message, { itemIndex });
	}
	const response: JsonObject = {
		message: error.message,
		kind: error.kind,
		...(error.status !== undefined && { status: error.status }),
		...(error.code !== undefined && { code: error.code }),
		...(error.type !== undefined && { type: error.type }),
		...(error.requestId !== undefined && { requestId: error.requestId }),
		...(error.details !== undefined && { details: error.details as JsonObject }),
	};
	const apiError = new NodeApiError(node, response, {
		message: error.message,
		description: describe(error),
		httpCode: error.status !== undefined ? String(error.status) : undefined,
		itemIndex,
	});
	// NodeApiError swaps a message that names a socket error code (ECONNREFUSED, ECONNRESET...)
	// for a generic sentence; ours already says what failed and keeps the cause, so it stays.
	apiError.message = error.message;
	return apiError;
}

function describe(error: NebulaBlockError): string {
	const parts: string[] = [];
	if (error.hint) parts.push(error.hint);
	const facts: string[] = [];
	if (error.status !== undefined) facts.push(`HTTP ${error.status}`);
	if (error.code) facts.push(`code ${error.code}`);
	if (error.requestId) facts.push(`request ID ${error.requestId}`);
	if (facts.length > 0) parts.push(`(${facts.join(', ')})`);
	if (error.details !== undefined) parts.push(`Details: ${JSON.stringify(error.details)}`);
	return parts.join(' ');
}
