import { NebulaBlockError } from './errors';

/** One server-sent event, as the SSE specification dispatches it. */
export interface SseEvent {
	/** The `event:` field; undefined means the default "message" type. */
	event: string | undefined;
	data: string;
	id: string | undefined;
}

/**
 * Long enough for any sane event; small enough that a server that never ends a line cannot
 * exhaust memory. Counted in characters for data, in bytes for a line not yet ended.
 */
export const DEFAULT_MAX_EVENT_CHARS = 16 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const MAX_KEPT_PENDING_BYTES = 64 * 1024;

/**
 * Incremental SSE decoder: bytes in, events out. It copes with what real servers and proxies
 * send: LF, CR or CRLF line ends (a CRLF may be split across two network chunks), UTF-8
 * characters split across chunks, a leading BOM, comment and keep-alive lines, multi-line
 * `data:`, and fields with or without the space after the colon.
 *
 * It works on bytes: line ends are found with the native byte search, and only the text of
 * a field's value is decoded. Line ends are ASCII and never occur inside a UTF-8 character,
 * so a complete line always decodes whole, and an all-ASCII payload (most of them) becomes
 * a one-byte string, which JSON.parse reads faster than a slice of a decoded chunk.
 */
export class SseDecoder {
	private readonly maxEventChars: number;
	/** The bytes of a line that has not ended yet: a copy, reused from line to line. */
	private pending = Buffer.allocUnsafe(0);
	private pendingBytes = 0;
	private skipNextLf = false;
	/** Until the first line is complete: a byte order mark may start it. */
	private atStreamStart = true;
	private data = '';
	private dataLines = 0;
	private eventName: string | undefined;
	private lastId: string | undefined;

	constructor(maxEventChars = DEFAULT_MAX_EVENT_CHARS) {
		this.maxEventChars = maxEventChars;
	}

	/** Feeds one network chunk; complete events are appended to `out`. */
	push(chunk: Uint8Array, out: SseEvent[]): void {
		if (chunk.length === 0) return;
		const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
		let start = 0;
		if (this.skipNextLf) {
			this.skipNextLf = false;
			if (bytes[0] === LF) start = 1;
		}
		// One native search tells whether the chunk holds a CR at all; almost none do.
		let firstCr = bytes.indexOf(CR, start);
		if (this.pendingBytes > 0 || this.atStreamStart) {
			const next = this.completeLine(bytes, start, firstCr, out);
			if (next < 0) return;
			if (firstCr !== -1 && firstCr < next) firstCr = bytes.indexOf(CR, next);
			start = next;
		}
		if (firstCr === -1) this.scanLf(bytes, start, out);
		else this.scanAnyLineEnd(bytes, start, out);
	}

	/** Ends the stream: a last event without its closing blank line is still delivered. */
	end(out: SseEvent[]): void {
		if (this.pendingBytes > 0) this.processPendingLine(out);
		this.dispatch(out);
	}

	/**
	 * Finishes the line the previous chunks began (or the stream's first line, which may start
	 * with a BOM). Returns where the rest of the chunk starts, or -1 if the line goes on.
	 */
	private completeLine(bytes: Buffer, start: number, cr: number, out: SseEvent[]): number {
		let end = bytes.indexOf(LF, start);
		if (cr !== -1 && (end === -1 || cr < end)) end = cr;
		if (end === -1) {
			this.keepPending(bytes, start, bytes.length);
			return -1;
		}
		if (this.pendingBytes > 0) {
			this.keepPending(bytes, start, end);
			this.processPendingLine(out);
		} else {
			this.processLine(bytes, this.lineStart(bytes, start, end), end, out);
		}
		let next = end + 1;
		if (end === cr) {
			if (next === bytes.length) this.skipNextLf = true;
			else if (bytes[next] === LF) next++;
		}
		return next;
	}

	/** The common case, a chunk with LF line ends only. */
	private scanLf(bytes: Buffer, start: number, out: SseEvent[]): void {
		let lineStart = start;
		let lf = bytes.indexOf(LF, lineStart);
		while (lf !== -1) {
			if (lf === lineStart) {
				this.dispatch(out);
			} else if (isDataLine(bytes, lineStart)) {
				const valueStart = bytes[lineStart + 5] === SPACE ? lineStart + 6 : lineStart + 5;
				const value = utf8(bytes, valueStart, lf);
				if (this.dataLines === 0 && bytes[lf + 1] === LF) {
					// One `data:` line and the blank line after it, the shape of almost every
					// event: it goes out at once, with no state kept in between.
					if (value.length > this.maxEventChars) this.overflow();
					out.push({ event: this.eventName, data: value, id: this.lastId });
					this.eventName = undefined;
					lineStart = lf + 2;
					lf = bytes.indexOf(LF, lineStart);
					continue;
				}
				this.addData(value);
			} else {
				this.processField(bytes, lineStart, lf);
			}
			lineStart = lf + 1;
			lf = bytes.indexOf(LF, lineStart);
		}
		this.keepPending(bytes, lineStart, bytes.length);
	}

	/** A chunk with CR somewhere: lines may end in LF, CR or CRLF. */
	private scanAnyLineEnd(bytes: Buffer, start: number, out: SseEvent[]): void {
		const length = bytes.length;
		let lineStart = start;
		// Each line end is searched again only once the scan has passed it.
		let nextLf = bytes.indexOf(LF, lineStart);
		let nextCr = bytes.indexOf(CR, lineStart);
		while (nextLf !== -1 || nextCr !== -1) {
			const end = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
			this.processLine(bytes, lineStart, end, out);
			let next = end + 1;
			if (end === nextCr) {
				if (next === length) this.skipNextLf = true;
				else if (bytes[next] === LF) next++;
			}
			lineStart = next;
			if (nextLf !== -1 && nextLf < lineStart) nextLf = bytes.indexOf(LF, lineStart);
			if (nextCr !== -1 && nextCr < lineStart) nextCr = bytes.indexOf(CR, lineStart);
		}
		this.keepPending(bytes, lineStart, bytes.length);
	}

	/** Skips a byte order mark at the very start of the stream (as a TextDecoder would). */
	private lineStart(bytes: Buffer, start: number, end: number): number {
		if (!this.atStreamStart) return start;
		this.atStreamStart = false;
		const hasBom = end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf;
		return hasBom ? start + 3 : start;
	}

	private processLine(bytes: Buffer, start: number, end: number, out: SseEvent[]): void {
		if (start >= end) {
			this.dispatch(out);
			return;
		}
		// The length test matters here: past the end of a pending line lie stale bytes.
		if (end - start >= 5 && isDataLine(bytes, start)) {
			const valueStart = start + 5 < end && bytes[start + 5] === SPACE ? start + 6 : start + 5;
			this.addData(utf8(bytes, valueStart, end));
			return;
		}
		this.processField(bytes, start, end);
	}

	/** Any line but an empty one or a `data:` line. */
	private processField(bytes: Buffer, start: number, end: number): void {
		if (bytes[start] === COLON) return; // a comment or keep-alive
		let colon = start;
		while (colon < end && bytes[colon] !== COLON) colon++;
		// Field names are ASCII; a name that is not cannot match one below whatever it decodes to.
		const field = bytes.toString('latin1', start, colon);
		let value = '';
		if (colon < end) {
			const valueStart = colon + 1 < end && bytes[colon + 1] === SPACE ? colon + 2 : colon + 1;
			value = utf8(bytes, valueStart, end);
		}
		switch (field) {
			case 'data':
				this.addData(value);
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

	private addData(value: string): void {
		this.data = this.dataLines === 0 ? value : `${this.data}\n${value}`;
		this.dataLines++;
		if (this.data.length > this.maxEventChars) this.overflow();
	}

	private dispatch(out: SseEvent[]): void {
		const eventName = this.eventName;
		this.eventName = undefined;
		if (this.dataLines === 0) {
			// An error event with no data still means the stream failed; other empty events mean nothing.
			if (eventName === 'error') out.push({ event: eventName, data: '', id: this.lastId });
			return;
		}
		out.push({ event: eventName, data: this.data, id: this.lastId });
		this.data = '';
		this.dataLines = 0;
	}

	/** Copies bytes of an unfinished line, so the caller may reuse its buffer. */
	private keepPending(bytes: Buffer, start: number, end: number): void {
		if (start >= end) return;
		const length = this.pendingBytes + end - start;
		if (length > this.maxEventChars) this.overflow();
		if (length > this.pending.length) {
			const grown = Buffer.allocUnsafe(Math.max(length, 2 * this.pending.length, 1024));
			this.pending.copy(grown, 0, 0, this.pendingBytes);
			this.pending = grown;
		}
		bytes.copy(this.pending, this.pendingBytes, start, end);
		this.pendingBytes = length;
	}

	private processPendingLine(out: SseEvent[]): void {
		const line = this.pending;
		const end = this.pendingBytes;
		this.pendingBytes = 0;
		this.processLine(line, this.lineStart(line, 0, end), end, out);
		// A rare huge line should not pin its buffer for the rest of the stream.
		if (line.length > MAX_KEPT_PENDING_BYTES) this.pending = Buffer.allocUnsafe(0);
	}

	private overflow(): never {
		throw new NebulaBlockError({
			kind: 'invalidResponse',
			message: `The stream sent an event larger than ${this.maxEventChars} characters`,
		});
	}
}

/**
 * The UTF-8 text of a byte range, through Buffer's public API (the internal slicer it calls
 * is a few per cent faster on a short event, but not a promise Node makes).
 */
function utf8(bytes: Buffer, start: number, end: number): string {
	return start >= end ? '' : bytes.toString('utf8', start, end);
}

/** Whether the line starts with `data:`. Reading past a short line is safe: its end is LF or CR. */
function isDataLine(bytes: Buffer, start: number): boolean {
	return (
		bytes[start] === 0x64 &&
		bytes[start + 1] === 0x61 &&
		bytes[start + 2] === 0x74 &&
		bytes[start + 3] === 0x61 &&
		bytes[start + 4] === COLON
	);
}
