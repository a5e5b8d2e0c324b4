/**
 * A real n8n for end-to-end tests and the demo: installed on demand into a git-ignored cache,
 * with this package installed into a throwaway user folder the way n8n installs community packages.
 *
 * n8n is never a dependency of the package: it is 2 GB and pins its own n8n-workflow.
 * Plain node built-ins only, so `npx tsx` scripts and jest can both use it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { CLOUD_PACKAGE_NAME, packCloud } from './cloud-edition';
import { installN8n, isTreeComplete, n8nBinIn, n8nRecipe, withNodeOnPath, type Log, type NodeBinary } from './n8n-install';
import { killGroup, npmCommand, runCommand, settlesWithin, sleep, tail, track, type CommandResult } from './processes';

// Scripts and tests import the process helpers from here, as they did before those moved to processes.ts.
export * from './processes';
export type { Log } from './n8n-install';

export const N8N_VERSION = '2.8.4';

/** The n8n version the e2e tests run: env N8N_E2E_VERSION (a version with a recipe), else N8N_VERSION. */
export function e2eN8nVersion(): string {
	return process.env.N8N_E2E_VERSION?.trim() || N8N_VERSION;
}
export const REPO_ROOT = path.resolve(__dirname, '..');
export const PACKAGE_NAME = 'n8n-nodes-nebula-block';

/** The package's two editions: `main` (npm pack of this repository) and `cloud` (scripts/cloud-edition.ts). */
export type Edition = 'main' | 'cloud';

/** The edition the e2e tests install: env N8N_E2E_EDITION (`main` or `cloud`), else main. */
export function e2eEdition(): Edition {
	const edition = process.env.N8N_E2E_EDITION?.trim() || 'main';
	if (edition !== 'main' && edition !== 'cloud') throw new Error(`N8N_E2E_EDITION is "${edition}": it must be main or cloud`);
	return edition;
}

/** The npm name of an edition: its node types are `<name>.nebulaBlockChat` and so on (the credential type is the same). */
export function editionPackageName(edition: Edition = e2eEdition()): string {
	return edition === 'cloud' ? CLOUD_PACKAGE_NAME : PACKAGE_NAME;
}

const silent: Log = () => undefined;

// ---------------------------------------------------------------------------
// n8n on demand
// ---------------------------------------------------------------------------

export interface N8nInstall {
	version: string;
	dir: string;
	bin: string;
	/** The node this n8n runs with (its recipe's major; installed into the cache when not ours). */
	node: NodeBinary;
}

/** `<repo>/.cache/n8n-<version>`; env N8N_CACHE_DIR replaces `<repo>/.cache`. */
export function n8nInstallDir(version = N8N_VERSION): string {
	const cacheRoot = process.env.N8N_CACHE_DIR ? path.resolve(process.env.N8N_CACHE_DIR) : path.join(REPO_ROOT, '.cache');
	return path.join(cacheRoot, `n8n-${version}`);
}

function installOf(dir: string, version: string, node: NodeBinary): N8nInstall {
	return { version, dir, bin: path.join(dir, 'node_modules', '.bin', 'n8n'), node };
}

export function isN8nInstalled(version = N8N_VERSION): boolean {
	const dir = n8nInstallDir(version);
	return isTreeComplete(dir, version, [path.relative(dir, n8nBinIn(dir))]);
}

/**
 * Returns a complete n8n install, installing it first when needed (about 6-7 minutes, 2.3 GB)
 * by its recipe in scripts/n8n-install.ts: into a temporary folder, checked, then moved into place.
 */
export async function ensureN8n(options: { version?: string; log?: Log } = {}): Promise<N8nInstall> {
	const version = options.version ?? N8N_VERSION;
	const dir = n8nInstallDir(version);
	const { node } = await installN8n({ dir, version, log: options.log });
	return installOf(dir, version, node);
}

// ---------------------------------------------------------------------------
// User folder and the packed package
// ---------------------------------------------------------------------------

export interface UserFolder {
	/** The value of N8N_USER_FOLDER; n8n keeps its state in `<root>/.n8n`. */
	root: string;
	/** `<root>/.n8n/nodes`, where n8n installs community packages. */
	nodesDir: string;
}

export function createUserFolder(options: { parent?: string; prefix?: string } = {}): UserFolder {
	const parent = options.parent ?? os.tmpdir();
	fs.mkdirSync(parent, { recursive: true });
	return openUserFolder(fs.mkdtempSync(path.join(parent, options.prefix ?? 'n8n-nebula-')));
}

/** A user folder at a fixed place (the demo's, kept between runs); created when missing. */
export function openUserFolder(root: string): UserFolder {
	const nodesDir = path.join(root, '.n8n', 'nodes');
	fs.mkdirSync(path.join(nodesDir, 'node_modules'), { recursive: true });
	const registry = path.join(nodesDir, 'package.json');
	if (!fs.existsSync(registry)) {
		fs.writeFileSync(registry, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	}
	return { root, nodesDir };
}

export function removeUserFolder(folder: UserFolder): void {
	fs.rmSync(folder.root, { recursive: true, force: true });
}

/** The files the package ships: pack fails early when the build is missing instead of shipping nothing. */
function assertBuilt(repoDir: string): void {
	const manifest = JSON.parse(fs.readFileSync(path.join(repoDir, 'package.json'), 'utf8')) as {
		n8n?: { nodes?: string[]; credentials?: string[] };
	};
	const shipped = [...(manifest.n8n?.nodes ?? []), ...(manifest.n8n?.credentials ?? [])];
	const missing = shipped.filter((file) => !fs.existsSync(path.join(repoDir, file)));
	if (missing.length > 0) {
		throw new Error(`The package is not built (missing ${missing.join(', ')}). Run \`npm run build\` first.`);
	}
}

/** `npm pack` into destDir; returns the tarball path. */
export async function packPackage(options: { destDir: string; repoDir?: string }): Promise<string> {
	const repoDir = options.repoDir ?? REPO_ROOT;
	assertBuilt(repoDir);
	fs.mkdirSync(options.destDir, { recursive: true });
	const result = await runCommand(
		npmCommand(),
		['pack', '--json', '--ignore-scripts', `--pack-destination=${options.destDir}`],
		{ cwd: repoDir, timeoutMs: 120_000 },
	);
	if (result.code !== 0) throw new Error(`npm pack failed:\n${tail(result.stderr)}`);
	const [packed] = JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as Array<{ filename: string }>;
	return path.join(options.destDir, path.basename(packed.filename));
}

/**
 * Installs a tarball the way n8n's community package service does: unpack into
 * `.n8n/nodes/node_modules/<name>`, drop dev/peer/optional dependencies, `npm install` the rest
 * with n8n's flags, and record it in `.n8n/nodes/package.json`.
 * `--prefer-offline` lets it work without a network once undici is in the npm cache.
 */
export async function installPackageTarball(folder: UserFolder, tarball: string): Promise<{ name: string; dir: string; ms: number }> {
	const started = Date.now();
	const staging = fs.mkdtempSync(path.join(folder.nodesDir, '.unpack-'));
	try {
		const untar = await runCommand('tar', ['-xzf', tarball, '-C', staging, '--strip-components=1'], { timeoutMs: 60_000 });
		if (untar.code !== 0) throw new Error(`tar failed to unpack ${tarball}:\n${tail(untar.stderr)}`);
		const manifestPath = path.join(staging, 'package.json');
		const { devDependencies, peerDependencies, optionalDependencies, ...manifest } = JSON.parse(
			fs.readFileSync(manifestPath, 'utf8'),
		) as Record<string, unknown> & { name: string; version: string };
		void devDependencies;
		void peerDependencies;
		void optionalDependencies;
		fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));

		const dir = path.join(folder.nodesDir, 'node_modules', manifest.name);
		fs.rmSync(dir, { recursive: true, force: true });
		fs.mkdirSync(path.dirname(dir), { recursive: true });
		fs.renameSync(staging, dir);

		const npmArgs = [
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
			'--prefer-offline',
			'--loglevel=error',
		];
		const install = await runCommand(npmCommand(), npmArgs, { cwd: dir, timeoutMs: 300_000 });
		if (install.code !== 0) throw new Error(`npm install inside ${dir} failed:\n${tail(install.stderr)}`);

		const registryPath = path.join(folder.nodesDir, 'package.json');
		const registry = JSON.parse(fs.readFileSync(registryPath, 'utf8')) as { dependencies: Record<string, string> };
		registry.dependencies[manifest.name] = manifest.version;
		fs.writeFileSync(registryPath, JSON.stringify(registry, null, 2));
		return { name: manifest.name, dir, ms: Date.now() - started };
	} finally {
		fs.rmSync(staging, { recursive: true, force: true });
	}
}

/**
 * n8n plus a fresh user folder with this package installed from its `npm pack` tarball:
 * what a user gets after installing the community package. The package must be built.
 * `edition` (default: e2eEdition()) `cloud` installs the cloud edition's tarball instead (built
 * and packed here, into build/cloud then the user folder), and the context then imports workflows
 * with their node types under its name (importWorkflows).
 */
export async function prepareSandbox(
	options: { log?: Log; parent?: string; version?: string; edition?: Edition } = {},
): Promise<N8nContext & { tarball: string }> {
	const log = options.log ?? silent;
	const edition = options.edition ?? e2eEdition();
	const install = await ensureN8n({ log, version: options.version ?? e2eN8nVersion() });
	log(`n8n ${install.version} on Node.js ${install.node.major} (${install.node.path}): ${install.dir}`);
	const folder = createUserFolder({ parent: options.parent });
	try {
		const destDir = path.join(folder.root, 'pack');
		const tarball = edition === 'cloud' ? packCloud(destDir) : await packPackage({ destDir });
		const installed = await installPackageTarball(folder, tarball);
		log(`Installed ${path.basename(tarball)} into ${installed.dir} (${installed.ms} ms)`);
		return edition === 'cloud' ? { install, folder, tarball, packageName: editionPackageName(edition) } : { install, folder, tarball };
	} catch (error) {
		removeUserFolder(folder);
		throw error;
	}
}

// ---------------------------------------------------------------------------
// Running the n8n CLI
// ---------------------------------------------------------------------------

export interface N8nContext {
	install: N8nInstall;
	folder: UserFolder;
	/** The installed edition's package name when it is not the main one (importWorkflows renames node types to it). */
	packageName?: string;
}

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/**
 * The environment of every n8n process we start: local only, no telemetry, no calls home.
 * NODE_ENV is forced to production because n8n skips loading nodes under jest's NODE_ENV=test.
 */
export function n8nEnv(folder: UserFolder, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const inherited = { ...process.env };
	// Keep a parent's n8n settings (say, from a developer's shell) from leaking into the sandbox.
	for (const name of Object.keys(inherited)) {
		if (name.startsWith('N8N_') || name.startsWith('DB_') || name.startsWith('EXECUTIONS_')) delete inherited[name];
	}
	return {
		// Schedules and $now follow this machine's time zone, not n8n's default of New York.
		GENERIC_TIMEZONE: Intl.DateTimeFormat().resolvedOptions().timeZone,
		...inherited,
		NODE_ENV: 'production',
		N8N_USER_FOLDER: folder.root,
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		DB_TYPE: 'sqlite',
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		// n8n 2.8.4 defaults it to true; later versions warn that the default becomes false, which
		// forbids installing unverified community packages (this one) from the Community Nodes screen.
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		...extra,
	};
}

/**
 * The environment for this install's n8n: its node first on PATH (n8n's CLI starts with
 * `#!/usr/bin/env node`, and its task runner uses the node running n8n), and what its recipe needs.
 * The caller's values win over the recipe's.
 */
export function installEnv(install: N8nInstall, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
	const recipeEnv = n8nRecipe(install.version).runEnv ?? {};
	const unset = Object.fromEntries(Object.entries(recipeEnv).filter(([name]) => env[name] === undefined));
	return withNodeOnPath(install.node, { ...unset, ...env });
}

/** Runs one n8n CLI command in the sandbox (import, execute...). */
export async function runN8n(
	ctx: N8nContext,
	args: string[],
	options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandResult> {
	const brokerPort = await freePort();
	const env = installEnv(ctx.install, n8nEnv(ctx.folder, { N8N_RUNNERS_BROKER_PORT: String(brokerPort), ...options.env }));
	return runCommand(ctx.install.bin, args, { env, cwd: ctx.folder.root, timeoutMs: options.timeoutMs ?? 180_000 });
}

function assertSucceeded(what: string, result: CommandResult): void {
	if (result.code === 0) return;
	throw new Error(`${what} failed (exit ${result.code ?? result.signal}):\n${tail(result.stderr || result.stdout)}`);
}

export interface CredentialImport {
	id: string;
	name: string;
	type: string;
	/** Plain values; n8n encrypts them with the instance key on import. */
	data: Record<string, unknown>;
}

function writeTempJson(ctx: N8nContext, name: string, value: unknown): string {
	const file = path.join(ctx.folder.root, name);
	fs.writeFileSync(file, JSON.stringify(value, null, 2));
	return file;
}

/** `env`: settings the n8n that later runs them has too, e.g. its database (DB_*) and N8N_ENCRYPTION_KEY. */
export async function importCredentials(ctx: N8nContext, credentials: CredentialImport[], env?: Record<string, string>): Promise<CommandResult> {
	const file = writeTempJson(ctx, 'credentials-import.json', credentials);
	try {
		const result = await runN8n(ctx, ['import:credentials', `--input=${file}`], { env });
		assertSucceeded('n8n import:credentials', result);
		return result;
	} finally {
		// The file holds API keys in plain text.
		fs.rmSync(file, { force: true });
	}
}

export interface WorkflowFile {
	id: string;
	name: string;
	nodes: unknown[];
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

/**
 * The workflow with this package's node types (`n8n-nodes-nebula-block.nebulaBlockChat`, ...)
 * under another edition's package name; the same object for the main package's name.
 */
export function onPackage(workflow: WorkflowFile, packageName = PACKAGE_NAME): WorkflowFile {
	if (packageName === PACKAGE_NAME) return workflow;
	const prefix = `${PACKAGE_NAME}.`;
	const nodes = (workflow.nodes as Array<Record<string, any>>).map((node) =>
		typeof node.type === 'string' && node.type.startsWith(prefix) ? { ...node, type: `${packageName}.${node.type.slice(prefix.length)}` } : node,
	);
	return { ...workflow, nodes };
}

/**
 * Imports all workflows with one CLI start (each start costs seconds). Written with the main
 * package's node types; imported under the installed edition's (ctx.packageName).
 */
export async function importWorkflows(ctx: N8nContext, workflows: WorkflowFile[], env?: Record<string, string>): Promise<CommandResult> {
	const file = writeTempJson(ctx, 'workflows-import.json', workflows.map((workflow) => onPackage(workflow, ctx.packageName)));
	const result = await runN8n(ctx, ['import:workflow', `--input=${file}`], { env });
	assertSucceeded('n8n import:workflow', result);
	return result;
}

/** A workflow as `n8n export:workflow` writes it: the file's fields plus what n8n keeps about it. */
export interface ExportedWorkflow extends WorkflowFile {
	/** A new one whenever the nodes or connections are saved (or it is imported again). */
	versionId: string;
	/** ISO time of the last save (of anything: name, settings...); running the workflow keeps it. */
	updatedAt: string;
	active: boolean;
	isArchived?: boolean;
}

/** Every workflow in n8n's database (archived ones too), with one CLI start. */
export async function exportWorkflows(ctx: N8nContext): Promise<ExportedWorkflow[]> {
	const file = path.join(ctx.folder.root, 'workflows-export.json');
	try {
		const result = await runN8n(ctx, ['export:workflow', '--all', `--output=${file}`]);
		// n8n fails the export of an empty database ("No workflows found with specified filters").
		if (!fs.existsSync(file) && /No workflows found/.test(`${result.stdout}${result.stderr}`)) return [];
		assertSucceeded('n8n export:workflow', result);
		return JSON.parse(fs.readFileSync(file, 'utf8')) as ExportedWorkflow[];
	} finally {
		fs.rmSync(file, { force: true });
	}
}

/** A saved credential with its values decrypted, or undefined when there is none with that id. */
export async function exportCredential(ctx: N8nContext, id: string): Promise<CredentialImport | undefined> {
	const file = path.join(ctx.folder.root, 'credential-export.json');
	try {
		const result = await runN8n(ctx, ['export:credentials', `--id=${id}`, '--decrypted', `--output=${file}`]);
		if (result.code !== 0 || !fs.existsSync(file)) return undefined;
		const [credential] = JSON.parse(fs.readFileSync(file, 'utf8')) as CredentialImport[];
		return credential;
	} finally {
		// The file holds API keys in plain text.
		fs.rmSync(file, { force: true });
	}
}

export function readWorkflowFile(file: string): WorkflowFile {
	return JSON.parse(fs.readFileSync(file, 'utf8')) as WorkflowFile;
}

/** Every `*.json` workflow in a folder, by file name. */
export function readWorkflowFolder(dir: string): WorkflowFile[] {
	return fs
		.readdirSync(dir)
		.filter((name) => name.endsWith('.json'))
		.sort()
		.map((name) => readWorkflowFile(path.join(dir, name)));
}

export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

/** n8n's own node packages, which ship their node descriptions in dist/types/nodes.json. */
const N8N_NODE_PACKAGES = ['n8n-nodes-base', '@n8n/n8n-nodes-langchain'];

/**
 * The node versions a workflow uses that the n8n installed in `n8nDir` does not have, as
 * `<type> <version>` (older n8n lacks AI Agent 3.1, for one, and then refuses the whole workflow
 * with a TypeError). Read from the descriptions n8n's node packages ship. A type they do not list
 * at all (this package's nodes, or a description file moved) is never reported: when in doubt
 * the workflow runs, and n8n says what is wrong.
 */
export function missingNodeVersions(n8nDir: string, workflow: WorkflowFile): string[] {
	const known = new Map<string, Set<number>>();
	for (const pkg of N8N_NODE_PACKAGES) {
		const file = path.join(n8nDir, 'node_modules', pkg, 'dist', 'types', 'nodes.json');
		if (!fs.existsSync(file)) continue;
		for (const node of JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ name: string; version: number | number[] }>) {
			const type = `${pkg}.${node.name}`;
			const versions = known.get(type) ?? new Set<number>();
			for (const version of [node.version].flat()) versions.add(version);
			known.set(type, versions);
		}
	}
	const missing = (workflow.nodes as Array<{ type: string; typeVersion: number }>)
		.filter((node) => known.has(node.type) && !known.get(node.type)?.has(node.typeVersion))
		.map((node) => `${node.type} ${node.typeVersion}`);
	return [...new Set(missing)];
}

// ---------------------------------------------------------------------------
// The credentials the example workflows refer to (by id and name)
// ---------------------------------------------------------------------------

export const NEBULA_CREDENTIAL_TYPE = 'nebulaBlockApi';
export const EXAMPLE_CREDENTIAL = { id: 'nebulaBlockAcct01', name: 'Nebula Block account' } as const;

export interface NebulaEndpoints {
	apiKey: string;
	/** Chat completions and models, e.g. https://inference.nebulablock.com/v1 */
	baseUrl: string;
	/** /text/generate, e.g. https://api.inference.nebulablock.com/v1 */
	textGenerateUrl: string;
}

export function exampleCredential(endpoints: NebulaEndpoints): CredentialImport {
	return {
		...EXAMPLE_CREDENTIAL,
		type: NEBULA_CREDENTIAL_TYPE,
		data: { apiKey: endpoints.apiKey, baseUrl: endpoints.baseUrl, textGenerateUrl: endpoints.textGenerateUrl },
	};
}

// ---------------------------------------------------------------------------
// Executing a workflow and reading its result
// ---------------------------------------------------------------------------

export interface NodeRun {
	executionStatus?: string;
	/** By connection type: 'main', or 'ai_tool', 'ai_languageModel'... for sub-nodes. */
	data?: Record<string, Array<Array<{ json: Record<string, any>; error?: unknown }> | null>>;
	error?: { message?: string; description?: string; [key: string]: unknown };
}

/** The part of n8n's IRun that tests read. */
export interface ExecutionResult {
	status?: string;
	finished?: boolean;
	data: {
		resultData: {
			runData: Record<string, NodeRun[]>;
			error?: { message?: string; description?: string; node?: { name?: string }; [key: string]: unknown };
			lastNodeExecuted?: string;
		};
	};
}

export interface ExecuteOutcome {
	/** Undefined only when n8n printed no run at all (it failed before running). */
	run: ExecutionResult | undefined;
	command: CommandResult;
}

/**
 * n8n 2.x prints the run through its logger (also when it fails), so with N8N_LOG_FORMAT=json
 * the run is the one log line whose message parses to an object holding data.resultData.
 */
export function parseExecutionLog(output: string): ExecutionResult | undefined {
	for (const line of output.split('\n')) {
		if (!line.includes('resultData')) continue;
		const message = jsonMessage(line);
		if (message === undefined) continue;
		try {
			const parsed = JSON.parse(message) as Partial<ExecutionResult>;
			if (parsed?.data?.resultData) return parsed as ExecutionResult;
		} catch {
			// Not the run.
		}
	}
	return undefined;
}

function jsonMessage(line: string): string | undefined {
	try {
		const record = JSON.parse(line.trim()) as { message?: unknown };
		return typeof record.message === 'string' ? record.message : undefined;
	} catch {
		return undefined;
	}
}

export async function executeWorkflow(ctx: N8nContext, workflowId: string, options: { timeoutMs?: number } = {}): Promise<ExecuteOutcome> {
	const command = await runN8n(ctx, ['execute', `--id=${workflowId}`, '--rawOutput'], {
		env: { N8N_LOG_FORMAT: 'json', N8N_LOG_LEVEL: 'info' },
		timeoutMs: options.timeoutMs,
	});
	return { run: parseExecutionLog(`${command.stdout}\n${command.stderr}`), command };
}

/**
 * The JSON of every item a node put on its first output in its last run. Sub-nodes report on
 * their AI connection instead of main, e.g. 'ai_tool' for a node used as a tool.
 */
export function nodeOutput(run: ExecutionResult, nodeName: string, connectionType = 'main'): Array<Record<string, any>> {
	const runs = run.data.resultData.runData[nodeName];
	if (!runs || runs.length === 0) throw new Error(`Node "${nodeName}" did not run; ran: ${Object.keys(run.data.resultData.runData).join(', ')}`);
	return (runs[runs.length - 1].data?.[connectionType]?.[0] ?? []).map((item) => item.json);
}

/** How many times a node ran in the execution (a tool or a model runs once per call). */
export function runCount(run: ExecutionResult, nodeName: string): number {
	return run.data.resultData.runData[nodeName]?.length ?? 0;
}

// ---------------------------------------------------------------------------
// n8n start: the editor and REST API
// ---------------------------------------------------------------------------

export interface RunningN8n {
	url: string;
	port: number;
	process: ChildProcess;
	/** Everything n8n printed so far. */
	output(): string;
	stop(): Promise<void>;
}

export async function startN8n(
	ctx: N8nContext,
	options: {
		port?: number;
		readyTimeoutMs?: number;
		env?: Record<string, string>;
		onOutput?: (chunk: string) => void;
		/**
		 * Where n8n writes its output (appended; default `<user folder>/n8n.log`), instead of a pipe
		 * to us. An n8n that outlives us (we were SIGKILLed) then still has somewhere to write: with
		 * a pipe whose reader is gone, n8n 2.8.4 spins at 100% CPU on SIGTERM instead of exiting.
		 * With `onOutput`, n8n writes to a pipe after all (the caller reads it as it comes).
		 */
		logFile?: string;
		/** The n8n command (default `start`), e.g. `['worker', '--concurrency=3']` in queue mode. */
		command?: string[];
		/**
		 * Ready when n8n prints this (a worker serves no REST API: `n8n worker is now ready`);
		 * by default, when the REST API answers.
		 */
		readyLine?: string;
	} = {},
): Promise<RunningN8n> {
	const port = options.port ?? (await freePort());
	const brokerPort = await freePort();
	const env = installEnv(ctx.install, n8nEnv(ctx.folder, {
		N8N_PORT: String(port),
		N8N_HOST: '127.0.0.1',
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}`,
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		...options.env,
	}));
	const logFile = options.onOutput ? undefined : (options.logFile ?? path.join(ctx.folder.root, 'n8n.log'));
	const logFd = logFile === undefined ? undefined : fs.openSync(logFile, 'a');
	// Its own process group: stop() ends the task runner it spawns too.
	const child = spawn(ctx.install.bin, options.command ?? ['start'], {
		env,
		cwd: ctx.folder.root,
		stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
		detached: true,
	});
	if (logFd !== undefined) fs.closeSync(logFd);
	track(child);
	let piped = '';
	const collect = (chunk: Buffer) => {
		piped += chunk.toString('utf8');
		options.onOutput?.(chunk.toString('utf8'));
	};
	child.stdout?.on('data', collect);
	child.stderr?.on('data', collect);
	const output = () => (logFile === undefined ? piped : readTail(logFile, 256 * 1024));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

	const url = `http://127.0.0.1:${port}`;
	const running: RunningN8n = {
		url,
		port,
		process: child,
		output,
		stop: async () => {
			if (child.exitCode !== null || child.signalCode !== null) return;
			killGroup(child, 'SIGTERM');
			if (!(await settlesWithin(exited, 15_000))) {
				killGroup(child, 'SIGKILL');
				await exited;
			}
		},
	};
	try {
		if (options.readyLine === undefined) await waitForRest(url, child, options.readyTimeoutMs ?? 120_000);
		else await waitForLine(options.readyLine, output, child, options.readyTimeoutMs ?? 120_000);
	} catch (error) {
		await running.stop();
		throw new Error(`${(error as Error).message}\n--- n8n output ---\n${tail(output(), 40)}`);
	}
	return running;
}

function readTail(file: string, bytes: number): string {
	try {
		const { size } = fs.statSync(file);
		const fd = fs.openSync(file, 'r');
		try {
			const buffer = Buffer.alloc(Math.min(size, bytes));
			fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length);
			return buffer.toString('utf8');
		} finally {
			fs.closeSync(fd);
		}
	} catch {
		return '';
	}
}

async function waitForLine(line: string, output: () => string, child: ChildProcess, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (output().includes(line)) return;
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(`n8n exited before it printed "${line}" (exit ${child.exitCode ?? child.signalCode})`);
		}
		await sleep(250);
	}
	throw new Error(`n8n did not print "${line}" within ${timeoutMs} ms`);
}

/** /healthz answers long before the REST API is mounted; a 401 from /rest/login means it is. */
async function waitForRest(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(`n8n exited before it was ready (exit ${child.exitCode ?? child.signalCode})`);
		}
		try {
			const response = await fetch(`${url}/rest/login`, { signal: AbortSignal.timeout(2000) });
			await response.arrayBuffer();
			if (response.status === 401) return;
		} catch {
			// Not listening yet.
		}
		await sleep(250);
	}
	throw new Error(`n8n did not become ready at ${url} within ${timeoutMs} ms`);
}

export interface Owner {
	email: string;
	password: string;
	firstName: string;
	lastName: string;
}

export const DEMO_OWNER: Owner = {
	email: 'demo@example.com',
	password: 'Nebula-demo-1',
	firstName: 'Demo',
	lastName: 'Owner',
};

/** A REST session as the owner. */
export interface RestSession {
	url: string;
	cookie: string;
	get<T = any>(route: string): Promise<{ status: number; body: T }>;
	post<T = any>(route: string, body: unknown): Promise<{ status: number; body: T }>;
}

export async function setupOwner(url: string, owner: Owner = DEMO_OWNER): Promise<RestSession> {
	const response = await fetch(`${url}/rest/owner/setup`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(owner),
	});
	const text = await response.text();
	if (response.status !== 200) throw new Error(`Owner setup failed: HTTP ${response.status} ${text.slice(0, 300)}`);
	return restSession(url, authCookie(response));
}

export async function login(url: string, owner: Owner = DEMO_OWNER): Promise<RestSession> {
	const response = await fetch(`${url}/rest/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
	});
	const text = await response.text();
	if (response.status !== 200) throw new Error(`Login failed: HTTP ${response.status} ${text.slice(0, 300)}`);
	return restSession(url, authCookie(response));
}

function authCookie(response: Response): string {
	const cookie = response.headers.getSetCookie().find((value) => value.startsWith('n8n-auth='));
	if (!cookie) throw new Error('n8n sent no n8n-auth cookie');
	return cookie.split(';')[0];
}

function restSession(url: string, cookie: string): RestSession {
	const call = async (method: string, route: string, body?: unknown) => {
		const response = await fetch(`${url}${route}`, {
			method,
			headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		let parsed: any = text;
		try {
			parsed = JSON.parse(text);
		} catch {
			// Leave non-JSON bodies as text.
		}
		return { status: response.status, body: parsed };
	};
	return {
		url,
		cookie,
		get: (route) => call('GET', route),
		post: (route, body) => call('POST', route, body),
	};
}
