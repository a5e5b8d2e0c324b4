import { NebulaBlockError } from './errors';

/** One server-sent event, as the SSE specification dispatches it. */
export interface SseEvent {
	/** The `event:` field; undefined means the default "message" type. */
	event: string | undefined;
	data: string;
	id: string | undefined;
}

/** Long enough for any sane event; small enough that a server that never ends a line cannot exhaust memory. */
export const DEFAULT_MAX_EVENT_CHARS = 16 * 1024 * 1024;

const LF = 10;

/**
 * Incremental SSE decoder: bytes in, events out. It copes with what real servers and proxies
 * send: LF, CR or CRLF line ends (a CRLF may be split across two network chunks), UTF-8
 * characters split across chunks, a leading BOM (TextDecoder drops it), comment and
 * keep-alive lines, multi-line `data:`, and fields with or without the space after the colon.
 */
export class SseDecoder {
	private readonly textDecoder = new TextDecoder('utf-8');
	private readonly maxEventChars: number;
	private partialLine = '';
	private skipNextLf = false;
	private dataLines: string[] = [];
	private dataChars = 0;
	private eventName: string | undefined;
	private lastId: string | undefined;

	constructor(maxEventChars = DEFAULT_MAX_EVENT_CHARS) {
		this.maxEventChars = maxEventChars;
	}

	/** Feeds one network chunk; complete events are appended to `out`. */
	push(chunk: Uint8Array, out: SseEvent[]): void {
		const text = this.textDecoder.decode(chunk, { stream: true });
		if (text.length > 0) this.scan(text, out);
	}

	/** Ends the stream: a last event without its closing blank line is still delivered. */
	end(out: SseEvent[]): void {
		const rest = this.textDecoder.decode();
		if (rest.length > 0) this.scan(rest, out);
		if (this.partialLine.length > 0) {
			this.processLine(this.partialLine, out);
			this.partialLine = '';
		}
		this.dispatch(out);
	}

	private scan(text: string, out: SseEvent[]): void {
		let start = 0;
		if (this.skipNextLf) {
			this.skipNextLf = false;
			if (text.charCodeAt(0) === LF) start = 1;
		}
		const length = text.length;
		// Line ends are found with native indexOf, far faster than a charCodeAt loop; each is
		// searched again only once the scan has passed it, so a stream without CR costs one search.
		let nextLf = text.indexOf('\n', start);
		let nextCr = text.indexOf('\r', start);
		while (nextLf !== -1 || nextCr !== -1) {
			const position = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
			let line = text.slice(start, position);
			if (this.partialLine.length > 0) {
				line = this.partialLine + line;
				this.partialLine = '';
			}
			this.processLine(line, out);
			let next = position + 1;
			if (position === nextCr) {
				if (next === length) this.skipNextLf = true;
				else if (text.charCodeAt(next) === LF) next++;
			}
			start = next;
			if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
			if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf('\r', start);
		}
		if (start < length) {
			this.partialLine += text.slice(start);
			if (this.partialLine.length > this.maxEventChars) this.overflow();
		}
	}

	private processLine(line: string, out: SseEvent[]): void {
		if (line.length === 0) {
			this.dispatch(out);
			return;
		}
		const first = line.charCodeAt(0);
		if (first === 58 /* ':' comment or keep-alive */) return;
		const colon = line.indexOf(':');
		let field: string;
		let value: string;
		if (colon === -1) {
			field = line;
			value = '';
		} else {
			field = line.slice(0, colon);
			const valueStart = line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
			value = line.slice(valueStart);
		}
		switch (field) {
			case 'data':
				this.dataLines.push(value);
				this.dataChars += value.length;
				if (this.dataChars > this.maxEventChars) this.overflow();
				break;
			case 'event':
				this.eventName = value;
				break;
			case 'id':
				if (!value.includes('\0')) this.lastId = value;
				break;
			default:
			// `retry` and unknown fields carry nothing this client uses.
		}
	}

	private dispatch(out: SseEvent[]): void {
		const lines = this.dataLines;
		const eventName = this.eventName;
		this.eventName = undefined;
		if (lines.length === 0) {
			// An error event with no data still means the stream failed; other empty events mean nothing.
			if (eventName === 'error') out.push({ event: eventName, data: '', id: this.lastId });
			return;
		}
		this.dataLines = [];
		this.dataChars = 0;
		out.push({
			event: eventName,
			data: lines.length === 1 ? lines[0] : lines.join('\n'),
			id: this.lastId,
		});
	}

	private overflow(): never {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			message: `The stream sent an event larger than ${this.maxEventChars} characters`,
		});
	}
}
