/**
 * A throwaway n8n package with one node that does what n8n's built-in LLM nodes do: for each
 * item, in turn, one `this.helpers.httpRequest` call (n8n-core's axios helper) to the chat
 * endpoint. It is written to a temporary folder at run time and loaded with the harness's
 * `packageDir` option, so the repository's own package stays as it ships.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const HELPER_PACKAGE_NAME = 'n8n-nodes-bench-helper';
export const HELPER_NODE_TYPE = `${HELPER_PACKAGE_NAME}.benchHttpHelper`;

/** Plain CommonJS: the harness loads it like any installed community node. */
const NODE_SOURCE = `'use strict';
class BenchHttpHelper {
	constructor() {
		this.description = {
			displayName: 'Bench HTTP Helper',
			name: 'benchHttpHelper',
			group: ['transform'],
			version: 1,
			description: 'One helpers.httpRequest call per item, items one by one',
			defaults: { name: 'Bench HTTP Helper' },
			inputs: ['main'],
			outputs: ['main'],
			properties: [
				{ displayName: 'URL', name: 'url', type: 'string', default: '' },
				{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '' },
				{ displayName: 'Model', name: 'model', type: 'string', default: '' },
				{ displayName: 'Prompt', name: 'prompt', type: 'string', default: '' },
			],
		};
	}

	async execute() {
		const items = this.getInputData();
		const results = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const response = await this.helpers.httpRequest({
				method: 'POST',
				url: this.getNodeParameter('url', itemIndex),
				headers: { authorization: 'Bearer ' + this.getNodeParameter('apiKey', itemIndex) },
				body: {
					model: this.getNodeParameter('model', itemIndex),
					messages: [{ role: 'user', content: this.getNodeParameter('prompt', itemIndex) }],
				},
				json: true,
			});
			const message = response.choices[0].message;
			results.push({ json: { content: message.content }, pairedItem: { item: itemIndex } });
		}
		return [results];
	}
}
module.exports = { BenchHttpHelper };
`;

/** Writes the package and returns its folder; it is removed when the process exits. */
export function createHelperPackage(): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-bench-helper-'));
	fs.mkdirSync(path.join(dir, 'dist'));
	fs.writeFileSync(path.join(dir, 'dist', 'BenchHttpHelper.node.js'), NODE_SOURCE);
	const packageJson = {
		name: HELPER_PACKAGE_NAME,
		version: '0.0.0',
		private: true,
		n8n: { n8nNodesApiVersion: 1, nodes: ['dist/BenchHttpHelper.node.js'], credentials: [] },
	};
	fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(packageJson, null, '\t'));
	process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
}
