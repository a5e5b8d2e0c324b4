/**
 * A fake Nebula Block server for tests, demos, e2e runs and benchmarks.
 * A request with no scripted step gets a model-like answer (see fake-model.ts): JSON for a JSON
 * schema, a tool call when tools are offered, an answer from the tool result, or an echo.
 *
 * Only node built-ins are used so plain `npx tsx` scripts can start it too.
 * Run it directly: `npx tsx test/support/fake-nebula.ts --port 5690`.
 * Rate-limited mode (option `rateLimit`, see fake-rate-limit.ts): a token bucket per API key,
 * 429s with Retry-After beyond it, optionally a cap on requests at once and x-ratelimit headers.
 * POST /v1/embeddings: hashed bag-of-words vectors (fakeEmbedding), vLLM's refusal past the
 * model's context, encoding_format float or base64, and the faults of an `embeddingFault` step.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setImmediate as nextTick } from 'node:timers/promises';

import { defaultModelAnswer, textOf } from './fake-model';
import { RateGate, type Admission, type FakeRateLimit, type RateLimitStats, type RejectCause } from './fake-rate-limit';

export type { FakeRateLimit, RateLimitStats, RejectCause } from './fake-rate-limit';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface FakeModel {
	id: string;
	type?: 'Text' | 'Image' | 'Embedding';
	contextLength?: number;
	maxCompletionTokens?: number;
	/** Extra fields for both list entries, e.g. a capability field a future list may add. */
	listFields?: Record<string, unknown>;
}

export interface FakeNebulaOptions {
	port?: number;
	/** Delay before headers on every request. */
	latencyMs?: number;
	/** Delay between streamed chunks. */
	tokenIntervalMs?: number;
	models?: FakeModel[];
	/** The rate-limited mode (see fake-rate-limit.ts): a token bucket and/or a cap on requests at once. */
	rateLimit?: FakeRateLimit;
}

export interface RecordedRequest {
	method: string;
	path: string;
	headers: Record<string, string | string[] | undefined>;
	/** Parsed JSON, or the raw string when it is not JSON; undefined when there was no body. */
	body: any;
	key: string | undefined;
	at: number;
	/** Set when the rate-limited mode answered this request with a 429, and why. */
	rateLimited?: RejectCause;
	/**
	 * Set when the exchange ends: false when the connection closed before the fake finished its
	 * answer (the client aborted, or a scripted fault cut it).
	 */
	answered?: boolean;
}

export interface FakeUsage {
	prompt_tokens: number;
	completion_tokens: number;
	total_tokens: number;
}

export interface FakeToolCall {
	id: string;
	name: string;
	arguments: string;
}

export interface StatusStep {
	kind: 'status';
	status: number;
	/** Objects are sent as JSON, strings as they are. */
	body?: unknown;
	headers?: Record<string, string>;
	contentType?: string;
}

export interface ReplyStep {
	kind: 'reply';
	content?: string;
	reasoningContent?: string;
	reasoningField?: 'reasoning_content' | 'reasoning';
	toolCalls?: FakeToolCall[];
	finishReason?: string;
	usage?: FakeUsage;
}

/** Headers added to whatever the request is answered with (e.g. `x-ratelimit-*` on a 200). */
export interface HeadersStep {
	kind: 'headers';
	headers: Record<string, string>;
}

export interface DelayHeadersStep {
	kind: 'delayHeaders';
	ms: number;
}

export interface DripStep {
	kind: 'drip';
	intervalMs: number;
}

export interface ErrorMidStreamStep {
	kind: 'errorMidStream';
	afterChunks: number;
	/** A string is the message; an object is the event payload (wrapped in `{error}` unless it already is an error body). */
	error?: unknown;
	eventName?: string;
}

export interface CutStreamStep {
	kind: 'cutStream';
	afterChunks: number;
}

export interface DestroyStep {
	kind: 'destroy';
	afterChunks?: number;
}

/** A stream whose headers go out at once and whose first event comes `ms` later (vLLM, OpenAI). */
export interface FirstTokenDelayStep {
	kind: 'firstTokenDelay';
	ms: number;
}

export interface SplitWritesStep {
	kind: 'splitWrites';
	bytes: number;
}

/**
 * Holds a stream after its first `afterChunks` events until the test calls `gate.release()`:
 * a test can see the first tokens arrive while the server still holds the rest (no timing).
 * `gate.reached` resolves when the stream stops at the gate.
 */
export interface GateStep {
	kind: 'gate';
	afterChunks: number;
	gate: FakeGate;
}

export interface FakeGate {
	reached: Promise<void>;
	release(): void;
}

export function createGate(): FakeGate & { opened: Promise<void>; markReached(): void } {
	let markReached = () => undefined as void;
	let release = () => undefined as void;
	const reached = new Promise<void>((resolve) => (markReached = resolve));
	const opened = new Promise<void>((resolve) => (release = resolve));
	return { reached, opened, markReached, release };
}

/**
 * What a broken embeddings service might send instead of one good vector per input (POST /embeddings):
 * - count: one vector fewer than inputs (none for a single input)
 * - ragged: the last vector is half as long as the others
 * - null / string: a null / the text "0.5" inside the first vector
 * - nan: a NaN inside the first vector, written as Python's json writes it (`NaN`, not JSON)
 * - shuffled: the vectors in reverse order, each with its right `index` (a client must re-order, not reject)
 */
export type EmbeddingFault = 'count' | 'ragged' | 'null' | 'string' | 'nan' | 'shuffled';

export interface EmbeddingFaultStep {
	kind: 'embeddingFault';
	fault: EmbeddingFault;
}

export type Step =
	| GateStep
	| EmbeddingFaultStep
	| StatusStep
	| ReplyStep
	| HeadersStep
	| DelayHeadersStep
	| DripStep
	| ErrorMidStreamStep
	| CutStreamStep
	| DestroyStep
	| { kind: 'crlf' }
	| { kind: 'cr' }
	| { kind: 'keepAlive' }
	| { kind: 'jsonForStream' }
	| SplitWritesStep
	| FirstTokenDelayStep
	| { kind: 'bom' };

export type ModelsMode = 'openai' | 'serverless' | 'both' | 'down';

export interface FakeNebula {
	/** 'http://127.0.0.1:PORT/v1' */
	url: string;
	port: number;
	defaultKey: string;
	newKey(label?: string): string;
	/** Accepts a key another fake server made: one API key on two hosts. */
	adoptKey(key: string): void;
	script(key: string, ...steps: Array<Step | Step[]>): void;
	requests(key?: string): RecordedRequest[];
	connectionCount(): number;
	maxInFlight(key?: string): number;
	/** Requests being answered now (a request leaves when its connection closes, e.g. the client aborted). */
	inFlightNow(key?: string): number;
	setModelsMode(mode: ModelsMode): void;
	/** Sets the rate limit of the whole server, or of one key (its own tier); undefined lifts it. */
	setRateLimit(limit: FakeRateLimit | undefined, key?: string): void;
	/** What the rate-limited mode let through and turned away, for one key or all. */
	rateLimitStats(key?: string): RateLimitStats;
	close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

const DEFAULT_MODELS: FakeModel[] = [
	{ id: 'deepseek-ai/DeepSeek-V3-0324', type: 'Text', contextLength: 131072, maxCompletionTokens: 16384 },
	{ id: 'deepseek-ai/DeepSeek-R1-0528', type: 'Text', contextLength: 163840, maxCompletionTokens: 32768 },
	{ id: 'meta-llama/Llama-3.3-70B-Instruct', type: 'Text', contextLength: 131072, maxCompletionTokens: 8192 },
	{ id: 'meta-llama/Llama-3.1-8B-Instruct', type: 'Text', contextLength: 131072, maxCompletionTokens: 8192 },
	{ id: 'Qwen/QwQ-32B', type: 'Text', contextLength: 32768, maxCompletionTokens: 16384 },
	{ id: 'Qwen/Qwen2.5-Coder-32B-Instruct', type: 'Text', contextLength: 32768, maxCompletionTokens: 8192 },
	// A vision model: the seeds' lists have no field for image input, so it is listed as any chat model.
	{ id: 'Qwen/Qwen2.5-VL-7B-Instruct', type: 'Text', contextLength: 32768, maxCompletionTokens: 8192 },
	{ id: 'black-forest-labs/FLUX.1-schnell', type: 'Image' },
	{ id: 'BAAI/bge-large-en-v1.5', type: 'Embedding', contextLength: 512 },
	{ id: 'WhereIsAI/UAE-Large-V1', type: 'Embedding', contextLength: 512 },
];

const MODEL_CREATED = 1735689600;
const SYSTEM_FINGERPRINT = 'fp_fake_nebula';
const CHAT_TEXT_DEFAULT_MAX_TOKENS = 200;
const TEXT_GENERATE_DEFAULT_MAX_TOKENS = 256;

function modelType(model: FakeModel): 'Text' | 'Image' | 'Embedding' {
	return model.type ?? 'Text';
}

function openAiModelList(models: FakeModel[]) {
	const data = models
		.filter((model) => modelType(model) === 'Text')
		.map((model) => ({
			id: model.id,
			object: 'model',
			created: MODEL_CREATED,
			owned_by: 'nebula-block',
			...(model.contextLength !== undefined ? { context_length: model.contextLength } : {}),
			...model.listFields,
		}));
	return { object: 'list', data };
}

function serverlessModelList(models: FakeModel[]) {
	return {
		status: 'success',
		data: {
			models: models.map((model) => ({
				model_name: model.id,
				model_alias: model.id.split('/').pop(),
				model_type: modelType(model),
				context_length: model.contextLength ?? null,
				max_completion_tokens: model.maxCompletionTokens ?? null,
				...model.listFields,
			})),
		},
	};
}

// ---------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------

/** Chat routes speak OpenAI errors; /text/generate speaks the Nebula envelope (seed 003). */
type Dialect = 'openai' | 'envelope';

interface ErrorReply {
	status: number;
	body: unknown;
}

function openAiError(message: string, type: string, code: string | number, param: string | null = null) {
	return { error: { message, type, param, code } };
}

function envelopeError(code: string, message: string, details?: Record<string, string>) {
	return { status: 'error', error: { code, message, ...(details ? { details } : {}) } };
}

function unauthorized(dialect: Dialect): ErrorReply {
	const body =
		dialect === 'envelope'
			? envelopeError('invalid_request', 'Invalid API key')
			: openAiError('Invalid API key provided', 'invalid_request_error', 'invalid_api_key');
	return { status: 401, body };
}

function badRequest(message: string, param: string | null = null): ErrorReply {
	return { status: 400, body: openAiError(message, 'BadRequestError', 400, param) };
}

function notFound(message: string): ErrorReply {
	return { status: 404, body: openAiError(message, 'NotFoundError', 404) };
}

function defaultStatusBody(status: number, dialect: Dialect): unknown {
	const message = http.STATUS_CODES[status] ?? `HTTP ${status}`;
	if (dialect === 'envelope') return envelopeError(envelopeCodeFor(status), message);
	if (status === 401) return unauthorized('openai').body;
	if (status === 402) {
		return openAiError('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota');
	}
	if (status === 429) return openAiError('Rate limit reached, please try again later.', 'rate_limit_error', 'rate_limit_exceeded');
	return openAiError(message, status >= 500 ? 'server_error' : 'invalid_request_error', status);
}

/** The 429 of the rate-limited mode, in the route's dialect; the code is the seeds' `rate_limit_exceeded`. */
function rateLimited(message: string, dialect: Dialect): ErrorReply {
	const body = dialect === 'envelope' ? envelopeError('rate_limit_exceeded', message) : openAiError(message, 'rate_limit_error', 'rate_limit_exceeded');
	return { status: 429, body };
}

function envelopeCodeFor(status: number): string {
	if (status === 402) return 'insufficient_quota';
	if (status === 404) return 'model_not_found';
	if (status === 429) return 'rate_limit_exceeded';
	if (status >= 500) return 'server_error';
	return 'invalid_request';
}

function midStreamErrorPayload(error: unknown, dialect: Dialect): unknown {
	if (typeof error === 'object' && error !== null) {
		const alreadyErrorBody = 'error' in error || 'object' in error || 'status' in error;
		return alreadyErrorBody ? error : { error };
	}
	const message = typeof error === 'string' ? error : 'Internal server error during generation';
	if (dialect === 'envelope') return envelopeError('server_error', message);
	return { error: { message, type: 'server_error', code: 500 } };
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

function countWords(text: string | null | undefined): number {
	return text ? text.split(/\s+/).filter(Boolean).length : 0;
}

/** Word plus its following whitespace, so the pieces concatenate back to the text exactly. */
function wordPieces(text: string): string[] {
	const pieces = text.match(/\S+\s*/g) ?? [];
	const leading = /^\s+/.exec(text)?.[0] ?? '';
	if (leading && pieces.length > 0) pieces[0] = leading + pieces[0];
	return pieces.length > 0 || !text ? pieces : [text];
}

function cutToWords(text: string, maxWords: number | undefined): { text: string; cut: boolean } {
	const pieces = wordPieces(text);
	if (maxWords === undefined || pieces.length <= maxWords) return { text, cut: false };
	return { text: pieces.slice(0, maxWords).join('').trimEnd(), cut: true };
}

/** Splits into 2-3 pieces by code point, so no piece ends inside a surrogate pair. */
function splitInPieces(text: string): string[] {
	const chars = Array.from(text);
	const count = Math.min(3, chars.length);
	if (count <= 1) return [text];
	const size = Math.ceil(chars.length / count);
	const pieces: string[] = [];
	for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
	return pieces;
}

interface ChatMessage {
	role: string;
	content?: unknown;
}

function lastUserText(messages: ChatMessage[]): string {
	const last = [...messages].reverse().find((message) => message.role === 'user');
	return last ? textOf(last.content) : '';
}

function usageOf(promptTokens: number, completionTokens: number): FakeUsage {
	return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

function isRecord(value: unknown): value is Record<string, any> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveIntegerOrAbsent(value: unknown): boolean {
	return value === undefined || value === null || (Number.isInteger(value) && (value as number) >= 1);
}

// ---------------------------------------------------------------------------
// Plans: what the scripted steps ask of one request
// ---------------------------------------------------------------------------

type StreamFault = ErrorMidStreamStep | CutStreamStep | DestroyStep;

interface Plan {
	status?: StatusStep;
	reply?: ReplyStep;
	delayMs: number;
	intervalMs?: number;
	fault?: StreamFault;
	eol: string;
	keepAlive: boolean;
	jsonForStream: boolean;
	splitBytes?: number;
	bom: boolean;
	firstTokenDelayMs: number;
	gate?: GateStep;
	headers: Record<string, string>;
	embeddingFault?: EmbeddingFault;
}

function compilePlan(steps: Step[]): Plan {
	const plan: Plan = { delayMs: 0, eol: '\n', keepAlive: false, jsonForStream: false, bom: false, firstTokenDelayMs: 0, headers: {} };
	for (const step of steps) applyStep(plan, step);
	return plan;
}

function applyStep(plan: Plan, step: Step): void {
	switch (step.kind) {
		case 'status':
			plan.status = step;
			break;
		case 'reply':
			plan.reply = step;
			break;
		case 'delayHeaders':
			plan.delayMs += step.ms;
			break;
		case 'drip':
			plan.intervalMs = step.intervalMs;
			break;
		case 'errorMidStream':
		case 'cutStream':
		case 'destroy':
			plan.fault = step;
			break;
		case 'crlf':
			plan.eol = '\r\n';
			break;
		case 'cr':
			plan.eol = '\r';
			break;
		case 'keepAlive':
			plan.keepAlive = true;
			break;
		case 'jsonForStream':
			plan.jsonForStream = true;
			break;
		case 'splitWrites':
			plan.splitBytes = Math.max(1, Math.floor(step.bytes));
			break;
		case 'bom':
			plan.bom = true;
			break;
		case 'firstTokenDelay':
			plan.firstTokenDelayMs += step.ms;
			break;
		case 'gate':
			plan.gate = step;
			break;
		case 'headers':
			Object.assign(plan.headers, step.headers);
			break;
		case 'embeddingFault':
			plan.embeddingFault = step.fault;
			break;
	}
}

// ---------------------------------------------------------------------------
// One exchange: writing answers with the plan's framing and faults
// ---------------------------------------------------------------------------

interface Exchange {
	req: http.IncomingMessage;
	res: http.ServerResponse;
	body: unknown;
	plan: Plan;
	signal: AbortSignal;
	intervalMs: number;
	dialect: Dialect;
}

interface SseEvent {
	data: string;
	event?: string;
	/** Finish, usage and [DONE] events: stream faults land before the first of them. */
	terminal: boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	if (ms <= 0 || signal.aborted) return Promise.resolve();
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			signal.removeEventListener('abort', done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		signal.addEventListener('abort', done, { once: true });
	});
}

function writeRaw(x: Exchange, chunk: Buffer): Promise<void> {
	if (x.signal.aborted || x.res.destroyed) return Promise.resolve();
	return new Promise((resolve) => {
		const done = () => {
			x.signal.removeEventListener('abort', done);
			resolve();
		};
		x.signal.addEventListener('abort', done, { once: true });
		x.res.write(chunk, done);
	});
}

async function writeOut(x: Exchange, data: string | Buffer): Promise<void> {
	const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
	const size = x.plan.splitBytes;
	if (!size) return writeRaw(x, bytes);
	for (let offset = 0; offset < bytes.length && !x.signal.aborted; offset += size) {
		await writeRaw(x, bytes.subarray(offset, offset + size));
		// Lets each piece leave as its own TCP segment instead of being coalesced.
		await nextTick();
	}
}

function prepareSocket(x: Exchange): void {
	if (x.plan.splitBytes) x.req.socket.setNoDelay(true);
}

function setHeaders(res: http.ServerResponse, defaults: Record<string, string | number>, extra?: Record<string, string>): void {
	for (const [name, value] of Object.entries(defaults)) res.setHeader(name, value);
	for (const [name, value] of Object.entries(extra ?? {})) res.setHeader(name, value);
}

async function sendBody(
	x: Exchange,
	status: number,
	payload: string,
	contentType: string,
	extraHeaders?: Record<string, string>,
): Promise<void> {
	const { res, plan } = x;
	if (x.signal.aborted) return;
	const bytes = Buffer.from(payload, 'utf8');
	const hasBody = status !== 204 && status !== 304;
	setHeaders(res, hasBody ? { 'content-type': contentType, 'content-length': bytes.length } : {}, extraHeaders);
	res.writeHead(status);
	if (!hasBody) return void res.end();
	prepareSocket(x);
	if (plan.fault?.kind === 'destroy' && plan.fault.afterChunks !== undefined) {
		// A reset in the middle of a JSON body: headers and half the bytes, then nothing.
		res.flushHeaders();
		await writeOut(x, bytes.subarray(0, Math.floor(bytes.length / 2)));
		return void res.socket?.destroy();
	}
	if (plan.splitBytes) {
		await writeOut(x, bytes);
		return void res.end();
	}
	res.end(bytes);
}

function sendJson(x: Exchange, status: number, body: unknown, extraHeaders?: Record<string, string>): Promise<void> {
	return sendBody(x, status, JSON.stringify(body), 'application/json', extraHeaders);
}

function sendError(x: Exchange, error: ErrorReply): Promise<void> {
	return sendJson(x, error.status, error.body);
}

function sendStatusStep(x: Exchange, step: StatusStep): Promise<void> {
	const body = step.body === undefined ? defaultStatusBody(step.status, x.dialect) : step.body;
	if (typeof body === 'string') {
		const sniffed = body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
		return sendBody(x, step.status, body, step.contentType ?? sniffed, step.headers);
	}
	return sendBody(x, step.status, JSON.stringify(body), step.contentType ?? 'application/json', step.headers);
}

function frameEvent(event: SseEvent, eol: string): string {
	const lines = event.event ? [`event: ${event.event}`, `data: ${event.data}`] : [`data: ${event.data}`];
	return lines.map((line) => line + eol).join('') + eol;
}

function frameComment(text: string, eol: string): string {
	return `: ${text}${eol}${eol}`;
}

/** Index of the event before which the scripted fault happens, or -1. */
function faultIndex(fault: StreamFault | undefined, events: SseEvent[]): number {
	if (!fault || fault.afterChunks === undefined) return -1;
	const firstTerminal = events.findIndex((event) => event.terminal);
	const limit = firstTerminal === -1 ? events.length : firstTerminal;
	return Math.max(0, Math.min(Math.floor(fault.afterChunks), limit));
}

async function streamSse(x: Exchange, events: SseEvent[]): Promise<void> {
	const { res, plan } = x;
	if (x.signal.aborted) return;
	res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
	prepareSocket(x);
	res.flushHeaders();
	const preamble = (plan.bom ? '\uFEFF' : '') + (plan.keepAlive ? frameComment('ping', plan.eol) : '');
	if (preamble) await writeOut(x, preamble);
	await sleep(plan.firstTokenDelayMs, x.signal);
	const stopAt = faultIndex(plan.fault, events);
	for (let i = 0; i <= events.length; i++) {
		if (i > 0 && i < events.length) await pauseBetweenChunks(x);
		if (x.signal.aborted) return;
		if (i === stopAt) return applyStreamFault(x, plan.fault as StreamFault);
		if (plan.gate && i === plan.gate.afterChunks) await waitAtGate(x, plan.gate.gate);
		if (i < events.length) await writeOut(x, frameEvent(events[i], plan.eol));
	}
	res.end();
}

async function waitAtGate(x: Exchange, gate: FakeGate): Promise<void> {
	const own = gate as ReturnType<typeof createGate>;
	own.markReached();
	await Promise.race([own.opened, new Promise((resolve) => x.signal.addEventListener('abort', resolve, { once: true }))]);
}

async function pauseBetweenChunks(x: Exchange): Promise<void> {
	await sleep(x.intervalMs, x.signal);
	if (x.plan.keepAlive && !x.signal.aborted) await writeOut(x, frameComment('keep-alive', x.plan.eol));
}

async function applyStreamFault(x: Exchange, fault: StreamFault): Promise<void> {
	if (fault.kind === 'destroy') return void x.res.socket?.destroy();
	if (fault.kind === 'errorMidStream') {
		const data = JSON.stringify(midStreamErrorPayload(fault.error, x.dialect));
		await writeOut(x, frameEvent({ data, event: fault.eventName, terminal: true }, x.plan.eol));
	}
	x.res.end();
}

function wantsStream(x: Exchange): boolean {
	return isRecord(x.body) && x.body.stream === true && !x.plan.jsonForStream;
}

// ---------------------------------------------------------------------------
// Chat completions (/chat/completions and /inference/chat_text)
// ---------------------------------------------------------------------------

interface ChatChoice {
	content: string | null;
	reasoning?: string;
	reasoningField: 'reasoning_content' | 'reasoning';
	toolCalls?: FakeToolCall[];
	finishReason: string;
}

interface CompletionMeta {
	id: string;
	created: number;
	model: string;
}

function validateChat(body: unknown, isKnownModel: (id: string) => boolean): ErrorReply | undefined {
	if (!isRecord(body)) return badRequest('The request body must be a JSON object.');
	if (typeof body.model !== 'string' || body.model === '') return badRequest("Field 'model' is required and must be a string.", 'model');
	if (!Array.isArray(body.messages) || body.messages.length === 0) {
		return badRequest("Field 'messages' must be a non-empty array.", 'messages');
	}
	const badIndex = body.messages.findIndex((message: unknown) => !isValidMessage(message));
	if (badIndex !== -1) return badRequest(`messages[${badIndex}] must be an object with a string 'role' and a 'content'.`, 'messages');
	if (body.n !== undefined && !isPositiveIntegerOrAbsent(body.n)) return badRequest("Field 'n' must be a positive integer.", 'n');
	if (!isPositiveIntegerOrAbsent(body.max_tokens)) return badRequest("Field 'max_tokens' must be a positive integer.", 'max_tokens');
	if (!isKnownModel(body.model)) return notFound(`The model \`${body.model}\` does not exist.`);
	return undefined;
}

function isValidMessage(message: unknown): boolean {
	if (!isRecord(message) || typeof message.role !== 'string') return false;
	const content = message.content;
	if (typeof content === 'string' || Array.isArray(content)) return true;
	// Assistant turns that only carry tool calls have no content.
	return (content === null || content === undefined) && message.role === 'assistant';
}

function chatMaxTokens(body: Record<string, any>, defaultMaxTokens: number | undefined): number | undefined {
	if (typeof body.max_tokens === 'number') return body.max_tokens;
	return body.max_tokens === undefined ? defaultMaxTokens : undefined;
}

function buildChoices(body: Record<string, any>, reply: ReplyStep | undefined, defaultMaxTokens: number | undefined): ChatChoice[] {
	const count = typeof body.n === 'number' ? body.n : 1;
	const userText = lastUserText(body.messages);
	const maxTokens = chatMaxTokens(body, defaultMaxTokens);
	return Array.from({ length: count }, (_, index) => (reply ? replyChoice(reply) : defaultChoice(body, userText, index, maxTokens)));
}

/** Unscripted: answer like a model would (JSON for a schema, a tool call when tools are offered), else echo. */
function defaultChoice(body: Record<string, any>, userText: string, index: number, maxTokens: number | undefined): ChatChoice {
	const answer = defaultModelAnswer(body);
	if (!answer) return echoChoice(userText, index, maxTokens);
	if (answer.kind === 'toolCalls') {
		return { content: null, reasoningField: 'reasoning_content', toolCalls: answer.toolCalls, finishReason: 'tool_calls' };
	}
	if (answer.kind === 'json') return { content: answer.text, reasoningField: 'reasoning_content', finishReason: 'stop' };
	const cut = cutToWords(answer.text, maxTokens);
	return { content: cut.text, reasoningField: 'reasoning_content', finishReason: cut.cut ? 'length' : 'stop' };
}

function echoChoice(userText: string, index: number, maxTokens: number | undefined): ChatChoice {
	const prefix = index === 0 ? 'Echo: ' : `Echo[${index}]: `;
	const answer = cutToWords(prefix + userText, maxTokens);
	return { content: answer.text, reasoningField: 'reasoning_content', finishReason: answer.cut ? 'length' : 'stop' };
}

/** Scripted replies are sent verbatim: max_tokens does not cut them. */
function replyChoice(reply: ReplyStep): ChatChoice {
	const hasTools = (reply.toolCalls?.length ?? 0) > 0;
	return {
		content: reply.content ?? (hasTools ? null : ''),
		reasoning: reply.reasoningContent,
		reasoningField: reply.reasoningField ?? 'reasoning_content',
		toolCalls: hasTools ? reply.toolCalls : undefined,
		finishReason: reply.finishReason ?? (hasTools ? 'tool_calls' : 'stop'),
	};
}

function chatUsage(messages: ChatMessage[], choices: ChatChoice[], reply: ReplyStep | undefined): FakeUsage {
	if (reply?.usage) return reply.usage;
	const promptTokens = messages.reduce((sum, message) => sum + countWords(textOf(message.content)), 0);
	const completionTokens = choices.reduce((sum, choice) => sum + countWords(choice.content) + countWords(choice.reasoning), 0);
	return usageOf(promptTokens, completionTokens);
}

function fullUsage(usage: FakeUsage) {
	return { ...usage, completion_tokens_details: null, prompt_tokens_details: null };
}

function toolCallObjects(toolCalls: FakeToolCall[]) {
	return toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
}

function completionObject(meta: CompletionMeta, choices: ChatChoice[], usage: FakeUsage) {
	return {
		id: meta.id,
		object: 'chat.completion',
		created: meta.created,
		model: meta.model,
		system_fingerprint: SYSTEM_FINGERPRINT,
		service_tier: null,
		prompt_logprobs: null,
		choices: choices.map((choice, index) => ({
			index,
			message: assistantMessage(choice),
			finish_reason: choice.finishReason,
			logprobs: null,
		})),
		usage: fullUsage(usage),
	};
}

function assistantMessage(choice: ChatChoice) {
	return {
		role: 'assistant',
		content: choice.content,
		tool_calls: choice.toolCalls ? toolCallObjects(choice.toolCalls) : null,
		...(choice.reasoning !== undefined ? { [choice.reasoningField]: choice.reasoning } : {}),
	};
}

interface ChoiceDelta {
	delta: Record<string, unknown>;
	finishReason: string | null;
}

function choiceDeltas(choice: ChatChoice): ChoiceDelta[] {
	const deltas: ChoiceDelta[] = [{ delta: { role: 'assistant', content: '' }, finishReason: null }];
	const push = (delta: Record<string, unknown>) => deltas.push({ delta, finishReason: null });
	for (const piece of wordPieces(choice.reasoning ?? '')) push({ [choice.reasoningField]: piece });
	for (const piece of wordPieces(choice.content ?? '')) push({ content: piece });
	(choice.toolCalls ?? []).forEach((call, index) => {
		push({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
		if (call.arguments === '') return;
		for (const piece of splitInPieces(call.arguments)) push({ tool_calls: [{ index, function: { arguments: piece } }] });
	});
	deltas.push({ delta: {}, finishReason: choice.finishReason });
	return deltas;
}

function chunkObject(meta: CompletionMeta, choices: unknown[], usage?: FakeUsage) {
	return {
		id: meta.id,
		object: 'chat.completion.chunk',
		created: meta.created,
		model: meta.model,
		system_fingerprint: SYSTEM_FINGERPRINT,
		choices,
		...(usage ? { usage: fullUsage(usage) } : {}),
	};
}

function chatEvents(meta: CompletionMeta, choices: ChatChoice[], usage: FakeUsage | undefined): SseEvent[] {
	const perChoice = choices.map(choiceDeltas);
	const longest = Math.max(...perChoice.map((deltas) => deltas.length));
	const events: SseEvent[] = [];
	// n > 1: choices take turns, one delta each, like an OpenAI-style server.
	for (let step = 0; step < longest; step++) {
		perChoice.forEach((deltas, index) => {
			const item = deltas[step];
			if (!item) return;
			const choice = { index, delta: item.delta, logprobs: null, finish_reason: item.finishReason };
			events.push({ data: JSON.stringify(chunkObject(meta, [choice])), terminal: item.finishReason !== null });
		});
	}
	if (usage) events.push({ data: JSON.stringify(chunkObject(meta, [], usage)), terminal: true });
	events.push({ data: '[DONE]', terminal: true });
	return events;
}

// ---------------------------------------------------------------------------
// /text/generate (seed 003)
// ---------------------------------------------------------------------------

function validateTextGenerate(body: unknown, isKnownModel: (id: string) => boolean): ErrorReply | undefined {
	if (!isRecord(body)) return { status: 400, body: envelopeError('invalid_request', 'The request body must be a JSON object') };
	if (typeof body.model !== 'string' || body.model === '') {
		return { status: 400, body: envelopeError('invalid_request', 'Invalid parameters', { model: 'Model is required' }) };
	}
	if (typeof body.prompt !== 'string' || body.prompt.trim() === '') {
		return { status: 400, body: envelopeError('invalid_request', 'Invalid parameters', { prompt: 'Prompt is required and must be a non-empty string' }) };
	}
	if (!isPositiveIntegerOrAbsent(body.max_tokens)) {
		return { status: 400, body: envelopeError('invalid_request', 'Invalid parameters', { max_tokens: 'max_tokens must be a positive integer' }) };
	}
	if (!isKnownModel(body.model)) {
		return { status: 404, body: envelopeError('model_not_found', 'Invalid model specified', { model: `Model '${body.model}' not found` }) };
	}
	return undefined;
}

interface Generation {
	text: string;
	finishReason: string;
	usage: FakeUsage;
}

function generate(body: Record<string, any>, reply: ReplyStep | undefined): Generation {
	const promptTokens = countWords(body.prompt);
	if (reply) {
		const text = reply.content ?? '';
		return { text, finishReason: reply.finishReason ?? 'stop', usage: reply.usage ?? usageOf(promptTokens, countWords(text)) };
	}
	const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : TEXT_GENERATE_DEFAULT_MAX_TOKENS;
	const answer = cutToWords(`Echo: ${body.prompt}`, maxTokens);
	return { text: answer.text, finishReason: answer.cut ? 'length' : 'stop', usage: usageOf(promptTokens, countWords(answer.text)) };
}

/** Spaced like the seed's Python output: {"text": "...", "finish_reason": null}. */
function textEventData(text: string, finishReason: string | null): string {
	return `{"text": ${JSON.stringify(text)}, "finish_reason": ${JSON.stringify(finishReason)}}`;
}

function textEvents(generation: Generation): SseEvent[] {
	const pieces = wordPieces(generation.text);
	if (pieces.length === 0) pieces.push('');
	return pieces.map((piece, index) => {
		const last = index === pieces.length - 1;
		return { data: textEventData(piece, last ? generation.finishReason : null), terminal: last };
	});
}

// ---------------------------------------------------------------------------
// /embeddings (OpenAI-compatible; the service's backend answers like vLLM)
// ---------------------------------------------------------------------------

/** Length of every vector (bge-large-en-v1.5 and UAE-Large-V1 are 1024-dimensional). */
export const EMBEDDING_DIMENSIONS = 1024;
const DEFAULT_EMBEDDING_CONTEXT = 512;

/** Lower-cased word tokens, as the fake's bag of words sees them. */
function wordTokens(text: string): string[] {
	return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** FNV-1a, 32 bits: a fixed, cheap hash, so a word always lands in the same bucket. */
function fnv1a(text: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash;
}

/**
 * A deterministic vector with meaning: a hashed bag of words (each lower-cased word adds 1 to one
 * of 1024 buckets), L2-normalised. Texts that share words are near by cosine; a text with no words
 * gets the first unit vector.
 */
export function fakeEmbedding(text: string): number[] {
	const vector = new Array<number>(EMBEDDING_DIMENSIONS).fill(0);
	for (const word of wordTokens(text)) vector[fnv1a(word) % EMBEDDING_DIMENSIONS] += 1;
	const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
	if (norm === 0) {
		vector[0] = 1;
		return vector;
	}
	return vector.map((value) => value / norm);
}

/** Tokens as the fake counts them: one per whitespace-separated word, plus the two special tokens a BERT model adds. */
export function fakeEmbeddingTokens(text: string): number {
	return countWords(text) + 2;
}

function embeddingInputs(body: Record<string, any>): string[] | undefined {
	if (typeof body.input === 'string') return [body.input];
	if (Array.isArray(body.input) && body.input.length > 0 && body.input.every((entry: unknown) => typeof entry === 'string')) return body.input;
	return undefined;
}

function validateEmbeddings(body: unknown, models: FakeModel[]): ErrorReply | undefined {
	if (!isRecord(body)) return badRequest('The request body must be a JSON object.');
	if (typeof body.model !== 'string' || body.model === '') return badRequest("Field 'model' is required and must be a string.", 'model');
	if (!embeddingInputs(body)) return badRequest("Field 'input' must be a string or a non-empty array of strings.", 'input');
	const model = models.find((entry) => entry.id === body.model);
	if (!model && !body.model.startsWith('fake/')) return notFound(`The model \`${body.model}\` does not exist.`);
	if (model && modelType(model) !== 'Embedding') return badRequest(`The model \`${body.model}\` does not support the embeddings API.`, 'model');
	if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
		return badRequest("encoding_format must be 'float' or 'base64'.", 'encoding_format');
	}
	// vLLM's answer for a model without matryoshka representation, which neither listed model has.
	if (body.dimensions !== undefined && body.dimensions !== null) {
		return badRequest(`Model "${body.model}" does not support matryoshka representation, changing output dimensions will lead to poor results.`, 'dimensions');
	}
	const context = model?.contextLength ?? DEFAULT_EMBEDDING_CONTEXT;
	for (const input of embeddingInputs(body) as string[]) {
		const tokens = fakeEmbeddingTokens(input);
		if (tokens > context) {
			return badRequest(
				`This model's maximum context length is ${context} tokens. However, you requested ${tokens} tokens in the input for embedding generation. Please reduce the length of the input.`,
			);
		}
	}
	return undefined;
}

function base64Vector(vector: number[]): string {
	return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** The answer to POST /embeddings, with the scripted fault if any; `NaN` makes it a text that is not JSON. */
function embeddingsAnswer(body: Record<string, any>, fault: EmbeddingFault | undefined): string {
	const inputs = embeddingInputs(body) as string[];
	const base64 = body.encoding_format === 'base64';
	let data: Array<{ object: 'embedding'; index: number; embedding: unknown }> = inputs.map((input, index) => ({
		object: 'embedding',
		index,
		embedding: fakeEmbedding(input),
	}));
	const first = data[0].embedding as unknown[];
	if (fault === 'count') data = data.slice(0, -1);
	if (fault === 'ragged') {
		const last = data[data.length - 1];
		last.embedding = (last.embedding as number[]).slice(0, EMBEDDING_DIMENSIONS / 2);
	}
	if (fault === 'null') first[3] = null;
	if (fault === 'string') first[3] = '0.5';
	if (fault === 'nan') first[3] = '__NaN__';
	if (fault === 'shuffled') data.reverse();
	if (base64) for (const entry of data) entry.embedding = base64Vector(entry.embedding as number[]);
	const tokens = inputs.reduce((sum, input) => sum + fakeEmbeddingTokens(input), 0);
	const answer = { object: 'list', model: body.model, data, usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null } };
	return JSON.stringify(answer).replace('"__NaN__"', 'NaN');
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

interface InFlightCounter {
	current: number;
	max: number;
}

function bearerKey(header: string | undefined): string | undefined {
	const match = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
	return match ? match[1].trim() : undefined;
}

function parseBody(raw: string): unknown {
	if (raw === '') return undefined;
	try {
		return JSON.parse(raw);
	} catch {
		return raw;
	}
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
	const chunks: Buffer[] = [];
	try {
		for await (const chunk of req) chunks.push(chunk as Buffer);
	} catch {
		return undefined;
	}
	return Buffer.concat(chunks).toString('utf8');
}

function routePath(url: string | undefined): string {
	const pathname = new URL(url ?? '/', 'http://127.0.0.1').pathname;
	return pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
}

function slug(label: string): string {
	return label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'key';
}

class FakeNebulaServer implements FakeNebula {
	url = '';
	port = 0;
	readonly defaultKey = 'test-key';

	private readonly keys = new Set<string>([this.defaultKey]);
	private readonly scripts = new Map<string, Array<Step | Step[]>>();
	private readonly records: RecordedRequest[] = [];
	private readonly active = new Set<AbortController>();
	private readonly inFlight = new Map<string, InFlightCounter>();
	private readonly allInFlight: InFlightCounter = { current: 0, max: 0 };
	private readonly models: FakeModel[];
	private readonly rateGate: RateGate;
	private modelsMode: ModelsMode = 'both';
	private connections = 0;
	private keyCounter = 0;
	private completionCounter = 0;
	readonly server: http.Server;

	constructor(private readonly options: FakeNebulaOptions) {
		this.models = options.models ?? DEFAULT_MODELS;
		this.rateGate = new RateGate(options.rateLimit);
		this.server = http.createServer((req, res) => void this.handle(req, res));
		this.server.on('connection', () => this.connections++);
	}

	async listen(): Promise<void> {
		await new Promise<void>((resolve, reject) => {
			this.server.once('error', reject);
			this.server.listen(this.options.port ?? 0, '127.0.0.1', () => {
				this.server.off('error', reject);
				resolve();
			});
		});
		this.port = (this.server.address() as AddressInfo).port;
		this.url = `http://127.0.0.1:${this.port}/v1`;
	}

	newKey(label?: string): string {
		const key = `nb-${slug(label ?? 'key')}-${++this.keyCounter}-${randomBytes(6).toString('hex')}`;
		this.keys.add(key);
		return key;
	}

	adoptKey(key: string): void {
		this.keys.add(key);
	}

	script(key: string, ...steps: Array<Step | Step[]>): void {
		const queue = this.scripts.get(key) ?? [];
		queue.push(...steps);
		this.scripts.set(key, queue);
	}

	requests(key?: string): RecordedRequest[] {
		return key === undefined ? [...this.records] : this.records.filter((record) => record.key === key);
	}

	connectionCount(): number {
		return this.connections;
	}

	maxInFlight(key?: string): number {
		return key === undefined ? this.allInFlight.max : (this.inFlight.get(key)?.max ?? 0);
	}

	inFlightNow(key?: string): number {
		return key === undefined ? this.allInFlight.current : (this.inFlight.get(key)?.current ?? 0);
	}

	setModelsMode(mode: ModelsMode): void {
		this.modelsMode = mode;
	}

	setRateLimit(limit: FakeRateLimit | undefined, key?: string): void {
		this.rateGate.set(limit, key);
	}

	rateLimitStats(key?: string): RateLimitStats {
		return this.rateGate.stats(key);
	}

	close(): Promise<void> {
		for (const controller of this.active) controller.abort();
		return new Promise((resolve) => {
			this.server.close(() => resolve());
			this.server.closeAllConnections();
		});
	}

	private takeSteps(key: string | undefined): Step[] {
		const next = key === undefined ? undefined : this.scripts.get(key)?.shift();
		if (next === undefined) return [];
		return Array.isArray(next) ? next : [next];
	}

	private enterInFlight(key: string | undefined): () => void {
		const counters = [this.allInFlight];
		if (key !== undefined) {
			if (!this.inFlight.has(key)) this.inFlight.set(key, { current: 0, max: 0 });
			counters.push(this.inFlight.get(key) as InFlightCounter);
		}
		for (const counter of counters) {
			counter.current++;
			counter.max = Math.max(counter.max, counter.current);
		}
		let released = false;
		return () => {
			if (released) return;
			released = true;
			for (const counter of counters) counter.current--;
		};
	}

	private isKnownModel = (id: string): boolean => id.startsWith('fake/') || this.models.some((model) => model.id === id);

	private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const key = bearerKey(req.headers.authorization);
		const record: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: undefined, key, at: Date.now() };
		this.records.push(record);
		// The limit decides at arrival; a request it turns away never reaches the model, so it takes no step.
		const admission = this.rateGate.admit(key);
		if (!admission.admitted) record.rateLimited = admission.cause;
		for (const [name, value] of Object.entries(admission.headers)) res.setHeader(name, value);
		// Steps are taken at arrival so "request N consumes step N" follows arrival order.
		const plan = compilePlan(admission.admitted ? this.takeSteps(key) : []);
		for (const [name, value] of Object.entries(plan.headers)) res.setHeader(name, value);
		const controller = new AbortController();
		this.active.add(controller);
		const release = this.enterInFlight(key);
		res.on('close', () => {
			record.answered = res.writableFinished;
			controller.abort();
			this.active.delete(controller);
			release();
			admission.release();
		});
		res.on('error', () => undefined);
		req.on('error', () => undefined);
		try {
			const raw = await readBody(req);
			if (raw === undefined) return;
			record.body = parseBody(raw);
			await this.answer(req, res, record, plan, controller.signal, admission);
		} catch (error) {
			this.failSafely(res, error);
		}
	}

	private async answer(
		req: http.IncomingMessage,
		res: http.ServerResponse,
		record: RecordedRequest,
		plan: Plan,
		signal: AbortSignal,
		admission: Admission,
	): Promise<void> {
		const path = routePath(req.url);
		const x: Exchange = {
			req,
			res,
			body: record.body,
			plan,
			signal,
			intervalMs: plan.intervalMs ?? this.options.tokenIntervalMs ?? 0,
			dialect: path === '/v1/text/generate' ? 'envelope' : 'openai',
		};
		// A gateway turns a request away at once: the latency is the model's, which it never reached.
		if (!admission.admitted) return sendError(x, rateLimited(admission.message, x.dialect));
		await sleep((this.options.latencyMs ?? 0) + plan.delayMs, signal);
		if (signal.aborted) return;
		if (plan.fault?.kind === 'destroy' && plan.fault.afterChunks === undefined) return void req.socket.resetAndDestroy();
		if (plan.status) return sendStatusStep(x, plan.status);
		if (record.key === undefined || !this.keys.has(record.key)) return sendError(x, unauthorized(x.dialect));
		return this.route(req.method ?? 'GET', path, x);
	}

	private route(method: string, path: string, x: Exchange): Promise<void> {
		const route = `${method} ${path}`;
		if (route === 'GET /v1/models') return this.listModels(x, 'openai');
		if (route === 'GET /v1/serverless/models') return this.listModels(x, 'serverless');
		if (route === 'POST /v1/chat/completions') return this.chat(x, 'chat');
		if (route === 'POST /v1/inference/chat_text') return this.chat(x, 'chatText');
		if (route === 'POST /v1/text/generate') return this.textGenerate(x);
		if (route === 'POST /v1/embeddings') return this.embeddings(x);
		return sendError(x, notFound(`No route for ${method} ${path}`));
	}

	private listModels(x: Exchange, kind: 'openai' | 'serverless'): Promise<void> {
		if (this.modelsMode === 'down') return sendError(x, { status: 503, body: openAiError('Service Unavailable', 'server_error', 503) });
		if (this.modelsMode !== 'both' && this.modelsMode !== kind) return sendError(x, notFound('Not Found'));
		return sendJson(x, 200, kind === 'openai' ? openAiModelList(this.models) : serverlessModelList(this.models));
	}

	private chat(x: Exchange, endpoint: 'chat' | 'chatText'): Promise<void> {
		const problem = validateChat(x.body, this.isKnownModel);
		if (problem) return sendError(x, problem);
		const body = x.body as Record<string, any>;
		const defaultMaxTokens = endpoint === 'chatText' ? CHAT_TEXT_DEFAULT_MAX_TOKENS : undefined;
		const choices = buildChoices(body, x.plan.reply, defaultMaxTokens);
		const usage = chatUsage(body.messages, choices, x.plan.reply);
		const meta: CompletionMeta = { id: `chatcmpl-${++this.completionCounter}`, created: Math.floor(Date.now() / 1000), model: body.model };
		if (!wantsStream(x)) return sendJson(x, 200, completionObject(meta, choices, usage));
		// Seed 002: /inference/chat_text always puts usage in the last chunk.
		const includeUsage = body.stream_options?.include_usage === true || endpoint === 'chatText';
		return streamSse(x, chatEvents(meta, choices, includeUsage ? usage : undefined));
	}

	private textGenerate(x: Exchange): Promise<void> {
		const problem = validateTextGenerate(x.body, this.isKnownModel);
		if (problem) return sendError(x, problem);
		const body = x.body as Record<string, any>;
		const generation = generate(body, x.plan.reply);
		if (wantsStream(x)) return streamSse(x, textEvents(generation));
		const data = { text: generation.text, usage: generation.usage, model: body.model, finish_reason: generation.finishReason };
		return sendJson(x, 200, { status: 'success', data });
	}

	private embeddings(x: Exchange): Promise<void> {
		const problem = validateEmbeddings(x.body, this.models);
		if (problem) return sendError(x, problem);
		return sendBody(x, 200, embeddingsAnswer(x.body as Record<string, any>, x.plan.embeddingFault), 'application/json');
	}

	private failSafely(res: http.ServerResponse, error: unknown): void {
		if (res.headersSent) return void res.destroy();
		const message = error instanceof Error ? error.message : String(error);
		res.writeHead(500, { 'content-type': 'application/json' });
		res.end(JSON.stringify(openAiError(`Fake server failure: ${message}`, 'server_error', 500)));
	}
}

export async function startFakeNebula(opts: FakeNebulaOptions = {}): Promise<FakeNebula> {
	const fake = new FakeNebulaServer(opts);
	await fake.listen();
	return fake;
}

// ---------------------------------------------------------------------------
// Command line: npx tsx test/support/fake-nebula.ts --port 5690 [--rate-rps 20 --rate-burst 5]
// ---------------------------------------------------------------------------

function cliNumber(argv: string[], name: string): number | undefined {
	const index = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
	if (index === -1) return undefined;
	const arg = argv[index];
	const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
	const value = Number(raw);
	if (!Number.isFinite(value)) throw new Error(`--${name} needs a number, got ${raw}`);
	return value;
}

/** `--rate-rps 20 --rate-burst 5 [--max-concurrent 8] [--rate-headers]`: the rate-limited mode, per key. */
function cliRateLimit(argv: string[]): FakeRateLimit | undefined {
	const requestsPerSecond = cliNumber(argv, 'rate-rps');
	const maxConcurrent = cliNumber(argv, 'max-concurrent');
	if (requestsPerSecond === undefined && maxConcurrent === undefined) return undefined;
	return {
		requestsPerSecond,
		burst: cliNumber(argv, 'rate-burst'),
		maxConcurrent,
		sendHeaders: argv.includes('--rate-headers'),
	};
}

async function main(argv: string[]): Promise<void> {
	const fake = await startFakeNebula({
		port: cliNumber(argv, 'port'),
		latencyMs: cliNumber(argv, 'latency-ms'),
		tokenIntervalMs: cliNumber(argv, 'token-interval-ms'),
		rateLimit: cliRateLimit(argv),
	});
	process.stdout.write(`${JSON.stringify({ url: fake.url, key: fake.defaultKey })}\n`);
	const stop = () => void fake.close().then(() => process.exit(0));
	process.once('SIGINT', stop);
	process.once('SIGTERM', stop);
}

if (require.main === module) {
	main(process.argv.slice(2)).catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(1);
	});
}
