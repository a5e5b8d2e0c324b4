import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AiSdkNotFoundError, aiSdkMissingHint, loadAiSdk, loadModelParts } from '../../nodes/shared/model/aiSdk';

/** A folder tree standing in for n8n's node_modules, with modules that say who they are. */
let root: string;

function fakeModule(dir: string, name: string, label: string, withSupplyModel = true): void {
	const moduleDir = path.join(dir, 'node_modules', name);
	fs.mkdirSync(moduleDir, { recursive: true });
	fs.writeFileSync(path.join(moduleDir, 'package.json'), JSON.stringify({ name, main: 'index.js' }));
	const body = withSupplyModel ? `exports.supplyModel = () => ({ response: ${JSON.stringify(label)} });` : 'exports.other = 1;';
	fs.writeFileSync(path.join(moduleDir, 'index.js'), body);
}

function folder(name: string): string {
	const dir = path.join(root, name);
	fs.mkdirSync(dir, { recursive: true });
	return dir;
}

function supplied(sdk: ReturnType<typeof loadAiSdk>): unknown {
	return sdk.supplyModel(undefined as never, undefined as never).response;
}

beforeEach(() => {
	root = fs.mkdtempSync(path.join(os.tmpdir(), 'ai-sdk-test-'));
});

afterEach(() => {
	fs.rmSync(root, { recursive: true, force: true });
});

describe('loadAiSdk', () => {
	test('n8n 2.8 to 2.15: supplyModel comes from @n8n/ai-utilities', () => {
		const n8n = folder('n8n-2.8');
		fakeModule(n8n, '@n8n/ai-utilities', 'utilities');
		const sdk = loadAiSdk([path.join(n8n, 'node_modules', 'n8n', 'bin')]);
		expect(sdk.moduleName).toBe('@n8n/ai-utilities');
		expect(sdk.file).toBe(path.join(n8n, 'node_modules', '@n8n', 'ai-utilities', 'index.js'));
		expect(supplied(sdk)).toBe('utilities');
	});

	test('n8n 2.16 and later: @n8n/ai-node-sdk wins over @n8n/ai-utilities, wherever each is found', () => {
		const early = folder('early');
		const late = folder('late');
		fakeModule(early, '@n8n/ai-utilities', 'utilities');
		fakeModule(late, '@n8n/ai-node-sdk', 'sdk');
		const sdk = loadAiSdk([early, late]);
		expect(sdk.moduleName).toBe('@n8n/ai-node-sdk');
		expect(supplied(sdk)).toBe('sdk');
	});

	test('not hoisted: found inside n8n\'s LangChain nodes package, which depends on it', () => {
		const n8n = folder('nested');
		const langChainNodes = path.join(n8n, 'node_modules', '@n8n', 'n8n-nodes-langchain');
		fs.mkdirSync(langChainNodes, { recursive: true });
		fs.writeFileSync(path.join(langChainNodes, 'package.json'), JSON.stringify({ name: '@n8n/n8n-nodes-langchain' }));
		fakeModule(langChainNodes, '@n8n/ai-utilities', 'nested utilities');
		const sdk = loadAiSdk([path.join(n8n, 'node_modules', 'n8n', 'dist')]);
		expect(sdk.file).toBe(path.join(langChainNodes, 'node_modules', '@n8n', 'ai-utilities', 'index.js'));
		expect(supplied(sdk)).toBe('nested utilities');
	});

	test('a module of that name without supplyModel is passed over', () => {
		const odd = folder('odd');
		const good = folder('good');
		fakeModule(odd, '@n8n/ai-node-sdk', 'odd', false);
		fakeModule(good, '@n8n/ai-utilities', 'utilities');
		expect(supplied(loadAiSdk([odd, good]))).toBe('utilities');
	});

	test('an n8n without either says so and where it looked', () => {
		const bare = folder('bare');
		let caught: unknown;
		try {
			loadAiSdk([bare]);
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(AiSdkNotFoundError);
		expect((caught as AiSdkNotFoundError).message).toContain('@n8n/ai-node-sdk nor @n8n/ai-utilities');
		expect((caught as AiSdkNotFoundError).searched).toEqual([bare]);
		// Not only "update n8n": on 2.8 or newer that would ask for what is already done.
		expect(aiSdkMissingHint((caught as AiSdkNotFoundError).searched)).toBe(
			"Update n8n to 2.8 or newer if it is older. If it already is, the package could not find n8n's own modules from where it is installed: " +
				`install it into n8n's nodes folder (~/.n8n/nodes), as the Community Nodes screen does. Looked in: ${bare}.`,
		);
	});
});

describe('loadModelParts', () => {
	function utilitiesWithOpenAi(dir: string, withTracing = true): string {
		const utilities = path.join(dir, 'node_modules', '@n8n', 'ai-utilities');
		fs.mkdirSync(utilities, { recursive: true });
		fs.writeFileSync(path.join(utilities, 'package.json'), JSON.stringify({ name: '@n8n/ai-utilities', main: 'index.js' }));
		fs.writeFileSync(
			path.join(utilities, 'index.js'),
			[
				'exports.supplyModel = () => ({});',
				withTracing ? 'exports.N8nLlmTracing = class N8nLlmTracing {};' : '',
				withTracing ? 'exports.makeN8nLlmFailedAttemptHandler = () => () => undefined;' : '',
			].join('\n'),
		);
		// Nested, as npm leaves it when n8n's own @langchain/openai differs.
		const openAi = path.join(utilities, 'node_modules', '@langchain', 'openai');
		fs.mkdirSync(openAi, { recursive: true });
		fs.writeFileSync(path.join(openAi, 'package.json'), JSON.stringify({ name: '@langchain/openai', main: 'index.js' }));
		fs.writeFileSync(path.join(openAi, 'index.js'), 'exports.ChatOpenAI = class ChatOpenAI {};');
		return utilities;
	}

	test('takes ChatOpenAI from the @langchain/openai that n8n\'s AI utilities use, and n8n\'s tracing', () => {
		const n8n = folder('n8n-parts');
		const utilities = utilitiesWithOpenAi(n8n);
		const parts = loadModelParts(loadAiSdk([n8n]));
		expect(parts.ChatOpenAI.name).toBe('ChatOpenAI');
		expect(parts.N8nLlmTracing.name).toBe('N8nLlmTracing');
		expect(parts.files).toEqual([
			path.join(utilities, 'index.js'),
			path.join(utilities, 'node_modules', '@langchain', 'openai', 'index.js'),
		]);
	});

	test('@n8n/ai-node-sdk: the parts come from the @n8n/ai-utilities it depends on', () => {
		const n8n = folder('n8n-sdk');
		fakeModule(n8n, '@n8n/ai-node-sdk', 'sdk');
		const sdkDir = path.join(n8n, 'node_modules', '@n8n', 'ai-node-sdk');
		utilitiesWithOpenAi(sdkDir);
		const sdk = loadAiSdk([n8n]);
		expect(sdk.moduleName).toBe('@n8n/ai-node-sdk');
		expect(loadModelParts(sdk).ChatOpenAI.name).toBe('ChatOpenAI');
	});

	test('an n8n whose AI utilities lack the tracing says what is missing', () => {
		const n8n = folder('n8n-old');
		utilitiesWithOpenAi(n8n, false);
		expect(() => loadModelParts(loadAiSdk([n8n]))).toThrow(AiSdkNotFoundError);
		expect(() => loadModelParts(loadAiSdk([n8n]))).toThrow(/N8nLlmTracing/);
	});
});
