/**
 * Both nodes as a user meets them in the n8n 2.8.4 editor, in Debian's chromium, plus the two
 * REST calls behind the editor (credential test, model list). One n8n serves the whole file: the
 * packed package installed as a community package, talking HTTP to the fake Nebula Block server.
 * Run with `npm run test:ui`; screenshots land in .cache/ui-screenshots (UI_DOC_IMAGES=1 also
 * refreshes docs/images).
 */
import type { Locator, Page } from 'playwright-core';

import { StepTimer } from '../support/step-timer';
import { ensureChromium, launchBrowser, type Browser } from './support/browser';
import { openCredentialFromOverview, saveWithApiKey, showFailureReason, waitForTestFailure, waitForTestSuccess } from './support/credential-dialog';
import {
	addCollectionOption,
	addNodeFromPicker,
	fillParameter,
	modelListError,
	openNewWorkflow,
	pickModelFromList,
	runNodeAndWaitForOutput,
	searchNodePicker,
	selectCredential,
	showOutputAs,
	showTopOfForm,
	signInWithCookie,
} from './support/editor';
import { listModels, testCredential } from './support/rest';
import { screenshot } from './support/screenshots';
import { CHAT_TYPE, createCredential, EMBED_TYPE, EMBEDDINGS_TYPE, startUiSandbox, TEXT_MODEL_IDS, TEXT_TYPE, type UiSandbox } from './support/sandbox';

const UI_TIMEOUT_MS = 30_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

let sandbox: UiSandbox;
const timer = new StepTimer();

/** The JSON view's text with its indentation dots and line breaks folded to single spaces. */
async function jsonViewText(output: Locator): Promise<string> {
	return (await output.innerText()).replace(/[\s\u00b7]+/g, ' ');
}

beforeAll(async () => {
	// A fresh machine installs chromium (about a minute, with its recommended fonts) and n8n (about 5 minutes) here.
	await timer.time('chromium present or installed', async () => ensureChromium(log));
	sandbox = await startUiSandbox(timer, { log });
}, 20 * 60_000);

afterAll(async () => {
	await sandbox?.stop();
	log(`UI test timings:\n  ${timer.lines.join('\n  ')}`);
});

describe('REST API behind the editor (no browser)', () => {
	afterEach(() => sandbox.fake.setModelsMode('both'));

	test('credential test: the good key connects, a wrong key fails with a clear message that does not repeat the key', async () => {
		const good = await testCredential(sandbox.session, sandbox.good);
		expect(good).toEqual({ httpStatus: 200, status: 'OK', message: `Connection successful: ${TEXT_MODEL_IDS.length} text models available` });

		const wrong = await testCredential(sandbox.session, sandbox.wrong);
		expect(wrong.httpStatus).toBe(200);
		expect(wrong.status).toBe('Error');
		expect(wrong.message).toBe('Invalid API key provided. Check the API key in the Nebula Block API credential.');
		expect(wrong.message).not.toContain(sandbox.wrong.apiKey);

		// The key sent in the request wins over the stored one, as when a user types a new key before testing.
		const typedWrong = await testCredential(sandbox.session, sandbox.good, 'nb-typed-but-wrong');
		expect(typedWrong.status).toBe('Error');
		expect(sandbox.fake.requests('nb-typed-but-wrong').map((request) => request.path)).toContain('/v1/models');
	});

	test.each([
		['openai', 'the OpenAI-compatible /models list'],
		['serverless', 'the Nebula /serverless/models list'],
	] as const)('model list from %s (%s): every text model with its context length, nothing else', async (mode, _shape) => {
		sandbox.fake.setModelsMode(mode);
		for (const nodeType of [CHAT_TYPE, TEXT_TYPE]) {
			const list = await listModels(sandbox.session, nodeType, sandbox.good);
			expect(list.httpStatus).toBe(200);
			expect(list.results?.map((item) => item.value).sort()).toEqual([...TEXT_MODEL_IDS].sort());
			expect(list.results).toContainEqual({ name: 'meta-llama/Llama-3.3-70B-Instruct (128K context)', value: 'meta-llama/Llama-3.3-70B-Instruct' });
		}
		const filtered = await listModels(sandbox.session, CHAT_TYPE, sandbox.good, 'LLAMA');
		expect(filtered.results?.map((item) => item.value)).toEqual(['meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.3-70B-Instruct']);
	});

	test('model list of the embeddings nodes: only the embedding models, with their context', async () => {
		// Both embedding models of the sandbox's list, and neither its text nor its image models.
		for (const nodeType of [EMBEDDINGS_TYPE, EMBED_TYPE]) {
			const list = await listModels(sandbox.session, nodeType, sandbox.good, undefined, 'searchEmbeddingModels');
			expect(list.httpStatus).toBe(200);
			expect(list.results).toEqual([
				{ name: 'BAAI/bge-large-en-v1.5 (512-token context)', value: 'BAAI/bge-large-en-v1.5' },
				{ name: 'WhereIsAI/UAE-Large-V1 (512-token context)', value: 'WhereIsAI/UAE-Large-V1' },
			]);
		}
		const filtered = await listModels(sandbox.session, EMBEDDINGS_TYPE, sandbox.good, 'bge', 'searchEmbeddingModels');
		expect(filtered.results?.map((item) => item.value)).toEqual(['BAAI/bge-large-en-v1.5']);
	});

	test('model list while the list endpoints are down: a clear message, and n8n keeps serving', async () => {
		sandbox.fake.setModelsMode('down');
		const down = await listModels(sandbox.session, CHAT_TYPE, sandbox.good);
		// n8n turns any listSearch error into HTTP 500 with the node's message.
		expect(down.httpStatus).toBe(500);
		expect(down.message).toBe('Could not load the model list: Service Unavailable. Check the Base URL in the credential or try again later, or switch Model to "By ID" and type the model ID.');

		sandbox.fake.setModelsMode('both');
		const back = await listModels(sandbox.session, CHAT_TYPE, sandbox.good);
		expect(back.httpStatus).toBe(200);
		expect(back.results).toHaveLength(TEXT_MODEL_IDS.length);
	});

	test('model list with a wrong key says the key is invalid, without the key', async () => {
		const list = await listModels(sandbox.session, TEXT_TYPE, sandbox.wrong);
		expect(list.httpStatus).toBe(500);
		expect(list.message).toBe('Could not load the model list: Invalid API key provided. Check the API key in the Nebula Block API credential, or switch Model to "By ID" and type the model ID.');
		expect(JSON.stringify(list.raw)).not.toContain(sandbox.wrong.apiKey);
	});
});

describe('the editor in chromium', () => {
	let browser: Browser;
	let page: Page;

	beforeAll(async () => {
		browser = await timer.time('browser launch', () => launchBrowser(sandbox.n8n.url));
		await signInWithCookie(browser.context, sandbox.n8n.url, sandbox.session.cookie);
		page = await browser.context.newPage();
		page.setDefaultTimeout(UI_TIMEOUT_MS);
	}, 60_000);

	/** A browser test that leaves a screenshot of the page behind when it fails, and checks no key reached the page. */
	function uiTest(name: string, steps: () => Promise<void>): void {
		test(name, async () => {
			try {
				await steps();
			} catch (error) {
				const file = await screenshot(page, `failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => 'none');
				log(`Screenshot of the failed step: ${file}`);
				throw error;
			}
			const html = await page.content();
			expect(html).not.toContain(sandbox.good.apiKey);
			expect(html).not.toContain(sandbox.wrong.apiKey);
		}, 3 * UI_TIMEOUT_MS);
	}

	afterAll(async () => {
		if (browser) log(`Requests the browser tried to send elsewhere (aborted): ${[...new Set(browser.blocked)].join(', ') || 'none'}`);
		await browser?.close();
	});

	uiTest('Chat Completion: node picker, credential, model from the list, two messages, an image, run, answer in the output panel', async () => {
		await timer.time('chat: open a new workflow', () => openNewWorkflow(page, sandbox.n8n.url));
		const names = await searchNodePicker(page, 'Nebula Block');
		expect(names).toEqual(expect.arrayContaining(['Nebula Block Chat Completion', 'Nebula Block Text Generate']));

		const { detailsText, ndv } = await timer.time('chat: add the node', () => addNodeFromPicker(page, 'Nebula Block Chat Completion'));
		expect(detailsText).toContain('Chat with Nebula Block serverless models');

		await selectCredential(page, ndv, sandbox.good.id, sandbox.good.name);
		const pick = await timer.time('chat: model list, filter, pick', () =>
			pickModelFromList(page, ndv, 'llama', 'meta-llama/Llama-3.3-70B-Instruct', () => screenshot(page, 'model-list', { docImage: true })),
		);
		expect(pick.listed).toEqual([
			'deepseek-ai/DeepSeek-R1-0528 (160K context)',
			'deepseek-ai/DeepSeek-V3-0324 (128K context)',
			'meta-llama/Llama-3.1-8B-Instruct (128K context)',
			'meta-llama/Llama-3.3-70B-Instruct (128K context)',
			'Qwen/QwQ-32B (32K context)',
		]);
		expect(pick.filtered).toEqual(['meta-llama/Llama-3.1-8B-Instruct (128K context)', 'meta-llama/Llama-3.3-70B-Instruct (128K context)']);
		expect(pick.shown).toBe('meta-llama/Llama-3.3-70B-Instruct (128K context)');

		// The form starts with one user message; add a second one with the "Add Message" button.
		await fillParameter(ndv, 'content', 'Hi, I am testing the editor.');
		await ndv.getByTestId('fixed-collection-add').click();
		await ndv.getByTestId('parameter-input-content').nth(1).waitFor();
		await fillParameter(ndv, 'content', 'Say hello back', 1);
		await fillParameter(ndv, 'systemMessage', 'You are a helpful assistant.');
		await showTopOfForm(ndv);
		await screenshot(page, 'chat-completion-form', { docImage: true });

		// An image on the second message: each user message has its own "Add Image" (Images collection).
		const addSelects = ndv.getByTestId('collection-parameter-add').locator('input');
		const placeholders = await addSelects.evaluateAll((inputs) => inputs.map((input) => input.getAttribute('placeholder')));
		expect(placeholders.filter((text) => text === 'Add Image')).toHaveLength(2);
		const imageOptions = await addCollectionOption(page, ndv, 'Image URLs', placeholders.indexOf('Add Image') + 1);
		expect(imageOptions).toEqual(['Binary Properties', 'Image Detail', 'Image URLs']);
		const urlsField = ndv.getByTestId('parameter-input-urls');
		await urlsField.waitFor();
		// One "Images" heading per user message, and the new field with its label, placeholder and tooltip.
		expect(await ndv.getByText('Images', { exact: true }).count()).toBe(2);
		const urlsLabel = ndv.getByText('Image URLs', { exact: true });
		expect(await urlsLabel.isVisible()).toBe(true);
		expect(await urlsField.locator('input, textarea').first().getAttribute('placeholder')).toBe('e.g. https://example.com/photo.jpg');
		// The description is the tooltip of the "?" icon that shows beside the label on hover.
		await urlsLabel.hover();
		await urlsLabel.locator('xpath=ancestor::*[.//*[contains(@class, "infoIcon")]][1]').locator('[class*="infoIcon"]').hover();
		await page
			.getByText('Links the service downloads the images from, or data URLs (data:image/png;base64,...). Separate several with commas or new lines.', { exact: true })
			.waitFor();
		const imageUrl = `${sandbox.fake.url}/images/cat.png`;
		await fillParameter(ndv, 'urls', imageUrl);
		await page.evaluate(() => (globalThis as any).document.activeElement?.blur());
		await urlsField.scrollIntoViewIfNeeded();
		await screenshot(page, 'chat-completion-image', { docImage: true });

		const answer = `I received one image: an image at ${imageUrl}. You asked: Say hello back`;
		const output = await timer.time('chat: run the node until the answer shows', () => runNodeAndWaitForOutput(page, ndv, answer));
		await showOutputAs(output, 'json');
		await output.getByText('"finishReason"').first().waitFor();
		const outputText = await jsonViewText(output);
		expect(outputText).toContain(`"content": "${answer}"`);
		expect(outputText).toContain('"role": "assistant"');
		expect(outputText).toContain('"model": "meta-llama/Llama-3.3-70B-Instruct"');
		await showTopOfForm(ndv);
		await screenshot(page, 'chat-completion-output', { docImage: true });

		const chats = sandbox.fake.requests(sandbox.good.apiKey).filter((request) => request.path === '/v1/chat/completions');
		expect(chats).toHaveLength(1);
		expect(chats[0].body).toMatchObject({
			model: 'meta-llama/Llama-3.3-70B-Instruct',
			messages: [
				{ role: 'system', content: 'You are a helpful assistant.' },
				{ role: 'user', content: 'Hi, I am testing the editor.' },
				{
					role: 'user',
					content: [
						{ type: 'text', text: 'Say hello back' },
						{ type: 'image_url', image_url: { url: imageUrl } },
					],
				},
			],
		});
	});

	uiTest('Text Generate: node picker, credential, model list down then back, prompt, run, answer in the output panel', async () => {
		await timer.time('text: open a new workflow', () => openNewWorkflow(page, sandbox.n8n.url));
		await searchNodePicker(page, 'Nebula Block');
		const { detailsText, ndv } = await addNodeFromPicker(page, 'Nebula Block Text Generate');
		expect(detailsText).toContain('Generate text from a prompt');

		await selectCredential(page, ndv, sandbox.good.id, sandbox.good.name);
		// While the list endpoints are down the editor says why; once they are back, opening the list again loads it.
		sandbox.fake.setModelsMode('down');
		try {
			expect(await modelListError(page, ndv)).toBe('Could not load the model list: Service Unavailable. Check the Base URL in the credential or try again later, or switch Model to "By ID" and type the model ID.');
		} finally {
			sandbox.fake.setModelsMode('both');
		}
		const pick = await pickModelFromList(page, ndv, 'deepseek', 'deepseek-ai/DeepSeek-V3-0324');
		expect(pick.filtered).toEqual(['deepseek-ai/DeepSeek-R1-0528 (160K context)', 'deepseek-ai/DeepSeek-V3-0324 (128K context)']);
		expect(pick.shown).toBe('deepseek-ai/DeepSeek-V3-0324 (128K context)');

		await fillParameter(ndv, 'prompt', 'Write a haiku about tests');
		const output = await timer.time('text: run the node until the answer shows', () => runNodeAndWaitForOutput(page, ndv, 'Echo: Write a haiku about tests'));
		await showOutputAs(output, 'json');
		await output.getByText('"finishReason"').first().waitFor();
		expect(await jsonViewText(output)).toContain('"text": "Echo: Write a haiku about tests"');
		await screenshot(page, 'text-generate-output', { docImage: true });

		const generations = sandbox.fake.requests(sandbox.good.apiKey).filter((request) => request.path === '/v1/text/generate');
		expect(generations).toHaveLength(1);
		expect(generations[0].body).toMatchObject({ model: 'deepseek-ai/DeepSeek-V3-0324', prompt: 'Write a haiku about tests' });
	});

	uiTest('Chat Model: the "connect this model" notice shows on a lone model and hides once it feeds an AI Agent', async () => {
		const model = {
			id: 'ui-model-node',
			name: 'Nebula Block Chat Model',
			type: 'n8n-nodes-nebula-block.lmChatNebulaBlock',
			typeVersion: 1,
			position: [300, 240],
			parameters: { model: { __rl: true, mode: 'id', value: 'meta-llama/Llama-3.3-70B-Instruct' }, options: {} },
			credentials: { nebulaBlockApi: { id: sandbox.good.id, name: sandbox.good.name } },
		};
		const agent = {
			id: 'ui-agent-node',
			name: 'AI Agent',
			type: '@n8n/n8n-nodes-langchain.agent',
			typeVersion: 3.1,
			position: [300, 0],
			parameters: { promptType: 'define', text: 'Hello', options: {} },
		};
		const create = async (name: string, nodes: unknown[], connections: Record<string, unknown>) => {
			const response = await sandbox.session.post('/rest/workflows', { name, nodes, connections, settings: { executionOrder: 'v1' } });
			if (response.status !== 200) throw new Error(`Creating workflow "${name}" failed: HTTP ${response.status}`);
			return response.body.data.id as string;
		};
		const lone = await create('Chat Model alone', [model], {});
		const connected = await create('Chat Model under an agent', [agent, model], {
			[model.name]: { ai_languageModel: [[{ node: agent.name, type: 'ai_languageModel', index: 0 }]] },
		});
		const noticeIn = async (workflowId: string) => {
			await page.goto(`${sandbox.n8n.url}/workflow/${workflowId}`);
			await page.getByTestId('canvas-node').filter({ hasText: model.name }).first().dblclick();
			const ndv = page.getByTestId('ndv');
			await ndv.getByTestId('node-parameters').waitFor();
			// The notice is in the form either way; n8n hides it by its class while the node is connected.
			const notice = ndv.getByText('Connect this model to the Model input');
			await notice.waitFor({ state: 'attached' });
			return notice;
		};
		expect(await (await noticeIn(lone)).isVisible()).toBe(true);
		expect(await (await noticeIn(connected)).isVisible()).toBe(false);
	});

	uiTest('credential dialog: opening it tests the connection; a wrong key fails with a clear reason', async () => {
		// Its own credential: the test saves a wrong key into it.
		const credential = await createCredential(sandbox.session, 'Nebula Block (dialog test)', sandbox.fake.newKey('ui-dialog'), sandbox.fake.url);
		const dialog = await timer.time('credential: open from the overview', () => openCredentialFromOverview(page, sandbox.n8n.url, credential.name));
		await waitForTestSuccess(dialog);
		await screenshot(page, 'credential-dialog', { docImage: true });

		await saveWithApiKey(page, dialog, 'nb-typed-but-wrong');
		await waitForTestFailure(dialog);
		// Found on the page, not just in a response: the user reads why.
		await showFailureReason(dialog, 'Invalid API key provided. Check the API key in the Nebula Block API credential.');
		await screenshot(page, 'credential-test-failure');
	});
});
