/**
 * What `npm pack` makes from a fresh clone: the repository's files without a build (no `dist/`),
 * packed the way npm does it, with its lifecycle scripts. A fresh clone once packed 2 files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';

interface PackedFile {
	path: string;
}

let clone: string;

beforeAll(async () => {
	clone = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-clone-'));
	// What a clone holds: the committed files and any new ones not ignored (so the test also
	// covers uncommitted work), but no dist/, .cache/ or node_modules/.
	const listed = await rt.runCommand('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: rt.REPO_ROOT });
	expect(listed.code).toBe(0);
	for (const file of listed.stdout.split('\0').filter(Boolean)) {
		const from = path.join(rt.REPO_ROOT, file);
		if (!fs.existsSync(from)) continue; // deleted in the work tree
		fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
		fs.copyFileSync(from, path.join(clone, file));
	}
	expect(fs.existsSync(path.join(clone, 'dist'))).toBe(false);
	// The build tools, as `npm install` would have put them there.
	fs.symlinkSync(path.join(rt.REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
	// A file left from an older build must not ship: prepack builds from an empty dist/.
	fs.mkdirSync(path.join(clone, 'dist', 'nodes', 'Removed'), { recursive: true });
	fs.writeFileSync(path.join(clone, 'dist', 'nodes', 'Removed', 'Removed.node.js'), '');
});

afterAll(() => {
	fs.rmSync(clone, { recursive: true, force: true });
});

describe('npm pack on a fresh clone', () => {
	it('builds first and ships every file the n8n field names, without build leftovers', async () => {
		const packed = await rt.runCommand(rt.npmCommand(), ['pack', '--dry-run', '--json'], { cwd: clone, timeoutMs: 10 * 60_000 });
		expect(packed.code).toBe(0);
		// The build's own output comes first (gulp's lines start with a [time]); the JSON is last.
		const json = packed.stdout.slice(packed.stdout.search(/^\[\s*\{/m));
		const [result] = JSON.parse(json) as Array<{ files: PackedFile[] }>;
		expect(packed.stdout).toContain("Starting 'build'");
		const files = result.files.map((file) => file.path);

		const manifest = JSON.parse(fs.readFileSync(path.join(clone, 'package.json'), 'utf8')) as {
			main?: string;
			n8n: { nodes: string[]; credentials: string[] };
		};
		const named = [...manifest.n8n.nodes, ...manifest.n8n.credentials];
		expect(named.length).toBeGreaterThan(0);
		for (const file of named) expect(files).toContain(file);
		// Every node's icon and codex next to it, as the build copies them.
		for (const node of manifest.n8n.nodes) {
			expect(files).toContain(node.replace(/\.node\.js$/, '.node.json'));
		}
		expect(files.filter((file) => file.endsWith('.svg')).length).toBeGreaterThan(0);
		expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']));
		expect(files.filter((file) => file.includes('tsbuildinfo'))).toEqual([]);
		expect(files).not.toContain('dist/nodes/Removed/Removed.node.js');
		expect(files.filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(file))).toEqual([]);
		// No `main` pointing at a file the package does not have.
		if (manifest.main !== undefined) expect(files).toContain(manifest.main);
	}, 10 * 60_000);
});
