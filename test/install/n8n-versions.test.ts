/**
 * Running an n8n with the Node.js its recipe names: the node comes first on PATH for npm and for
 * n8n's `#!/usr/bin/env node`, and the recipe's run-time settings reach n8n unless the caller
 * sets them. The download itself (`npm install node@<major>`) is covered by the e2e run on 2.41.1.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CURRENT_NODE, N8N_RECIPES, ensureNode, withNodeOnPath, type NodeBinary } from '../../scripts/n8n-install';
import { installEnv, type N8nInstall } from '../../scripts/n8n-runtime';
import { runCommand } from '../../scripts/processes';

/** A stand-in `node` that prints its own name, in a folder of its own. */
function fakeNode(): NodeBinary {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-node-'));
	const file = path.join(dir, 'node');
	fs.writeFileSync(file, '#!/bin/sh\necho fake-node "$@"\n', { mode: 0o755 });
	return { path: file, major: '99' };
}

describe('withNodeOnPath', () => {
	test("a script's `#!/usr/bin/env node` runs the recipe's node", async () => {
		const node = fakeNode();
		const script = path.join(path.dirname(node.path), 'cli');
		fs.writeFileSync(script, '#!/usr/bin/env node\n', { mode: 0o755 });
		const result = await runCommand(script, ['--version'], { env: withNodeOnPath(node) });
		expect(result.stdout.trim()).toBe(`fake-node ${script} --version`);
	});

	test('our own node leaves PATH alone', () => {
		expect(withNodeOnPath(CURRENT_NODE, { PATH: '/usr/bin' }).PATH).toBe('/usr/bin');
	});
});

describe('ensureNode', () => {
	test('the major we run on needs no install', async () => {
		const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'node-cache-'));
		await expect(ensureNode(cacheRoot, CURRENT_NODE.major)).resolves.toEqual(CURRENT_NODE);
		expect(fs.readdirSync(cacheRoot)).toEqual([]);
	});
});

describe('installEnv', () => {
	const install = (version: string): N8nInstall => ({ version, dir: '/nowhere', bin: '/nowhere/n8n', node: fakeNode() });

	test("n8n 1.x gets the legacy expression engine from its recipe; the caller's value wins", () => {
		expect(N8N_RECIPES['1.123.81'].runEnv).toEqual({ N8N_EXPRESSION_ENGINE: 'legacy' });
		expect(installEnv(install('1.123.81'), { PATH: '/usr/bin' }).N8N_EXPRESSION_ENGINE).toBe('legacy');
		expect(installEnv(install('1.123.81'), { N8N_EXPRESSION_ENGINE: 'other' }).N8N_EXPRESSION_ENGINE).toBe('other');
		expect(installEnv(install('2.8.4'), {}).N8N_EXPRESSION_ENGINE).toBeUndefined();
	});

	test("the install's node is first on PATH", () => {
		const target = install('2.41.1');
		expect(installEnv(target, { PATH: '/usr/bin' }).PATH).toBe(`${path.dirname(target.node.path)}${path.delimiter}/usr/bin`);
	});

	test("every recipe names a Node.js major; 2.41.1's is the recipe measured by hand", () => {
		for (const [version, recipe] of Object.entries(N8N_RECIPES)) {
			expect({ version, node: /^\d+$/.test(recipe.node) }).toEqual({ version, node: true });
		}
		expect(N8N_RECIPES['2.41.1']).toMatchObject({ node: '24', overrides: { linkedom: '0.18.14' }, installFlags: ['--ignore-scripts'], rebuild: ['sqlite3', 'isolated-vm'] });
	});
});
