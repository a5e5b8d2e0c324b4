import { SseDecoder, type SseEvent } from '../../nodes/shared/transport/sse';
import { NebulaBlockError } from '../../nodes/shared/transport/errors';

const encoder = new TextEncoder();

/** Feeds the text to a fresh decoder in pieces of `size` bytes, as a network would. */
function decodeInPieces(text: string | Uint8Array, size: number): SseEvent[] {
	const bytes = typeof text === 'string' ? encoder.encode(text) : text;
	const decoder = new SseDecoder();
	const events: SseEvent[] = [];
	for (let start = 0; start < bytes.length; start += size) decoder.push(bytes.subarray(start, start + size), events);
	decoder.end(events);
	return events;
}

function dataOf(events: SseEvent[]): string[] {
	return events.map((event) => event.data);
}

describe('SseDecoder', () => {
	const stream = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';

	it.each([
		['LF', stream],
		['CRLF', stream.replace(/\n/g, '\r\n')],
		['CR', stream.replace(/\n/g, '\r')],
	])('splits events on %s line ends, whatever the chunk size', (_name, text) => {
		for (const size of [1, 2, 3, 5, 7, 1000]) {
			expect(dataOf(decodeInPieces(text, size))).toEqual(['{"a":1}', '{"b":2}', '[DONE]']);
		}
	});

	it('treats a CRLF split across two chunks as one line end, not two', () => {
		const decoder = new SseDecoder();
		const events: SseEvent[] = [];
		decoder.push(encoder.encode('data: one\r'), events);
		decoder.push(encoder.encode('\ndata: two\r'), events);
		decoder.push(encoder.encode('\n\r\n'), events);
		decoder.end(events);
		expect(events).toEqual([{ event: undefined, data: 'one\ntwo', id: undefined }]);
	});

	it('reassembles UTF-8 characters split across chunks', () => {
		const text = 'data: {"text":"héllo wörld ✓ 🚀"}\n\n';
		for (const size of [1, 2, 3]) {
			expect(dataOf(decodeInPieces(text, size))).toEqual(['{"text":"héllo wörld ✓ 🚀"}']);
		}
	});

	it('drops a leading byte order mark, also when it is split', () => {
		const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('data: x\n\n')]);
		expect(dataOf(decodeInPieces(bytes, 1))).toEqual(['x']);
		expect(dataOf(decodeInPieces(bytes, 100))).toEqual(['x']);
	});

	it('ignores comments and keep-alive lines, and events without data', () => {
		const text = ': ping\n\n: keep-alive\ndata: a\n\nevent: noop\n\nid: 7\n\ndata: b\n\n';
		expect(dataOf(decodeInPieces(text, 4))).toEqual(['a', 'b']);
	});

	it('joins multi-line data with newlines and keeps the event name and id', () => {
		const events = decodeInPieces('event: message\nid: 42\ndata: first\ndata:second\ndata\n\n', 3);
		expect(events).toEqual([{ event: 'message', data: 'first\nsecond\n', id: '42' }]);
	});

	it('dispatches an error event even when it has no data', () => {
		expect(decodeInPieces('event: error\n\n', 5)).toEqual([{ event: 'error', data: '', id: undefined }]);
	});

	it('delivers a last event that has no closing blank line', () => {
		expect(dataOf(decodeInPieces('data: a\n\ndata: tail', 4))).toEqual(['a', 'tail']);
	});

	it('refuses an event larger than its bound instead of growing without limit', () => {
		const decoder = new SseDecoder(64);
		const events: SseEvent[] = [];
		expect(() => decoder.push(encoder.encode(`data: ${'x'.repeat(100)}`), events)).toThrow(NebulaBlockError);
		const other = new SseDecoder(64);
		expect(() => {
			for (let i = 0; i < 10; i++) other.push(encoder.encode(`data: ${'y'.repeat(20)}\n`), events);
		}).toThrow(/larger than 64 characters/);
	});

	describe('byte-level scanning', () => {
		// Every feature at once: BOM, comments, event/id/retry fields, multi-line data, multi-byte
		// characters, an error event, [DONE]; each event must survive any split of the bytes.
		const mixed =
			'\ufeff: hello\n' +
			'retry: 3000\n' +
			'id: 1\n' +
			'data: {"text":"héllo 東京 🚀"}\n\n' +
			'event: progress\n' +
			'data: line one\n' +
			'data:line two\n' +
			'data\n\n' +
			': keep-alive\n\n' +
			'unknown: field\n' +
			'dat\n' +
			'data: after short line\n\n' +
			'event: error\n' +
			'data: {"error":{"message":"boom"}}\n\n' +
			'data: [DONE]\n\n';
		const expected: SseEvent[] = [
			{ event: undefined, data: '{"text":"héllo 東京 🚀"}', id: '1' },
			{ event: 'progress', data: 'line one\nline two\n', id: '1' },
			{ event: undefined, data: 'after short line', id: '1' },
			{ event: 'error', data: '{"error":{"message":"boom"}}', id: '1' },
			{ event: undefined, data: '[DONE]', id: '1' },
		];

		it.each([
			['LF', mixed],
			['CRLF', mixed.replace(/\n/g, '\r\n')],
			['CR', mixed.replace(/\n/g, '\r')],
		])('decodes the same events from %s line ends split in two at every byte', (_name, text) => {
			const bytes = encoder.encode(text);
			for (let split = 0; split <= bytes.length; split++) {
				const decoder = new SseDecoder();
				const events: SseEvent[] = [];
				decoder.push(bytes.subarray(0, split), events);
				decoder.push(bytes.subarray(split), events);
				decoder.end(events);
				expect({ split, events }).toEqual({ split, events: expected });
			}
		});

		it.each([1, 2, 3, 4, 5, 6, 7, 13, 64])('decodes the same events in %s-byte pieces', (size) => {
			expect(decodeInPieces(mixed, size)).toEqual(expected);
			expect(decodeInPieces(mixed.replace(/\n/g, '\r\n'), size)).toEqual(expected);
		});

		it('takes Buffers as undici gives them, and plain Uint8Arrays alike', () => {
			const text = 'data: {"a":"ü"}\n\n';
			for (const bytes of [Buffer.from(text), encoder.encode(text)]) {
				expect(dataOf(decodeInPieces(bytes, 1000))).toEqual(['{"a":"ü"}']);
			}
		});

		it('keeps its own copy of an unfinished line, so the caller may reuse its buffer', () => {
			const decoder = new SseDecoder();
			const events: SseEvent[] = [];
			const buffer = Buffer.from('data: first half');
			decoder.push(buffer, events);
			buffer.fill(0x78);
			decoder.push(Buffer.from(' and the rest\n\n'), events);
			expect(dataOf(events)).toEqual(['first half and the rest']);
		});

		it('does not read a short line as data from the bytes a longer earlier line left behind', () => {
			const decoder = new SseDecoder();
			const events: SseEvent[] = [];
			for (const piece of ['data: a long value', '\n\n', 'dat', '\n', 'data: x', '\n\n', '\xef\xbb', '\n']) {
				decoder.push(Buffer.from(piece, 'latin1'), events);
			}
			decoder.end(events);
			expect(dataOf(events)).toEqual(['a long value', 'x']);
		});

		it('keeps a byte order mark that is not at the start of the stream', () => {
			const bytes = encoder.encode('data: a\n\n\ufeffdata: b\n\ndata: \ufeffc\n\n');
			expect(dataOf(decodeInPieces(bytes, 1))).toEqual(['a', '\ufeffc']);
			expect(dataOf(decodeInPieces(bytes, 1000))).toEqual(['a', '\ufeffc']);
		});

		it('turns invalid UTF-8 into replacement characters, as a TextDecoder does', () => {
			const bytes = new Uint8Array([...encoder.encode('data: a'), 0xe6, 0x9d, ...encoder.encode('b\n\n')]);
			expect(dataOf(decodeInPieces(bytes, 1))).toEqual([new TextDecoder().decode(bytes.subarray(6, 10))]);
		});

		it('keeps the last event id for later events and ignores an id with a NUL', () => {
			const events = decodeInPieces('id: 5\ndata: a\n\ndata: b\n\nid: x\u0000y\ndata: c\n\nid\ndata: d\n\n', 3);
			expect(events.map((event) => event.id)).toEqual(['5', '5', '5', '']);
		});

		it('refuses a line that never ends once it passes the bound, across many chunks', () => {
			const decoder = new SseDecoder(1000);
			const events: SseEvent[] = [];
			expect(() => {
				for (let i = 0; i < 100; i++) decoder.push(encoder.encode('data: ' + 'z'.repeat(50)), events);
			}).toThrow(/larger than 1000 characters/);
		});
	});
});

describe('the package source', () => {
	it("calls none of Buffer's internal slice or write methods, which Node does not document", () => {
		const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
		const path = jest.requireActual<typeof import('node:path')>('node:path');
		const root = path.join(__dirname, '../../nodes');
		const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts'));
		expect(files.length).toBeGreaterThan(10);
		const internal = /\b(?:utf8|latin1|ascii|ucs2|hex|base64|base64url)(?:Slice|Write)\b/;
		const offenders = files.filter((file) => internal.test(fs.readFileSync(path.join(root, file), 'utf8')));
		expect(offenders).toEqual([]);
	});
});
