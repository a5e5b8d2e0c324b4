import type { INodeExecutionData, StructuredChunk } from 'n8n-workflow';

/**
 * Each item's chunks as n8n received them: begin first, end last, and between them pieces that
 * add up to the item's `field`. The fake streams word by word, so more than one piece proves the
 * text was sent as it arrived, not at the end.
 */
export function expectEachItemStreamed(chunks: StructuredChunk[], items: INodeExecutionData[], field: string): void {
	expect(items.length).toBeGreaterThan(0);
	items.forEach((item, itemIndex) => {
		const own = chunks.filter((chunk) => chunk.metadata.itemIndex === itemIndex);
		expect(own[0]?.type).toBe('begin');
		expect(own.at(-1)?.type).toBe('end');
		const pieces = own.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content);
		expect(pieces.length).toBeGreaterThan(1);
		expect(pieces.join('')).toBe(item.json[field]);
	});
}
