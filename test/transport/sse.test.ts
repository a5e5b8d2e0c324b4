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
});
