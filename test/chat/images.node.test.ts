/**
 * Images in Chat Completion messages, through n8n-core's engine (the built package in dist/)
 * against the fake Nebula Block server: the exact content parts the server received, and every
 * bad input stopping only its own item. Run `npm run build` first.
 */
import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { useFakeNebula } from '../support/fake-for-node-tests';
import { BINARY_KEY, runNode } from '../support/n8n-harness';

const TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';

/** A real 1x1 PNG (67 bytes). */
const PNG_1X1 = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
	'base64',
);
const JPEG_BYTES = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const PNG_DATA_URL = `data:image/png;base64,${PNG_1X1.toString('base64')}`;

const fake = useFakeNebula();

function file(bytes: Buffer, mimeType: string, fileName = 'image') {
	return { base64: bytes.toString('base64'), mimeType, fileName };
}

interface Run {
	messages: IDataObject[];
	inputItems?: IDataObject[];
	parameters?: INodeParameters;
	continueOnFail?: boolean;
}

async function run(opts: Run) {
	const key = fake.newKey('vision');
	const outcome = await runNode({
		type: TYPE,
		parameters: {
			model: { __rl: true, mode: 'id', value: MODEL },
			messagesSource: 'define',
			messages: { values: opts.messages } as unknown as INodeParameters,
			options: { stream: false },
			...opts.parameters,
		},
		credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url } },
		inputItems: opts.inputItems ?? [{ question: 'What is in this picture?', [BINARY_KEY]: { data: file(PNG_1X1, 'image/png', 'dot.png') } }],
		continueOnFail: opts.continueOnFail,
	});
	return { ...outcome, requests: fake.requests(key).filter((request) => request.path.endsWith('/chat/completions')) };
}

const ask = (images: IDataObject, content = '={{ $json.question }}') => ({ role: 'user', content, images });

describe('images in a Define Below message reach the server as content parts', () => {
	it('a binary property becomes a data URL after the text', async () => {
		const { items, error, requests } = await run({ messages: [ask({ binaryProperties: 'data' })] });
		expect(error).toBeUndefined();
		expect(requests).toHaveLength(1);
		expect(requests[0].body.messages).toEqual([
			{
				role: 'user',
				content: [
					{ type: 'text', text: 'What is in this picture?' },
					{ type: 'image_url', image_url: { url: PNG_DATA_URL } },
				],
			},
		]);
		// The fake model says what it received: type and byte size of the decoded image.
		expect(items[0].json.content).toBe(`I received one image: an image/png image of ${PNG_1X1.length} bytes. You asked: What is in this picture?`);
	});

	it('several binary properties, URLs and a data URL, in order, with the detail; a system message stays text', async () => {
		const { error, requests } = await run({
			parameters: { systemMessage: 'Describe images briefly.' },
			inputItems: [
				{
					question: 'Compare them',
					[BINARY_KEY]: { data: file(PNG_1X1, 'image/png'), photo: file(JPEG_BYTES, 'image/jpg', 'photo.jpg') },
				},
			],
			messages: [
				ask({
					binaryProperties: ' data , photo',
					urls: `https://example.com/a.png, https://example.com/b.webp\n${PNG_DATA_URL}`,
					detail: 'low',
				}),
			],
		});
		expect(error).toBeUndefined();
		const low = { detail: 'low' };
		expect(requests[0].body.messages).toEqual([
			{ role: 'system', content: 'Describe images briefly.' },
			{
				role: 'user',
				content: [
					{ type: 'text', text: 'Compare them' },
					{ type: 'image_url', image_url: { url: PNG_DATA_URL, ...low } },
					{ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG_BYTES.toString('base64')}`, ...low } },
					{ type: 'image_url', image_url: { url: 'https://example.com/a.png', ...low } },
					{ type: 'image_url', image_url: { url: 'https://example.com/b.webp', ...low } },
					{ type: 'image_url', image_url: { url: PNG_DATA_URL, ...low } },
				],
			},
		]);
	});

	it('a message with only an image sends no text part; an octet-stream PNG is recognised by its bytes', async () => {
		const { error, requests } = await run({
			inputItems: [{ [BINARY_KEY]: { data: file(PNG_1X1, 'application/octet-stream') } }],
			messages: [ask({ binaryProperties: 'data' }, '')],
		});
		expect(error).toBeUndefined();
		expect(requests[0].body.messages[0].content).toEqual([{ type: 'image_url', image_url: { url: PNG_DATA_URL } }]);
	});

	it('JSON messages with content parts pass through unchanged', async () => {
		const parts = [
			{ type: 'text', text: 'And this one?' },
			{ type: 'image_url', image_url: { url: 'https://example.com/c.gif', detail: 'high' } },
		];
		const history = [{ role: 'user', content: parts }];
		const { error, requests, items } = await run({
			messages: [],
			parameters: { messagesSource: 'json', messagesJson: JSON.stringify(history) },
		});
		expect(error).toBeUndefined();
		expect(requests[0].body.messages).toEqual(history);
		expect(items[0].json.content).toBe('I received one image: an image at https://example.com/c.gif. You asked: And this one?');
	});

	it('usage and reasoning are reported as for text', async () => {
		const key = fake.newKey('vision-usage');
		fake.script(key, {
			kind: 'reply',
			content: 'A single pixel.',
			reasoningContent: 'a dot',
			usage: { prompt_tokens: 812, completion_tokens: 6, total_tokens: 818 },
		});
		const outcome = await runNode({
			type: TYPE,
			parameters: {
				model: { __rl: true, mode: 'id', value: MODEL },
				messagesSource: 'define',
				messages: { values: [ask({ binaryProperties: 'data' })] } as unknown as INodeParameters,
				options: { stream: true },
			},
			credentials: { nebulaBlockApi: { apiKey: key, baseUrl: fake.url } },
			inputItems: [{ question: 'What?', [BINARY_KEY]: { data: file(PNG_1X1, 'image/png') } }],
		});
		expect(outcome.error).toBeUndefined();
		expect(outcome.items[0].json).toMatchObject({
			content: 'A single pixel.',
			reasoning: 'a dot',
			usage: { promptTokens: 812, completionTokens: 6, totalTokens: 818 },
		});
	});
});

describe('bad image input stops the item with an error naming the item and field', () => {
	const cases: Array<[string, Run, RegExp, RegExp?]> = [
		[
			'a binary property the item lacks (listing those it has)',
			{ messages: [ask({ binaryProperties: 'attachment' })] },
			/Message 1: the item has no binary property "attachment"/,
			/binary properties "data"/,
		],
		[
			'an item without any binary data',
			{ inputItems: [{ question: 'x' }], messages: [ask({ binaryProperties: 'data' })] },
			/Message 1: the item has no binary property "data"/,
			/no binary data at all/,
		],
		[
			'a file that is not an image (naming its MIME type)',
			{ inputItems: [{ [BINARY_KEY]: { data: file(Buffer.from('%PDF-1.4'), 'application/pdf') } }], messages: [ask({ binaryProperties: 'data' })] },
			/Message 1, binary property "data" is of type application\/pdf, not an image/,
			/image\/png, image\/jpeg, image\/webp, image\/gif/,
		],
		[
			'an image over the size cap (saying cap and size)',
			{
				inputItems: [{ [BINARY_KEY]: { data: file(Buffer.concat([PNG_1X1, Buffer.alloc(21 * 1024 * 1024)]), 'image/png') } }],
				messages: [ask({ binaryProperties: 'data' })],
			},
			/Message 1, binary property "data" is 21\.0 MB \(22020166 bytes\), over the 20\.0 MB \(20971520 bytes\) limit for one image/,
		],
		['a malformed URL', { messages: [ask({ urls: 'not a url' })] }, /Message 1, Image URLs \(URL 1\) is not a valid URL/],
		['a URL with another protocol', { messages: [ask({ urls: 'ftp://example.com/a.png' })] }, /has the protocol ftp; only http, https and data URLs work/],
		['a data URL that is not an image', { messages: [ask({ urls: 'data:text/plain;base64,aGVsbG8=' })] }, /Image URLs is of type text\/plain, not an image/],
		['a data URL without base64', { messages: [ask({ urls: 'data:image/png,abc' })] }, /Image URLs is a data URL that is not base64 image data/],
		[
			'a JSON content part that is neither text nor image_url',
			{ messages: [], parameters: { messagesSource: 'json', messagesJson: '[{"role":"user","content":[{"type":"audio","data":"x"}]}]' } },
			/Message at index 0, content part 0 has type "audio": expected "text" or "image_url"/,
		],
		[
			'a JSON image part without a url string',
			{ messages: [], parameters: { messagesSource: 'json', messagesJson: '[{"role":"user","content":[{"type":"image_url","image_url":"https://x/a.png"}]}]' } },
			/content part 0 is an image_url part without image_url.url as a string/,
		],
		[
			'a JSON image part with an empty url',
			{ messages: [], parameters: { messagesSource: 'json', messagesJson: '[{"role":"user","content":[{"type":"image_url","image_url":{"url":" "}}]}]' } },
			/content part 0 \(image_url.url\) is empty/,
		],
	];

	// A rest parameter: jest takes a function with more parameters than the row has for one that wants done().
	it.each(cases)('%s', async (...[, opts, message, description]) => {
		const { error, requests } = await run(opts);
		expect(error).toBeInstanceOf(NodeOperationError);
		const nodeError = error as NodeOperationError;
		expect(nodeError.message).toMatch(message);
		if (description) expect(nodeError.description).toMatch(description);
		expect(nodeError.context.itemIndex).toBe(0);
		// Nothing was sent for a bad item.
		expect(requests).toHaveLength(0);
	});

	it('with Continue On Fail only the bad item fails, naming itself', async () => {
		const { error, items, requests } = await run({
			continueOnFail: true,
			inputItems: [
				{ question: 'first', [BINARY_KEY]: { data: file(PNG_1X1, 'image/png') } },
				{ question: 'second', [BINARY_KEY]: { scan: file(PNG_1X1, 'image/png') } },
				{ question: 'third', [BINARY_KEY]: { data: file(PNG_1X1, 'image/png') } },
			],
			messages: [ask({ binaryProperties: 'data' })],
		});
		expect(error).toBeUndefined();
		expect(items).toHaveLength(3);
		expect(items[0].json.content).toMatch(new RegExp(`^I received one image: an image/png image of ${PNG_1X1.length} bytes`));
		expect(items[1].json.error).toMatch(/Message 1: the item has no binary property "data"/);
		expect(items[1].pairedItem).toEqual({ item: 1 });
		expect(items[2].json.content).toMatch(/You asked: third$/);
		expect(requests).toHaveLength(2);
	});
});
