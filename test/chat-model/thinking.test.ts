import { withoutThinking, type ChatModelClass } from '../../nodes/shared/model/thinking';

/** Stand-ins for LangChain's chunk and message classes: the filter builds its last chunk from them. */
class FakeMessage {
	content: unknown;
	constructor(fields: { content: unknown }) {
		this.content = fields.content;
	}
}

class FakeChunk {
	text: string;
	message: FakeMessage;
	constructor(fields: { text: string; message: FakeMessage }) {
		this.text = fields.text;
		this.message = fields.message;
	}
}

const chunk = (text: string) => new FakeChunk({ text, message: new FakeMessage({ content: text }) });

/** A parent model that answers with fixed pieces and reports its own tokens, as ChatOpenAI does. */
function parentWith(pieces: string[]): ChatModelClass {
	class Parent {
		constructor(readonly fields: Record<string, unknown>) {}

		async _generate() {
			const text = pieces.join('');
			return { generations: [{ text, message: new FakeMessage({ content: text }) }] };
		}

		async *_streamResponseChunks(_messages: unknown, _options: unknown, runManager?: { handleLLMNewToken(token: string): Promise<void> }) {
			for (const piece of pieces) {
				const next = chunk(piece);
				yield next;
				await runManager?.handleLLMNewToken(`parent:${piece}`);
			}
		}
	}
	return Parent as unknown as ChatModelClass;
}

async function streamed(pieces: string[]) {
	const Model = withoutThinking(parentWith(pieces));
	const model = new Model({}) as unknown as InstanceType<ChatModelClass> & ChatModelClass['prototype'];
	const tokens: string[] = [];
	const runManager = { handleLLMNewToken: async (token: string) => void tokens.push(token) };
	const yielded: string[] = [];
	for await (const piece of model._streamResponseChunks([], {}, runManager)) yielded.push(piece.text);
	return { yielded, tokens };
}

describe('withoutThinking', () => {
	test('a whole answer loses its <think> block, in the text and in the message', async () => {
		const Model = withoutThinking(parentWith(['<think>I should greet.</think>\n\nHello there.']));
		const model = new Model({}) as unknown as ChatModelClass['prototype'];
		const { generations } = await model._generate([], {});
		expect(generations[0].text).toBe('Hello there.');
		expect(generations[0].message.content).toBe('Hello there.');
	});

	test('a streamed answer loses its <think> block, even with tags split across pieces', async () => {
		const { yielded, tokens } = await streamed(['<thi', 'nk>secret ', 'plan</th', 'ink>\n\nThe ', 'answer <', 'th']);
		expect(yielded.join('')).toBe('The answer <th');
		// The tokens LangChain (and so the agent's stream to the chat) sees are the filtered ones, not the parent's.
		expect(tokens.join('')).toBe('The answer <th');
		expect(tokens.some((token) => token.startsWith('parent:'))).toBe(false);
	});

	test('text without thinking passes through piece by piece', async () => {
		const { yielded } = await streamed(['Hello ', 'world']);
		expect(yielded).toEqual(['Hello ', 'world']);
	});

	test('is a subclass: the model is still an instance of the class n8n checks', () => {
		const Parent = parentWith([]);
		const Model = withoutThinking(Parent);
		expect(new Model({})).toBeInstanceOf(Parent);
	});
});

describe('withoutThinking and bound copies', () => {
	test('a copy the parent makes of itself with its own class (as ChatOpenAI.withConfig does) still filters', async () => {
		const Parent = parentWith(['<think>x</think>Hi']) as unknown as ChatModelClass & { prototype: { withConfig(config: unknown): object } };
		// ChatOpenAI's withConfig: `new ChatOpenAI(this.fields)`, never `new this.constructor(...)`.
		Parent.prototype.withConfig = function (this: { fields: Record<string, unknown> }) {
			return new Parent(this.fields);
		};
		const Model = withoutThinking(Parent);
		const model = new Model({}) as unknown as ChatModelClass['prototype'];
		const bound = model.withConfig({ tools: [] }) as ChatModelClass['prototype'];
		expect(bound).toBeInstanceOf(Model);
		const { generations } = await bound._generate([], {});
		expect(generations[0].text).toBe('Hi');
	});
});
