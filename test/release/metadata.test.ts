import * as fs from 'node:fs';
import * as path from 'node:path';

import {
	bumpVersion,
	changelogProblems,
	changelogSection,
	CHANGELOG_TODO,
	githubRepositoryOf,
	metadataProblems,
	openChangelogSection,
	tarballProblems,
	versionProblems,
	type PackageMetadata,
} from '../../scripts/release/metadata';
import { cloudPackageJson } from '../../scripts/cloud-edition';

const mainPackage = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as PackageMetadata & { version: string };

const real: PackageMetadata = {
	homepage: 'https://github.com/acme/n8n-nodes-nebula-block#readme',
	bugs: { url: 'https://github.com/acme/n8n-nodes-nebula-block/issues' },
	repository: { type: 'git', url: 'git+https://github.com/acme/n8n-nodes-nebula-block.git' },
	author: { name: 'Acme', email: 'oss@acme.example.com' },
};

describe('release metadata', () => {
	const placeholders: PackageMetadata = {
		homepage: 'https://example.invalid/placeholder-owner/n8n-nodes-nebula-block#readme',
		bugs: { url: 'https://example.invalid/placeholder-owner/n8n-nodes-nebula-block/issues' },
		repository: { type: 'git', url: 'git+https://example.invalid/placeholder-owner/n8n-nodes-nebula-block.git' },
		author: { name: 'Placeholder maintainer name', email: 'maintainer@example.invalid' },
	};

	it('refuses the placeholders in one line naming each field and the place to set them', () => {
		expect(metadataProblems(placeholders)).toEqual([
			"Release metadata still has placeholders: repository.url, bugs.url, homepage, author.name, author.email in package.json. Set the maintainer's real values there (both editions take them from it).",
		]);
	});

	it("package.json's own metadata is either that one refusal or valid, never half set", () => {
		const problems = metadataProblems(mainPackage);
		expect(problems.length).toBeLessThanOrEqual(1);
		for (const line of problems) expect(line).toMatch(/^Release metadata still has placeholders: repository\.url, bugs\.url, homepage, author\.name, author\.email in package\.json/);
	});

	it('accepts real values, and names a single field left as a placeholder', () => {
		expect(metadataProblems(real)).toEqual([]);
		expect(metadataProblems(real, 'acme/n8n-nodes-nebula-block')).toEqual([]);
		const oneLeft = metadataProblems({ ...real, author: { name: 'Acme', email: 'maintainer@example.invalid' } });
		expect(oneLeft).toEqual([expect.stringContaining('placeholders: author.email in package.json')]);
	});

	it('names missing fields, a repository that is not GitHub, another repository than the release runs from, links off the repository', () => {
		expect(metadataProblems({ ...real, bugs: undefined })).toEqual([expect.stringContaining('missing: bugs.url')]);
		expect(metadataProblems({ ...real, repository: 'https://gitlab.com/acme/x' })).toEqual([expect.stringContaining('not a GitHub repository URL')]);
		expect(metadataProblems(real, 'someone/else')).toEqual([expect.stringContaining('names acme/n8n-nodes-nebula-block, but the release runs from someone/else')]);
		expect(metadataProblems({ ...real, homepage: 'https://docs.nebulablock.com' })).toEqual([expect.stringContaining('homepage in package.json')]);
		expect(metadataProblems({ ...real, author: 'Acme <not-an-email>' })).toEqual([expect.stringContaining('author.email')]);
	});

	it('reads owner/name from the URL forms npm accepts', () => {
		expect(githubRepositoryOf('git+https://github.com/acme/n8n-nodes-x.git')).toBe('acme/n8n-nodes-x');
		expect(githubRepositoryOf('https://github.com/acme/n8n-nodes-x')).toBe('acme/n8n-nodes-x');
		expect(githubRepositoryOf('git@github.com:acme/n8n-nodes-x.git')).toBe('acme/n8n-nodes-x');
		expect(githubRepositoryOf('https://example.invalid/acme/x.git')).toBeUndefined();
	});

	it('the cloud edition copies repository, bugs, homepage and author from the main package.json', () => {
		const cloud = cloudPackageJson({ ...(mainPackage as Parameters<typeof cloudPackageJson>[0]), ...real });
		expect(cloud).toMatchObject({ name: 'n8n-nodes-nebula-block-cloud', version: mainPackage.version, ...real });
	});
});

describe('versions', () => {
	it('agree, or each disagreement is named', () => {
		expect(versionProblems({ tag: 'v1.2.3', packageJson: '1.2.3', packageLock: '1.2.3', packageLockRoot: '1.2.3', cloudPackageJson: '1.2.3' })).toEqual([]);
		expect(versionProblems({ tag: 'v1.2.4', packageJson: '1.2.3' })).toEqual([expect.stringContaining('The tag v1.2.4 does not match the version of both editions (v1.2.3)')]);
		expect(versionProblems({ packageJson: '1.2.3', packageLockRoot: '1.2.2' })).toEqual([expect.stringContaining('package-lock.json packages[""].version is 1.2.2')]);
		expect(versionProblems({ packageJson: '1.2.3', cloudPackageJson: '1.2.2' })).toEqual([expect.stringContaining("the cloud edition's package.json version is 1.2.2")]);
		expect(versionProblems({ packageJson: '1.2.3-beta.1' })).toEqual([expect.stringContaining('not a release version')]);
	});

	it('bumps patch, minor and major', () => {
		expect(bumpVersion('0.1.9', 'patch')).toBe('0.1.10');
		expect(bumpVersion('0.1.9', 'minor')).toBe('0.2.0');
		expect(bumpVersion('0.1.9', 'major')).toBe('1.0.0');
		expect(() => bumpVersion('1.0', 'patch')).toThrow('not a release version');
	});
});

describe('CHANGELOG', () => {
	const changelog = ['# Changelog', '', '## [Unreleased]', '', '### Added', '- Embeddings.', '', '## [0.1.0]', '', 'First version.', '', '### Added', '- Chat.', ''].join('\n');

	it('finds a version section and refuses one that is missing, empty or still TODO', () => {
		expect(changelogSection(changelog, '0.1.0')).toBe('First version.\n\n### Added\n- Chat.');
		expect(changelogProblems(changelog, '0.1.0')).toEqual([]);
		expect(changelogProblems(changelog, '0.2.0')).toEqual([expect.stringContaining('no "## [0.2.0]" section')]);
		expect(changelogProblems('## [0.2.0]\n\nNothing.\n', '0.2.0')).toEqual([expect.stringContaining('lists no change')]);
		expect(changelogProblems(`## [0.2.0]\n\n${CHANGELOG_TODO}\n`, '0.2.0')).toEqual([expect.stringContaining('still says')]);
		expect(changelogSection('## [0.1.0]\n- a\n## [0.1.01]\n- b', '0.1.0')).toBe('- a');
	});

	it('opens a section holding the Unreleased entries, under an empty Unreleased', () => {
		const opened = openChangelogSection(changelog, '0.2.0', '2026-12-07');
		expect(opened).toBe(
			['# Changelog', '', '## [Unreleased]', '', '## [0.2.0] - 2026-12-07', '', '### Added', '- Embeddings.', '', '## [0.1.0]', '', 'First version.', '', '### Added', '- Chat.', ''].join('\n'),
		);
		expect(changelogSection(opened, 'Unreleased')).toBe('');
		expect(changelogProblems(opened, '0.2.0')).toEqual([]);
	});

	it('opens a TODO section when nothing is unreleased, and never a second section for one version', () => {
		const opened = openChangelogSection(openChangelogSection(changelog, '0.2.0', '2026-12-07'), '0.2.1', '2026-12-08');
		expect(changelogSection(opened, '0.2.1')).toBe(CHANGELOG_TODO);
		expect(changelogProblems(opened, '0.2.1')).toEqual([expect.stringContaining('still says')]);
		expect(() => openChangelogSection(opened, '0.2.0', '2026-12-09')).toThrow('already has a "## [0.2.0]" section');
	});
});

describe('tarball files', () => {
	const required = ['dist/nodes/A/A.node.js', 'dist/credentials/C.credentials.js'];
	const good = ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json', ...required, 'dist/nodes/A/a.svg'];

	it('accepts dist, package.json, README, LICENSE and CHANGELOG', () => {
		expect(tarballProblems('x', good, required)).toEqual([]);
	});

	it('names source maps, build caches, tests and other files, and what is missing', () => {
		const problems = tarballProblems('x', [...good, 'dist/nodes/A/A.node.js.map', 'dist/tsconfig.tsbuildinfo', 'dist/test/a.test.js', 'src/a.ts'], required);
		expect(problems).toEqual(['x tarball holds files it should not: dist/nodes/A/A.node.js.map, dist/tsconfig.tsbuildinfo, dist/test/a.test.js, src/a.ts']);
		expect(tarballProblems('x', good.filter((file) => file !== 'LICENSE' && file !== required[0]), required)).toEqual([`x tarball lacks: LICENSE, ${required[0]}`]);
	});
});
