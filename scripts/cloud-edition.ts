/**
 * The cloud edition: the same nodes and credential built from the same source, with each file named
 * `X.cloud.ts` in place of its `X.ts` (the clock, the transport's adapter, the Chat Model's supply
 * path), and compiled from the node and credential files only, so the modules only the main edition
 * uses (undici's pool, the model's fetch) are not shipped. n8n's scanner reads every shipped file:
 * the edition is chosen at build time, never by a switch at run time.
 *
 *   node --import tsx scripts/cloud-edition.ts build     -> build/cloud/package
 *   node --import tsx scripts/cloud-edition.ts pack --pack-destination <dir>
 *   node --import tsx scripts/cloud-edition.ts scan      (packs, then runs n8n's scanner on the tarball)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { releaseMetadata, type PackageMetadata } from './release/metadata';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const CLOUD_DIR = path.join(REPO_ROOT, 'build', 'cloud');
const SOURCE_DIR = path.join(CLOUD_DIR, 'src');
export const PACKAGE_DIR = path.join(CLOUD_DIR, 'package');
export const CLOUD_PACKAGE_NAME = 'n8n-nodes-nebula-block-cloud';
const EDITION_SUFFIX = '.cloud.ts';

interface MainPackage extends PackageMetadata {
	name: string;
	version: string;
	description: string;
	keywords: string[];
	license: string;
	engines: Record<string, string>;
	n8n: { n8nNodesApiVersion: number; aiNodeSdkVersion?: number; credentials: string[]; nodes: string[] };
}

function readMainPackage(): MainPackage {
	return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as MainPackage;
}

/** Copies `from` to `to`, a `X.cloud.ts` landing as `X.ts` in place of the main edition's file. */
function stage(from: string, to: string): void {
	fs.mkdirSync(to, { recursive: true });
	const entries = fs.readdirSync(from, { withFileTypes: true });
	const replaced = new Set(entries.filter((entry) => entry.name.endsWith(EDITION_SUFFIX)).map((entry) => entry.name.replace(EDITION_SUFFIX, '.ts')));
	for (const entry of entries) {
		const source = path.join(from, entry.name);
		if (entry.isDirectory()) stage(source, path.join(to, entry.name));
		else if (entry.name.endsWith(EDITION_SUFFIX)) fs.copyFileSync(source, path.join(to, entry.name.replace(EDITION_SUFFIX, '.ts')));
		else if (!replaced.has(entry.name)) fs.copyFileSync(source, path.join(to, entry.name));
	}
}

/**
 * Removes the staged source files the edition does not compile (nothing it ships imports them, e.g.
 * the main edition's undici pool), so the staged source is exactly the edition's, as its lint sees it.
 */
function dropUncompiled(sourceDir: string, distDir: string): void {
	for (const entry of fs.readdirSync(sourceDir, { withFileTypes: true })) {
		const source = path.join(sourceDir, entry.name);
		if (entry.isDirectory()) dropUncompiled(source, path.join(distDir, entry.name));
		else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !fs.existsSync(path.join(distDir, entry.name.replace(/\.ts$/, '.js')))) fs.rmSync(source);
	}
}

/** `dist/nodes/X/X.node.js` -> `nodes/X/X.node.ts`. */
function sourceOf(distFile: string): string {
	return distFile.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

/** The cloud edition's package.json: its own name and files, the main edition's version and release metadata. */
export function cloudPackageJson(main: MainPackage): Record<string, unknown> {
	return {
		name: CLOUD_PACKAGE_NAME,
		version: main.version,
		description: `${main.description} The edition n8n can verify: no runtime dependencies, n8n's own HTTP helpers.`,
		keywords: main.keywords,
		license: main.license,
		...releaseMetadata(main),
		engines: main.engines,
		files: ['dist', 'CHANGELOG.md'],
		n8n: main.n8n,
		peerDependencies: { 'n8n-workflow': '*', '@n8n/ai-node-sdk': '*' },
		peerDependenciesMeta: { '@n8n/ai-node-sdk': { optional: true } },
	};
}

export function buildCloud(log: (line: string) => void = console.log): string {
	const main = readMainPackage();
	fs.rmSync(CLOUD_DIR, { recursive: true, force: true });
	for (const folder of ['nodes', 'credentials', 'icons']) stage(path.join(REPO_ROOT, folder), path.join(SOURCE_DIR, folder));
	const entryFiles = [...main.n8n.nodes, ...main.n8n.credentials].map(sourceOf);
	const tsconfig = {
		extends: path.join(REPO_ROOT, 'tsconfig.json'),
		compilerOptions: { rootDir: '.', outDir: path.join(PACKAGE_DIR, 'dist'), declaration: false, sourceMap: false, incremental: false },
		files: entryFiles,
		include: [],
		exclude: [],
	};
	fs.writeFileSync(path.join(SOURCE_DIR, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, '\t')}\n`);
	log(`Compiling the cloud edition from ${entryFiles.length} entry files`);
	execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(SOURCE_DIR, 'tsconfig.json')], { stdio: 'inherit' });
	dropUncompiled(SOURCE_DIR, path.join(PACKAGE_DIR, 'dist'));
	execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'gulp', 'bin', 'gulp.js'), 'buildCloud', '--cwd', REPO_ROOT], { stdio: 'inherit' });
	fs.writeFileSync(path.join(PACKAGE_DIR, 'package.json'), `${JSON.stringify(cloudPackageJson(main), null, '\t')}\n`);
	for (const file of ['README.md', 'LICENSE', 'CHANGELOG.md']) fs.copyFileSync(path.join(REPO_ROOT, file), path.join(PACKAGE_DIR, file));
	log(`Built ${CLOUD_PACKAGE_NAME}@${main.version} in ${path.relative(REPO_ROOT, PACKAGE_DIR)}`);
	return PACKAGE_DIR;
}

/** Builds and packs the cloud edition into `destination`; returns the tarball's path. */
export function packCloud(destination: string): string {
	buildCloud();
	fs.mkdirSync(destination, { recursive: true });
	const output = execFileSync('npm', ['pack', PACKAGE_DIR, '--pack-destination', destination, '--json', '--silent'], { encoding: 'utf8' });
	const [{ filename }] = JSON.parse(output) as Array<{ filename: string }>;
	return path.join(destination, filename);
}

interface ScanResult {
	passed: boolean;
	message?: string;
	details?: string;
}

/** Packs the cloud edition and runs n8n's own scanner (@n8n/scan-community-package) on what the tarball holds. */
export async function scanCloud(): Promise<ScanResult> {
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-cloud-scan-'));
	try {
		return await scanTarball(packCloud(work));
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
}

/** Runs n8n's scanner on what `tarball` holds. */
export async function scanTarball(tarball: string): Promise<ScanResult> {
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-cloud-scan-'));
	try {
		execFileSync('tar', ['xzf', tarball, '-C', work]);
		// The scanner is an ES module; a Function-made import keeps tsx from turning it into require().
		const load = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<{ analyzePackage(dir: string): Promise<ScanResult> }>;
		const scanner = await load(require.resolve('@n8n/scan-community-package/scanner/scanner.mjs'));
		return await scanner.analyzePackage(path.join(work, 'package'));
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const [command, ...rest] = process.argv.slice(2);
	if (command === 'build') {
		buildCloud();
	} else if (command === 'pack') {
		const at = rest.indexOf('--pack-destination');
		const destination = at === -1 ? REPO_ROOT : path.resolve(rest[at + 1] ?? '.');
		console.log(packCloud(destination));
	} else if (command === 'scan') {
		const result = await scanCloud();
		if (result.passed) {
			console.log(`n8n's scanner: ${CLOUD_PACKAGE_NAME} passed, 0 errors`);
		} else {
			console.log(`n8n's scanner: ${CLOUD_PACKAGE_NAME} failed: ${result.message ?? ''}\n${result.details ?? ''}`);
			process.exitCode = 1;
		}
	} else {
		console.error('Usage: cloud-edition.ts build | pack [--pack-destination <dir>] | scan');
		process.exitCode = 2;
	}
}

if (require.main === module) void main();
