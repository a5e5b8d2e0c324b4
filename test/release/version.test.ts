import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { changelogSection } from '../../scripts/release/metadata';
import { releaseVersion } from '../../scripts/release/version';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A copy of the files release:version edits, so the test never touches the repository's. */
function copyOfProject(): string {
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'release-version-'));
	for (const file of ['package.json', 'package-lock.json', 'CHANGELOG.md']) fs.copyFileSync(path.join(REPO_ROOT, file), path.join(root, file));
	return root;
}

function read(root: string, file: string): string {
	return fs.readFileSync(path.join(root, file), 'utf8');
}

describe('npm run release:version', () => {
	const roots: string[] = [];
	afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

	it('bumps package.json and both versions in the lockfile together, and opens the CHANGELOG section', () => {
		const root = copyOfProject();
		roots.push(root);
		const before = JSON.parse(read(root, 'package.json')) as { version: string; dependencies: unknown };
		const unreleased = changelogSection(read(root, 'CHANGELOG.md'), 'Unreleased');
		const [major, minor] = before.version.split('.').map(Number);

		const version = releaseVersion(root, 'minor', '2026-12-07');

		expect(version).toBe(`${major}.${minor + 1}.0`);
		const after = JSON.parse(read(root, 'package.json')) as { version: string; dependencies: unknown };
		expect(after).toEqual({ ...before, version });
		const lock = JSON.parse(read(root, 'package-lock.json')) as { version: string; packages: Record<string, { version: string }> };
		expect([lock.version, lock.packages[''].version]).toEqual([version, version]);
		const changelog = read(root, 'CHANGELOG.md');
		expect(changelog).toContain(`## [Unreleased]\n\n## [${version}] - 2026-12-07\n`);
		expect(changelogSection(changelog, version)).toBe(unreleased?.trim() || expect.any(String));
		expect(changelogSection(changelog, 'Unreleased')).toBe('');
	}, 60_000);

	it('refuses a version CHANGELOG already has, leaving every file as it was', () => {
		const root = copyOfProject();
		roots.push(root);
		const version = (JSON.parse(read(root, 'package.json')) as { version: string }).version;
		const [major, minor, patch] = version.split('.').map(Number);
		fs.appendFileSync(path.join(root, 'CHANGELOG.md'), `\n## [${major}.${minor}.${patch + 1}]\n\n- Already there.\n`);
		const files = ['package.json', 'package-lock.json', 'CHANGELOG.md'].map((file) => read(root, file));

		expect(() => releaseVersion(root, 'patch')).toThrow(`already has a "## [${major}.${minor}.${patch + 1}]" section`);
		expect(['package.json', 'package-lock.json', 'CHANGELOG.md'].map((file) => read(root, file))).toEqual(files);
	});
});
