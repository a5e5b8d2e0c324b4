import type { IExecuteFunctions, INode } from 'n8n-workflow';

import { openChatStream, runsAsAgentTool, streamsToChat } from '../../nodes/shared/chatStream';

interface Sent {
	type: string;
	itemIndex: number;
	content?: string;
}

/** The parts of n8n's execute context the chat stream reads, set per test. */
function contextWith(
	opts: {
		streaming?: boolean;
		toolExecution?: boolean;
		node?: Partial<INode>;
		metadata?: Record<string, unknown>;
		enableStreaming?: boolean;
		sent?: Sent[];
		sendChunk?: (chunk: Sent) => Promise<void>;
	} = {},
): IExecuteFunctions {
	const sent = opts.sent ?? [];
	return {
		isStreaming: () => opts.streaming ?? true,
		isToolExecution: () => opts.toolExecution ?? false,
		getNode: () => ({ name: 'Chat', type: 'n8n-nodes-nebula-block.nebulaBlockChat', ...opts.node }) as INode,
		getExecuteData: () => ({ node: {} as INode, data: {}, source: null, metadata: opts.metadata }),
		getNodeParameter: (name: string, _itemIndex: number, fallback: unknown) =>
			name === 'options.enableStreaming' && opts.enableStreaming !== undefined ? opts.enableStreaming : fallback,
		sendChunk: async (type: string, itemIndex: number, content?: string) => {
			const chunk = { type, itemIndex, ...(content === undefined ? {} : { content }) };
			if (opts.sendChunk) return await opts.sendChunk(chunk);
			sent.push(chunk);
		},
		logger: { debug: () => undefined },
	} as unknown as IExecuteFunctions;
}

function texts(sent: Sent[]): string[] {
	return sent.map((chunk) => `${chunk.itemIndex}:${chunk.type}${chunk.content === undefined ? '' : `:${chunk.content}`}`);
}

describe('which runs stream to the chat', () => {
	it('streams when n8n streams the execution and the node is not a tool', () => {
		expect(streamsToChat(contextWith())).toBe(true);
	});

	it('does not stream when n8n does not stream the execution', () => {
		expect(streamsToChat(contextWith({ streaming: false }))).toBe(false);
	});

	it('does not stream with Enable Streaming off', () => {
		expect(streamsToChat(contextWith({ enableStreaming: false }))).toBe(false);
		expect(streamsToChat(contextWith({ enableStreaming: true }))).toBe(true);
	});

	it.each([
		['an engine-request tool run (output logged on ai_tool)', { node: { rewireOutputLogTo: 'ai_tool' } }],
		['an engine-request tool run (source overwrite kept)', { metadata: { preserveSourceOverwrite: true } }],
		['an in-process tool call', { toolExecution: true }],
	] as const)('never streams %s', (_name, marks) => {
		const context = contextWith(marks as Parameters<typeof contextWith>[0]);
		expect(runsAsAgentTool(context)).toBe(true);
		expect(streamsToChat(context)).toBe(false);
		expect(openChatStream(context)).toBeUndefined();
	});
});

describe('the order the chat receives', () => {
	it('sends the item the chat shows live, holds later items whole and flushes them in input order', async () => {
		const sent: Sent[] = [];
		const chat = openChatStream(contextWith({ sent }));
		if (!chat) throw new Error('expected a chat stream');
		// Three items at once, their tokens arriving mixed (as measured: A1 B1 C1 B2 B3 C2 A2 C3 A3).
		chat.begin(0);
		chat.begin(1);
		chat.begin(2);
		chat.delta(0, 'A1');
		chat.delta(1, 'B1');
		chat.delta(2, 'C1');
		chat.delta(1, 'B2');
		chat.delta(1, 'B3');
		chat.end(1);
		chat.delta(2, 'C2');
		await chat.drain();
		// Only item 0 reached the chat so far: live, without waiting for its end.
		expect(texts(sent)).toEqual(['0:begin', '0:item:A1']);
		chat.delta(0, 'A2');
		chat.delta(2, 'C3');
		chat.delta(0, 'A3');
		chat.end(0);
		await chat.drain();
		// Item 0 ended: item 1 (already whole) follows, then what item 2 sent so far.
		expect(texts(sent)).toEqual([
			'0:begin', '0:item:A1', '0:item:A2', '0:item:A3', '0:end',
			'1:begin', '1:item:B1', '1:item:B2', '1:item:B3', '1:end',
			'2:begin', '2:item:C1', '2:item:C2', '2:item:C3',
		]);
		chat.end(2);
		await chat.drain();
		expect(texts(sent).at(-1)).toBe('2:end');
	});

	it('an item that begins after the earlier ones ended goes out live', async () => {
		const sent: Sent[] = [];
		const chat = openChatStream(contextWith({ sent }));
		if (!chat) throw new Error('expected a chat stream');
		chat.begin(0);
		chat.end(0);
		chat.begin(1);
		chat.delta(1, 'x');
		await chat.drain();
		expect(texts(sent)).toEqual(['0:begin', '0:end', '1:begin', '1:item:x']);
	});

	it('keeps begin, error, end of a failed item in its turn', async () => {
		const sent: Sent[] = [];
		const chat = openChatStream(contextWith({ sent }));
		if (!chat) throw new Error('expected a chat stream');
		chat.begin(0);
		chat.begin(1);
		chat.error(1, 'boom');
		chat.end(1);
		chat.delta(0, 'ok');
		chat.end(0);
		await chat.drain();
		expect(texts(sent)).toEqual(['0:begin', '0:item:ok', '0:end', '1:begin', '1:error:boom', '1:end']);
	});

	it('a chunk n8n fails to send does not stop the ones after it', async () => {
		const sent: Sent[] = [];
		const chat = openChatStream(
			contextWith({
				sendChunk: async (chunk) => {
					if (chunk.content === 'lost') throw new Error('client went away');
					sent.push(chunk);
				},
			}),
		);
		if (!chat) throw new Error('expected a chat stream');
		chat.begin(0);
		chat.delta(0, 'lost');
		chat.delta(0, 'kept');
		chat.end(0);
		await chat.drain();
		expect(texts(sent)).toEqual(['0:begin', '0:item:kept', '0:end']);
	});
});
