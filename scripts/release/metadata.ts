/**
 * The release rules as pure functions: what metadata a release needs, which values are still
 * placeholders, what the versions and CHANGELOG must say, how a version is bumped. The scripts
 * beside this file (check.ts, version.ts) apply them to the files.
 *
 * package.json is the one place the release metadata is set (repository, bugs, homepage, author);
 * the cloud edition's package.json copies it (scripts/cloud-edition.ts).
 */

export interface Person {
	name?: string;
	email?: string;
	url?: string;
}

export interface PackageMetadata {
	name?: string;
	version?: string;
	homepage?: string;
	author?: Person | string;
	repository?: { type?: string; url?: string; directory?: string } | string;
	bugs?: { url?: string; email?: string } | string;
}

/** Where the maintainer sets the release metadata, as a release:check refusal names it. */
export const METADATA_SOURCE = 'package.json';

/**
 * A value is a placeholder when it names the reserved `.invalid` domain (RFC 2606: it can never be
 * anybody's address) or says "placeholder": that is how the placeholders are written, so that
 * nothing here pretends to know the real owner.
 */
export function isPlaceholder(value: string): boolean {
	return /\.invalid\b/i.test(value) || /placeholder/i.test(value);
}

/** The metadata the cloud edition copies from the main edition's package.json. */
export function releaseMetadata(pkg: PackageMetadata): Pick<PackageMetadata, 'homepage' | 'author' | 'repository' | 'bugs'> {
	return { homepage: pkg.homepage, author: pkg.author, repository: pkg.repository, bugs: pkg.bugs };
}

function urlOf(field: PackageMetadata['repository'] | PackageMetadata['bugs']): string | undefined {
	if (typeof field === 'string') return field;
	return field?.url;
}

function personOf(author: PackageMetadata['author']): Person {
	if (typeof author !== 'string') return author ?? {};
	const email = /<([^>]*)>/.exec(author)?.[1]?.trim();
	return { name: author.replace(/<[^>]*>|\([^)]*\)/g, '').trim() || undefined, email };
}

/** Each release-metadata field, by its package.json path, with its value ('' when missing). */
export function metadataFields(pkg: PackageMetadata): Array<{ field: string; value: string }> {
	const author = personOf(pkg.author);
	return [
		{ field: 'repository.url', value: urlOf(pkg.repository) ?? '' },
		{ field: 'bugs.url', value: urlOf(pkg.bugs) ?? '' },
		{ field: 'homepage', value: pkg.homepage ?? '' },
		{ field: 'author.name', value: author.name ?? '' },
		{ field: 'author.email', value: author.email ?? '' },
	];
}

/** `owner/name` of a GitHub repository URL (git+https, https, git@, with or without .git), or undefined. */
export function githubRepositoryOf(url: string): string | undefined {
	const match = /github\.com[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url.trim());
	return match ? `${match[1]}/${match[2]}` : undefined;
}

const PLACEHOLDER_REFUSAL = 'Release metadata still has placeholders';

/** Whether a line of metadataProblems is the placeholder refusal (the one a fresh clone must give). */
export function isPlaceholderRefusal(line: string): boolean {
	return line.startsWith(PLACEHOLDER_REFUSAL);
}

/**
 * What is wrong with the release metadata, one line each. Placeholders are one line naming the
 * fields and where to set them; the other rules (a public GitHub repository, as npm provenance and
 * n8n's verification compare it; bugs and homepage on that repository; an author email) are checked
 * once the placeholders are gone. `expectedRepository` is the `owner/name` the release runs from.
 */
export function metadataProblems(pkg: PackageMetadata, expectedRepository?: string): string[] {
	const fields = metadataFields(pkg);
	const placeholders = fields.filter(({ value }) => isPlaceholder(value)).map(({ field }) => field);
	const missing = fields.filter(({ value }) => value.trim() === '').map(({ field }) => field);
	const problems: string[] = [];
	if (placeholders.length > 0) {
		problems.push(
			`${PLACEHOLDER_REFUSAL}: ${placeholders.join(', ')} in ${METADATA_SOURCE}. Set the maintainer's real values there (both editions take them from it).`,
		);
	}
	if (missing.length > 0) problems.push(`Release metadata is missing: ${missing.join(', ')} in ${METADATA_SOURCE}.`);
	if (placeholders.length > 0 || missing.length > 0) return problems;

	const byField = new Map(fields.map(({ field, value }) => [field, value]));
	const repository = githubRepositoryOf(byField.get('repository.url') ?? '');
	if (!repository) {
		problems.push(`repository.url in ${METADATA_SOURCE} is not a GitHub repository URL (npm provenance and n8n's verification need the public GitHub repository the package is published from).`);
		return problems;
	}
	if (expectedRepository && repository.toLowerCase() !== expectedRepository.toLowerCase()) {
		problems.push(`repository.url in ${METADATA_SOURCE} names ${repository}, but the release runs from ${expectedRepository}: npm rejects a provenance statement whose repository differs.`);
	}
	for (const field of ['bugs.url', 'homepage']) {
		const value = byField.get(field) ?? '';
		if (!value.toLowerCase().includes(`github.com/${repository.toLowerCase()}`)) {
			problems.push(`${field} in ${METADATA_SOURCE} (${value}) is not on the package's repository github.com/${repository}.`);
		}
	}
	if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(byField.get('author.email') ?? '')) {
		problems.push(`author.email in ${METADATA_SOURCE} is not an email address.`);
	}
	return problems;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

export type BumpKind = 'patch' | 'minor' | 'major';

export function isReleaseVersion(version: string): boolean {
	return SEMVER.test(version);
}

export function bumpVersion(version: string, kind: BumpKind): string {
	const match = SEMVER.exec(version);
	if (!match) throw new Error(`"${version}" is not a release version (X.Y.Z)`);
	const [major, minor, patch] = match.slice(1).map(Number);
	if (kind === 'major') return `${major + 1}.0.0`;
	if (kind === 'minor') return `${major}.${minor + 1}.0`;
	return `${major}.${minor}.${patch + 1}`;
}

/** The versions a release must agree on, each with where it was read. */
export interface VersionSources {
	tag?: string;
	packageJson: string;
	packageLock?: string;
	packageLockRoot?: string;
	cloudPackageJson?: string;
}

/** What disagrees, one line each: the tag must be `v` + the version every file carries. */
export function versionProblems(sources: VersionSources): string[] {
	const version = sources.packageJson;
	const problems: string[] = [];
	if (!isReleaseVersion(version)) problems.push(`package.json version "${version}" is not a release version (X.Y.Z).`);
	const others: Array<[string, string | undefined]> = [
		['package-lock.json version', sources.packageLock],
		['package-lock.json packages[""].version', sources.packageLockRoot],
		["the cloud edition's package.json version", sources.cloudPackageJson],
	];
	for (const [where, value] of others) {
		if (value !== undefined && value !== version) problems.push(`${where} is ${value}, package.json says ${version}: run npm install, then build the cloud edition again.`);
	}
	if (sources.tag !== undefined && sources.tag !== `v${version}`) {
		problems.push(`The tag ${sources.tag} does not match the version of both editions (v${version}): bump with npm run release:version, or tag v${version}.`);
	}
	return problems;
}

/** The text of CHANGELOG's `## [version]` section (up to the next `## `), or undefined. */
export function changelogSection(changelog: string, version: string): string | undefined {
	const lines = changelog.split('\n');
	const heading = new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\](\\s|$)`);
	const start = lines.findIndex((line) => heading.test(line));
	if (start === -1) return undefined;
	const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
	return lines.slice(start + 1, end === -1 ? undefined : end).join('\n').trim();
}

/** The line release:version writes into an empty section; a release with it still there is refused. */
export const CHANGELOG_TODO = '- TODO: say what changed in this release.';

export function changelogProblems(changelog: string, version: string): string[] {
	const section = changelogSection(changelog, version);
	if (section === undefined) return [`CHANGELOG.md has no "## [${version}]" section: add one, or run npm run release:version.`];
	if (!/^\s*[-*]\s+\S/m.test(section)) return [`CHANGELOG.md's "## [${version}]" section lists no change.`];
	if (section.includes(CHANGELOG_TODO)) return [`CHANGELOG.md's "## [${version}]" section still says "${CHANGELOG_TODO}".`];
	return [];
}

/**
 * CHANGELOG with `## [Unreleased]`'s entries moved under a new `## [version] - date` section, and an
 * empty `## [Unreleased]` above it (Keep a Changelog). With no Unreleased entries the new section
 * holds CHANGELOG_TODO. Refuses when the version already has a section.
 */
export function openChangelogSection(changelog: string, version: string, date: string): string {
	if (changelogSection(changelog, version) !== undefined) throw new Error(`CHANGELOG.md already has a "## [${version}]" section`);
	const lines = changelog.split('\n');
	const unreleased = lines.findIndex((line) => /^## \[Unreleased\]/i.test(line));
	const heading = `## [${version}] - ${date}`;
	if (unreleased === -1) {
		const firstSection = lines.findIndex((line) => line.startsWith('## '));
		const at = firstSection === -1 ? lines.length : firstSection;
		return [...lines.slice(0, at), '## [Unreleased]', '', heading, '', CHANGELOG_TODO, '', ...lines.slice(at)].join('\n');
	}
	const next = lines.findIndex((line, index) => index > unreleased && line.startsWith('## '));
	const end = next === -1 ? lines.length : next;
	const entries = lines.slice(unreleased + 1, end);
	const hasEntries = entries.some((line) => line.trim() !== '');
	const body = hasEntries ? trimBlankEdges(entries) : [CHANGELOG_TODO];
	return [...lines.slice(0, unreleased), '## [Unreleased]', '', heading, '', ...body, '', ...lines.slice(end)].join('\n');
}

function trimBlankEdges(lines: string[]): string[] {
	let start = 0;
	let end = lines.length;
	while (start < end && lines[start].trim() === '') start++;
	while (end > start && lines[end - 1].trim() === '') end--;
	return lines.slice(start, end);
}

/**
 * What a published tarball may hold: dist (no source maps, no build cache, no tests), package.json,
 * README.md, LICENSE and CHANGELOG.md. Returns the files that break that, and the required files
 * that are missing (`required` are the node and credential files package.json's n8n section names).
 */
export function tarballProblems(label: string, files: string[], required: string[]): string[] {
	const allowedTopLevel = new Set(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']);
	const unexpected = files.filter(
		(file) =>
			!(allowedTopLevel.has(file) || (file.startsWith('dist/') && !/\.map$|\.tsbuildinfo$|(^|\/)(test|__tests__)\/|\.test\.js$/.test(file))),
	);
	const missing = [...allowedTopLevel, ...required].filter((file) => !files.includes(file));
	const problems: string[] = [];
	if (unexpected.length > 0) problems.push(`${label} tarball holds files it should not: ${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? ', ...' : ''}`);
	if (missing.length > 0) problems.push(`${label} tarball lacks: ${missing.join(', ')}`);
	return problems;
}
