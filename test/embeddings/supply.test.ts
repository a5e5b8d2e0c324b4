/**
 * The main edition's LangChain path: LangChain's Embeddings class is resolved from n8n's
 * @n8n/ai-utilities folder (not from anywhere else), the sub-node's class extends it, and n8n's
 * logWrapper from the same module wraps it. Stand-in modules in a temporary folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { langChainEmbeddings } from '../../nodes/shared/embeddings/supply';
import { loadEmbeddingsParts, type AiSdk } from '../../nodes/shared/model/aiSdk';

let root: string;

function write(file: string, text: string): void {
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, text);
}

beforeEach(() => {
	root = fs.mkdtempSync(path.join(os.tmpdir(), 'embeddings-parts-'));
});

afterEach(() => {
	fs.rmSync(root, { recursive: true, force: true });
});

function utilities(withCore: boolean): AiSdk {
	const dir = path.join(root, 'node_modules', '@n8n', 'ai-utilities');
	write(path.join(dir, 'package.json'), JSON.stringify({ name: '@n8n/ai-utilities', main: 'index.js' }));
	write(
		path.join(dir, 'index.js'),
		'exports.supplyModel = () => ({});\n' +
			'exports.logWrapper = (instance) => ({ wrapped: instance, known: instance instanceof require("@langchain/core/embeddings").Embeddings });\n',
	);
	if (withCore) {
		const core = path.join(dir, 'node_modules', '@langchain', 'core');
		write(path.join(core, 'package.json'), JSON.stringify({ name: '@langchain/core' }));
		write(path.join(core, 'embeddings.js'), 'exports.Embeddings = class Embeddings { constructor(params) { this.params = params; } };\n');
	}
	return { moduleName: '@n8n/ai-utilities', file: path.join(dir, 'index.js'), supplyModel: (() => ({})) as never };
}

it("builds the sub-node's embeddings on the Embeddings class of n8n's AI utilities, LangChain's retries off, and wraps them with its logWrapper", async () => {
	const parts = loadEmbeddingsParts(utilities(true));
	const calls = { embedDocuments: async (texts: string[]) => texts.map(() => [1, 0]), embedQuery: async () => [0, 1] };
	const NebulaBlockEmbeddings = langChainEmbeddings(parts.Embeddings);
	const embeddings = new NebulaBlockEmbeddings(calls);
	expect(embeddings).toBeInstanceOf(parts.Embeddings as unknown as new () => object);
	expect((embeddings as unknown as { params: unknown }).params).toEqual({ maxRetries: 0, maxConcurrency: 1 });
	expect(await embeddings.embedDocuments(['a', 'b'])).toEqual([[1, 0], [1, 0]]);
	expect(await embeddings.embedQuery('q')).toEqual([0, 1]);
	expect(parts.logWrapper(embeddings, {} as never)).toEqual({ wrapped: embeddings, known: true });
});

it('says what is missing when LangChain cannot be found next to the utilities (the sub-node then logs its own calls)', () => {
	expect(() => loadEmbeddingsParts(utilities(false))).toThrow(/lacks @langchain\/core\/embeddings/);
});
