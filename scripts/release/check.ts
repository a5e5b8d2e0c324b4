/**
 * `npm run release:check [-- --tag vX.Y.Z] [--repository owner/name]`: everything publishing does
 * but the upload, for both editions.
 *
 *   1. release metadata set (no placeholders), versions consistent (and equal to the tag), CHANGELOG
 *      section present;
 *   2. both editions built from clean, linted (n8n's rules, the workflow files), unit and node tests;
 *   3. both packed into build/release, their file lists checked, the cloud tarball scanned by n8n's
 *      scanner, `npm publish --dry-run` of both tarballs.
 *
 * Every step runs (a step whose build failed is skipped), then the list of what stands between this
 * commit and a release is printed. Exit 0: releasable. Exit 3: the only thing missing is the real
 * release metadata (placeholders); CI expects that until a maintainer sets it. Exit 1: anything else.
 * The tarballs it leaves in build/release are the ones publish.yml uploads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CLOUD_PACKAGE_NAME, packCloud, scanTarball } from '../cloud-edition';
import { changelogProblems, isPlaceholderRefusal, metadataProblems, tarballProblems, versionProblems, type PackageMetadata } from './metadata';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const RELEASE_DIR = path.join(REPO_ROOT, 'build', 'release');
export const EXIT_ONLY_PLACEHOLDERS = 3;

interface MainPackage extends PackageMetadata {
	name: string;
	version: string;
	n8n: { nodes: string[]; credentials: string[] };
}

function readJson<T>(file: string): T {
	return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function argument(name: string): string | undefined {
	const args = process.argv.slice(2);
	const at = args.indexOf(name);
	return at === -1 ? undefined : args[at + 1];
}

function banner(title: string): void {
	console.log(`\n== release:check: ${title}`);
}

/** Runs a command with its output shown; returns a problem line when it fails. */
function run(label: string, command: string, args: string[]): string[] {
	const result = spawnSync(command, args, { cwd: REPO_ROOT, stdio: 'inherit' });
	if (result.status === 0) return [];
	return [`${label} failed (${command} ${args.join(' ')}: exit ${result.status ?? result.signal}).`];
}

/** Runs an npm command whose --json answer is printed last, after any lifecycle output. */
function npmJson<T>(args: string[]): { value?: T; problem?: string } {
	const result = spawnSync('npm', [...args, '--json'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
	const output = result.stdout ?? '';
	const start = Math.max(output.lastIndexOf('\n[\n'), output.lastIndexOf('\n{\n'));
	const json = start === -1 ? output : output.slice(start + 1);
	if (result.status !== 0) return { problem: `npm ${args.join(' ')} failed (exit ${result.status ?? result.signal}): ${output.slice(-1500)}` };
	try {
		return { value: JSON.parse(json) as T };
	} catch {
		return { problem: `npm ${args.join(' ')} printed no JSON answer: ${output.slice(-500)}` };
	}
}

interface PackedFile {
	path: string;
}

/** `npm pack` / `npm publish --dry-run` answers: an array (pack) or an object keyed by name (publish, npm 11). */
function filesOf(answer: unknown): string[] {
	const entries = Array.isArray(answer) ? answer : Object.values(answer as Record<string, unknown>);
	const entry = entries[0] as { files?: PackedFile[] } | undefined;
	return (entry?.files ?? []).map((file) => file.path).sort();
}

async function main(): Promise<void> {
	const tag = argument('--tag');
	const repository = argument('--repository');
	const problems: string[] = [];
	const pkg = readJson<MainPackage>(path.join(REPO_ROOT, 'package.json'));
	const required = [...pkg.n8n.nodes, ...pkg.n8n.credentials];

	banner('release metadata, versions, CHANGELOG');
	const metadata = metadataProblems(pkg, repository);
	const lock = readJson<{ version?: string; packages?: Record<string, { version?: string }> }>(path.join(REPO_ROOT, 'package-lock.json'));
	const versions = versionProblems({ tag, packageJson: pkg.version, packageLock: lock.version, packageLockRoot: lock.packages?.['']?.version });
	const changelog = changelogProblems(fs.readFileSync(path.join(REPO_ROOT, 'CHANGELOG.md'), 'utf8'), pkg.version);
	for (const line of [...metadata, ...versions, ...changelog]) console.log(`  ${line}`);
	problems.push(...versions, ...changelog);
	// The placeholder refusal is kept apart: it alone gives exit 3, what CI expects until real values are set.
	const refusal = metadata.filter(isPlaceholderRefusal);
	problems.push(...metadata.filter((line) => !isPlaceholderRefusal(line)));

	banner('both editions built from clean');
	const built = [...run('The clean build', 'npm', ['run', 'clean']), ...run('The main edition build', 'npm', ['run', 'build']), ...run('The cloud edition build', 'npm', ['run', 'build:cloud'])];
	problems.push(...built);
	const cloudPackageJson = path.join(REPO_ROOT, 'build', 'cloud', 'package', 'package.json');
	if (fs.existsSync(cloudPackageJson)) {
		problems.push(...versionProblems({ packageJson: pkg.version, cloudPackageJson: readJson<{ version: string }>(cloudPackageJson).version }));
	}

	if (built.length === 0) {
		banner('lint: n8n community rules, the workflow files, the cloud edition with n8n Cloud rules');
		problems.push(...run('npm run lint', 'npm', ['run', 'lint']), ...run('npm run lint:cloud', 'npm', ['run', 'lint:cloud']));

		banner('unit and node tests, both editions');
		problems.push(...run('npm test', 'npm', ['test']), ...run('npm run test:cloud', 'npm', ['run', 'test:cloud']));

		banner('both editions packed, their files checked, the cloud tarball scanned, npm publish --dry-run');
		fs.rmSync(RELEASE_DIR, { recursive: true, force: true });
		fs.mkdirSync(RELEASE_DIR, { recursive: true });
		const mainPack = npmJson<unknown>(['pack', '--pack-destination', RELEASE_DIR]);
		const mainTarball = path.join(RELEASE_DIR, `${pkg.name}-${pkg.version}.tgz`);
		let cloudTarball: string | undefined;
		try {
			cloudTarball = packCloud(RELEASE_DIR);
		} catch (error) {
			problems.push(`Packing the cloud edition failed: ${(error as Error).message}`);
		}
		if (mainPack.problem) problems.push(mainPack.problem);
		else problems.push(...tarballProblems(pkg.name, filesOf(mainPack.value), required));

		if (cloudTarball) {
			const scan = await scanTarball(cloudTarball);
			console.log(scan.passed ? `  n8n's scanner: ${CLOUD_PACKAGE_NAME} passed` : `  n8n's scanner: ${scan.message ?? ''}\n${scan.details ?? ''}`);
			if (!scan.passed) problems.push(`n8n's scanner refused the cloud tarball: ${scan.message ?? ''}`);
		}

		for (const [label, tarball] of [[pkg.name, mainTarball], [CLOUD_PACKAGE_NAME, cloudTarball]] as const) {
			if (!tarball || !fs.existsSync(tarball)) continue;
			// A tarball is published as it is: npm runs no lifecycle script for it.
			const dryRun = npmJson<unknown>(['publish', tarball, '--dry-run', '--access', 'public', '--tag', 'latest']);
			if (dryRun.problem) {
				problems.push(dryRun.problem);
				continue;
			}
			const files = filesOf(dryRun.value);
			console.log(`  npm publish --dry-run ${path.basename(tarball)}: ${files.length} files\n${files.map((file) => `    ${file}`).join('\n')}`);
			problems.push(...tarballProblems(`${label} (npm publish --dry-run)`, files, required));
		}
	} else {
		problems.push('Lint, tests, packing and the dry-run publish were skipped: the build failed.');
	}

	const all = [...refusal, ...problems];
	console.log('');
	if (all.length === 0) {
		console.log(`release:check: ${pkg.name} and ${CLOUD_PACKAGE_NAME} ${pkg.version} are ready to publish (tarballs in build/release).`);
		return;
	}
	console.log(`release:check: ${all.length} thing(s) stand between this commit and a release:`);
	for (const line of all) console.log(`  - ${line}`);
	process.exitCode = problems.length === 0 ? EXIT_ONLY_PLACEHOLDERS : 1;
	if (problems.length === 0) console.log('release:check: everything else passed; only the placeholder metadata is missing.');
}

void main();
