/**
 * `npm run release:version -- <patch|minor|major>`: bumps both editions and the lockfile together and
 * opens the version's CHANGELOG section (the Unreleased entries move under it).
 *
 * The cloud edition has no version of its own to edit: its package.json is built from the main
 * edition's (scripts/cloud-edition.ts), so one bump moves both. Commits and tags nothing: review the
 * CHANGELOG, commit, then push the tag `vX.Y.Z` (README.md, "Releasing").
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { bumpVersion, changelogSection, openChangelogSection, type BumpKind } from './metadata';

const KINDS: BumpKind[] = ['patch', 'minor', 'major'];

/** Bumps the project in `root` (package.json, package-lock.json, CHANGELOG.md); returns the new version. */
export function releaseVersion(root: string, kind: BumpKind, date: string = new Date().toISOString().slice(0, 10)): string {
	const packageFile = path.join(root, 'package.json');
	const changelogFile = path.join(root, 'CHANGELOG.md');
	const current = (JSON.parse(fs.readFileSync(packageFile, 'utf8')) as { version: string }).version;
	const next = bumpVersion(current, kind);
	const changelog = fs.readFileSync(changelogFile, 'utf8');
	// Checked before anything is written, so a refusal leaves every file as it was.
	if (changelogSection(changelog, next) !== undefined) throw new Error(`CHANGELOG.md already has a "## [${next}]" section`);
	const opened = openChangelogSection(changelog, next, date);
	// npm writes package.json and package-lock.json together, keeping npm's own formatting of both.
	execFileSync('npm', ['version', next, '--no-git-tag-version', '--allow-same-version=false'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
	fs.writeFileSync(changelogFile, opened);
	return next;
}

function main(): void {
	const kind = process.argv[2] as BumpKind | undefined;
	if (!kind || !KINDS.includes(kind)) {
		console.error(`Usage: npm run release:version -- ${KINDS.join('|')}`);
		process.exitCode = 2;
		return;
	}
	const root = path.resolve(__dirname, '..', '..');
	try {
		const version = releaseVersion(root, kind);
		console.log(`Both editions are now ${version} (package.json, package-lock.json; the cloud edition's package.json is built from it).`);
		console.log(`CHANGELOG.md has a "## [${version}]" section: check it says what changed, commit, then tag v${version} and push the tag.`);
	} catch (error) {
		console.error(`release:version: ${(error as Error).message}`);
		process.exitCode = 1;
	}
}

if (require.main === module) main();
