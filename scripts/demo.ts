/**
 * `npm run demo`: n8n on http://127.0.0.1:5678 with this package installed from its tarball,
 * an owner account, the Nebula Block credential and the example workflows; every example with a
 * manual or schedule trigger is run once with the n8n CLI and its result printed in one line.
 *
 * n8n's user folder is kept between runs (`.cache/demo`), so work done in the editor survives:
 * a second run keeps the workflows and the credential the user changed, and logs in to the
 * existing owner account. An example whose file changed since it was imported is updated in n8n
 * unless the user changed it there (see demo-examples.ts). `--fresh` (or DEMO_FRESH=1) starts over.
 *
 * Without NEBULA_API_KEY it talks to the fake Nebula Block server (a sandbox); with it, to the
 * real service. Ctrl-C, SIGTERM, SIGHUP (terminal closed) and a crash of the demo itself stop
 * n8n, the fake server and whatever else it started.
 *
 * Run by `node --import tsx`, not the tsx CLI: the CLI's signal relay SIGKILLs a child that does
 * not confirm a Ctrl-C within 60 ms, which a busy 2-core machine misses, leaving n8n running.
 *
 * `--cloud` (or DEMO_EDITION=cloud) runs the cloud edition (scripts/cloud-edition.ts) instead, on
 * n8n 2.41.1 by default (its Chat Model needs 2.16 or newer), in a data folder of its own.
 *
 * Settings: DEMO_PORT (5678), DEMO_DATA_DIR (<repo>/.cache/demo, or demo-cloud), DEMO_FRESH=1 or --fresh,
 * DEMO_EDITION (main or cloud), DEMO_N8N_VERSION (2.8.4 for main, 2.41.1 for cloud),
 * DEMO_EXAMPLE (a workflow id: run only that example; `none`: run none), DEMO_REIMPORT (example
 * ids, or `all`: import them again over the user's version), DEMO_EXAMPLES_DIR (<repo>/examples),
 * N8N_CACHE_DIR (where n8n is installed, <repo>/.cache), NEBULA_API_KEY, NEBULA_BASE_URL,
 * NEBULA_TEXT_GENERATE_URL.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { importsOf, parseReimport, planExamples, recordAfter, type ExampleStep, type ImportedExample } from './demo-examples';
import { packCloud } from './cloud-edition';
import * as rt from './n8n-runtime';
import { startFakeNebula, type FakeNebula } from '../test/support/fake-nebula';

const PORT = Number(process.env.DEMO_PORT ?? 5678);
const EDITION = demoEdition();
/** The cloud edition's Chat Model needs n8n 2.16 or newer (@n8n/ai-node-sdk). */
const N8N_VERSION = process.env.DEMO_N8N_VERSION?.trim() || (EDITION === 'cloud' ? '2.41.1' : rt.N8N_VERSION);
// One folder per edition: both define the same credential type, and their node types differ.
const DATA_DIR = path.resolve(process.env.DEMO_DATA_DIR ?? path.join(rt.REPO_ROOT, '.cache', EDITION === 'cloud' ? 'demo-cloud' : 'demo'));
const FRESH = process.argv.includes('--fresh') || ['1', 'true'].includes(process.env.DEMO_FRESH ?? '');
const EXAMPLE_TO_RUN = process.env.DEMO_EXAMPLE?.trim() || 'all';
const EXAMPLES_DIR = path.resolve(process.env.DEMO_EXAMPLES_DIR?.trim() || rt.EXAMPLES_DIR);
const REAL_BASE_URL = 'https://inference.nebulablock.com/v1';
const REAL_TEXT_GENERATE_URL = 'https://api.inference.nebulablock.com/v1';
/** Examples the CLI can run: `n8n execute` starts at a manual or schedule trigger. */
const CLI_TRIGGERS = new Set(['n8n-nodes-base.manualTrigger', 'n8n-nodes-base.scheduleTrigger']);

const N8N_LOG = path.join(DATA_DIR, 'n8n.log');
const DEMO_LOG = path.join(DATA_DIR, 'demo.log');
const STATE_FILE = path.join(DATA_DIR, 'demo-state.json');
const PID_FILE = path.join(DATA_DIR, 'demo.pid');

let fake: FakeNebula | undefined;
let n8n: rt.RunningN8n | undefined;
let stopping = false;

// ---------------------------------------------------------------------------
// Output: every line time-stamped, on the terminal and in demo.log
// ---------------------------------------------------------------------------

// After SIGHUP the terminal is gone: writing to it fails (EIO, EPIPE). That must not stop the shutdown.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

function say(line = ''): void {
	const stamped = `[${new Date().toISOString().slice(11, 19)}] ${line}`;
	try {
		process.stdout.write(`${stamped}\n`);
	} catch {
		// No terminal any more.
	}
	try {
		fs.appendFileSync(DEMO_LOG, `${stamped}\n`);
	} catch {
		// The data folder is not there yet (or was just removed by --fresh).
	}
}

function oneLine(text: string, max: number): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// ---------------------------------------------------------------------------
// Stopping: signals, crashes, n8n exiting on its own
// ---------------------------------------------------------------------------

const EXIT_CODES: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
for (const [signal, code] of Object.entries(EXIT_CODES)) {
	// `on`, not `once`: npm relays a Ctrl-C that also reached us from the terminal, and a second
	// signal without a handler would kill us before n8n is stopped. shutdown() runs only once.
	process.on(signal, () => void shutdown(code, `Received ${signal}`));
}
process.on('uncaughtException', (error) => void shutdown(1, `The demo crashed: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => void shutdown(1, `The demo crashed: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
// Last resort, if anything exits the process while children are still running.
process.on('exit', () => {
	rt.killStartedProcessesNow();
	releaseDataFolder();
});

async function shutdown(exitCode: number, why: string): Promise<void> {
	if (stopping) return;
	stopping = true;
	say(`${why}; stopping n8n and everything the demo started...`);
	// Whatever happens below, do not hang: kill what is left and go.
	setTimeout(() => {
		rt.killStartedProcessesNow();
		process.exit(exitCode);
	}, 30_000).unref();
	// n8n itself, and whatever is still running (npm installing n8n, an import, an execution).
	await rt.stopStartedProcesses().catch(() => rt.killStartedProcessesNow());
	await fake?.close().catch(() => undefined);
	say(`Stopped. n8n's data is kept in ${DATA_DIR} (npm run demo -- --fresh starts over).`);
	process.exit(exitCode);
}

// ---------------------------------------------------------------------------
// The data folder, kept between runs
// ---------------------------------------------------------------------------

/** One demo per data folder: two n8n on one SQLite file corrupt it. */
function claimDataFolder(): void {
	fs.mkdirSync(DATA_DIR, { recursive: true });
	try {
		const pid = Number(fs.readFileSync(PID_FILE, 'utf8'));
		if (pid > 0 && pid !== process.pid && isAlive(pid)) {
			throw new Error(`Another demo (pid ${pid}) is using ${DATA_DIR}. Stop it, or use another folder: DEMO_DATA_DIR=/some/folder npm run demo`);
		}
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
	fs.writeFileSync(PID_FILE, String(process.pid));
}

function releaseDataFolder(): void {
	try {
		if (Number(fs.readFileSync(PID_FILE, 'utf8')) === process.pid) fs.rmSync(PID_FILE);
	} catch {
		// Not claimed.
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** Only what the demo made: never the folder itself, which DEMO_DATA_DIR may point anywhere. */
function startOver(): void {
	for (const name of ['.n8n', 'n8n.log', 'demo.log', 'demo-state.json']) {
		fs.rmSync(path.join(DATA_DIR, name), { recursive: true, force: true });
	}
}

interface DemoState {
	/** sha256 of the credential values the demo saved last; a different hash means the user edited it. */
	credentialHash?: string;
	/** The fake server's port last time: the same port again keeps the saved credential valid. */
	fakePort?: number;
	/** Per example id, what the demo imported: tells a changed file and a workflow the user changed apart. */
	examples?: Record<string, ImportedExample>;
}

function readState(): DemoState {
	try {
		return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as DemoState;
	} catch {
		return {};
	}
}

function writeState(state: DemoState): void {
	fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

/** A hash, not the values: the file must never hold the API key. */
function hashOf(data: Record<string, unknown>): string {
	const sorted = Object.keys(data).sort().map((key) => [key, data[key]]);
	return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

async function service(): Promise<rt.NebulaEndpoints & { label: string }> {
	const apiKey = process.env.NEBULA_API_KEY?.trim();
	if (apiKey) {
		const baseUrl = process.env.NEBULA_BASE_URL ?? REAL_BASE_URL;
		return {
			label: `the service at ${baseUrl} with your NEBULA_API_KEY`,
			apiKey,
			baseUrl,
			textGenerateUrl: process.env.NEBULA_TEXT_GENERATE_URL ?? REAL_TEXT_GENERATE_URL,
		};
	}
	fake = await startFakeOnLastPort();
	return {
		label: `the fake Nebula Block server at ${fake.url} (a sandbox; set NEBULA_API_KEY for the real service)`,
		apiKey: fake.defaultKey,
		baseUrl: fake.url,
		textGenerateUrl: fake.url,
	};
}

/** The port of the last run when it is free (the saved credential points there), else any. */
async function startFakeOnLastPort(): Promise<FakeNebula> {
	const state = readState();
	if (state.fakePort) {
		try {
			return await startFakeNebula({ port: state.fakePort });
		} catch {
			// Taken: any port will do, and the credential is updated below.
		}
	}
	const started = await startFakeNebula();
	writeState({ ...readState(), fakePort: started.port });
	return started;
}

function assertPortFree(port: number): Promise<void> {
	return new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.once('error', () =>
			reject(new Error(`Port ${port} is in use (another n8n?). Stop it, or pick another port: DEMO_PORT=5679 npm run demo`)),
		);
		probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
	});
}

/**
 * First run: save the credential. Later runs: update it only if the user has not changed it since
 * the demo saved it.
 */
async function saveCredential(ctx: rt.N8nContext, endpoints: rt.NebulaEndpoints, firstRun: boolean): Promise<void> {
	const state = readState();
	const credential = rt.exampleCredential(endpoints);
	// What the demo saved last is what it would save now: nothing to do, and nothing to read back.
	const unchanged = !firstRun && state.credentialHash === hashOf(credential.data);
	const saved = firstRun || unchanged ? undefined : await rt.exportCredential(ctx, credential.id);
	if (unchanged) {
		say(`Kept the credential "${credential.name}" (the endpoint is the same as last time)`);
	} else if (!saved) {
		await rt.importCredentials(ctx, [credential]);
		say(`Saved the credential "${credential.name}"`);
		state.credentialHash = hashOf(credential.data);
	} else if (state.credentialHash === hashOf(saved.data)) {
		await rt.importCredentials(ctx, [credential]);
		state.credentialHash = hashOf(credential.data);
		say(`Updated the credential "${credential.name}" to this run's Nebula Block endpoint`);
	} else {
		say(`Kept your credential "${saved.name}" as you changed it in n8n (the demo does not overwrite it)`);
	}
	writeState(state);
}

/**
 * First run: import every example. Later runs: import the missing ones, update the ones whose file
 * changed and that the user has not changed in n8n, keep the rest (see demo-examples.ts).
 * n8n's versionId and updatedAt of what was imported are read back and recorded for the next run.
 */
async function importExamples(ctx: rt.N8nContext, examples: rt.WorkflowFile[], firstRun: boolean): Promise<void> {
	const reimport = parseReimport(process.env.DEMO_REIMPORT, examples);
	const recorded = readState().examples ?? {};
	const inN8n = firstRun ? [] : await rt.exportWorkflows(ctx);
	const steps = planExamples(examples, inN8n, recorded, reimport);
	const toImport = importsOf(steps);
	if (toImport.length > 0) await rt.importWorkflows(ctx, toImport.map((step) => step.example));
	// An import gives the workflow a new versionId: read it back (one more CLI start, only then).
	const inN8nAfter = toImport.length > 0 ? await rt.exportWorkflows(ctx) : inN8n;
	writeState({ ...readState(), examples: recordAfter(steps, recorded, inN8nAfter) });
	for (const line of exampleLines(steps)) say(line);
}

/** One line per example that changed or that the user should hear about; nothing else. */
function exampleLines(steps: ExampleStep[]): string[] {
	const of = (kind: ExampleStep['kind']) => steps.filter((step) => step.kind === kind);
	const name = (step: ExampleStep) => `"${step.example.name}" (${step.example.id})`;
	const lines: string[] = [];
	for (const step of of('update')) lines.push(`Updated the example ${name(step)} to the new version in ${EXAMPLES_DIR} (you had not changed it in n8n)`);
	for (const step of of('reimport')) lines.push(`Re-imported the example ${name(step)} from ${EXAMPLES_DIR} over the version in n8n (DEMO_REIMPORT)`);
	for (const step of steps) {
		if (step.kind !== 'keepUsers' || !step.tell) continue;
		lines.push(
			`A newer version of the example ${name(step)} is in ${EXAMPLES_DIR}; kept yours, which you saved or published in n8n ` +
				`(DEMO_REIMPORT=${step.example.id} npm run demo replaces yours with it; --fresh starts everything over)`,
		);
	}
	const adopted = of('adopt').map((step) => step.example.id);
	if (adopted.length > 0) {
		lines.push(
			`Kept ${adopted.length} example(s) imported by an earlier demo that did not record their version; if examples changed since, ` +
				`DEMO_REIMPORT=${adopted.join(',')} npm run demo imports them again (over your changes)`,
		);
	}
	const imported = of('import').length;
	const kept = steps.length - importsOf(steps).length;
	lines.push(
		`Imported ${imported} example workflow(s)` +
			(kept > 0 ? `; kept ${kept} already in n8n, with any changes you made (DEMO_REIMPORT=<id>|all or --fresh imports them again)` : ''),
	);
	return lines;
}

function runnableExamples(examples: rt.WorkflowFile[]): rt.WorkflowFile[] {
	if (EXAMPLE_TO_RUN === 'none') return [];
	const runnable = examples.filter((workflow) => workflow.nodes.some((node) => CLI_TRIGGERS.has((node as { type?: string }).type ?? '')));
	if (EXAMPLE_TO_RUN === 'all') return runnable;
	const chosen = runnable.filter((workflow) => workflow.id === EXAMPLE_TO_RUN);
	if (chosen.length === 0) {
		throw new Error(`DEMO_EXAMPLE=${EXAMPLE_TO_RUN} is not an example the CLI can run; pick one of ${runnable.map((workflow) => workflow.id).join(', ')}, all or none`);
	}
	return chosen;
}

/** `✓ name: first item of the last node` or `✗ name failed: message`, on one line. */
function resultLine(name: string, outcome: rt.ExecuteOutcome): string {
	const { run, command } = outcome;
	if (!run) {
		return `✗ ${name} failed: n8n printed no run (exit ${command.code ?? command.signal}): ${oneLine(rt.tail(command.stderr || command.stdout, 3), 300)}`;
	}
	const { error, lastNodeExecuted } = run.data.resultData;
	if (error) {
		const where = error.node?.name ?? lastNodeExecuted;
		return `✗ ${name} failed${where ? ` in "${where}"` : ''}: ${oneLine(`${error.message ?? ''}${error.description ? ` (${error.description})` : ''}`, 300)}`;
	}
	if (!lastNodeExecuted) return `✓ ${name}: (no output)`;
	const items = rt.nodeOutput(run, lastNodeExecuted);
	const more = items.length > 1 ? ` (+${items.length - 1} more item${items.length > 2 ? 's' : ''})` : '';
	return `✓ ${name}: ${oneLine(JSON.stringify(items[0] ?? {}), 200)}${more}`;
}

async function runExamples(ctx: rt.N8nContext, examples: rt.WorkflowFile[]): Promise<void> {
	const toRun = runnableExamples(examples);
	if (toRun.length === 0) return;
	say(`Running ${toRun.length} example(s) with the n8n CLI, one at a time (n8n's output: ${N8N_LOG})...`);
	for (const workflow of toRun) {
		const outcome = await rt.executeWorkflow(ctx, workflow.id);
		fs.appendFileSync(N8N_LOG, `\n--- n8n execute --id=${workflow.id} ---\n${outcome.command.stdout}${outcome.command.stderr}`);
		if (stopping) return;
		say(resultLine(workflow.name, outcome));
	}
}

/** The owner account: created on the first run, logged in to afterwards. */
async function ownerAccount(url: string): Promise<string> {
	const settings = await fetch(`${url}/rest/settings`).then((response) => response.json() as Promise<{ data?: { userManagement?: { showSetupOnFirstLoad?: boolean } } }>);
	if (settings.data?.userManagement?.showSetupOnFirstLoad !== false) {
		await rt.setupOwner(url, rt.DEMO_OWNER);
		return `created ${rt.DEMO_OWNER.email} / ${rt.DEMO_OWNER.password}`;
	}
	try {
		await rt.login(url, rt.DEMO_OWNER);
		return `${rt.DEMO_OWNER.email} / ${rt.DEMO_OWNER.password} (the account from an earlier run; logged in)`;
	} catch {
		return `the account from an earlier run; its password is no longer ${rt.DEMO_OWNER.password} (you changed it)`;
	}
}

function demoEdition(): rt.Edition {
	const edition = process.argv.includes('--cloud') ? 'cloud' : process.env.DEMO_EDITION?.trim() || 'main';
	if (edition !== 'main' && edition !== 'cloud') throw new Error(`DEMO_EDITION is "${edition}": it must be main or cloud`);
	return edition;
}

/** A data folder given to both editions holds one at a time: they define the same credential type. */
function removeOtherEdition(folder: rt.UserFolder): void {
	const other = rt.editionPackageName(EDITION === 'cloud' ? 'main' : 'cloud');
	const dir = path.join(folder.nodesDir, 'node_modules', other);
	if (!fs.existsSync(dir)) return;
	fs.rmSync(dir, { recursive: true, force: true });
	const registryPath = path.join(folder.nodesDir, 'package.json');
	const registry = JSON.parse(fs.readFileSync(registryPath, 'utf8')) as { dependencies?: Record<string, string> };
	delete registry.dependencies?.[other];
	fs.writeFileSync(registryPath, JSON.stringify(registry, null, 2));
	say(`Removed ${other} from ${folder.nodesDir}: this run installs the ${EDITION} edition, and one n8n holds one edition`);
}

async function main(): Promise<void> {
	await assertPortFree(PORT);
	if (FRESH && fs.existsSync(path.join(DATA_DIR, '.n8n'))) {
		startOver();
		say(`--fresh: removed the n8n data of earlier runs from ${DATA_DIR}`);
	}
	claimDataFolder();
	const firstRun = !fs.existsSync(path.join(DATA_DIR, '.n8n', 'database.sqlite'));
	say(`n8n data folder: ${DATA_DIR} (${firstRun ? 'new' : 'kept from an earlier run'})`);

	if (!rt.isN8nInstalled(N8N_VERSION)) {
		say(`n8n ${N8N_VERSION} is not installed in ${path.dirname(rt.n8nInstallDir(N8N_VERSION))} yet: installing it (once; about 6-7 minutes and 2.3 GB)...`);
	}
	const install = await rt.ensureN8n({ version: N8N_VERSION, log: say });
	const folder = rt.openUserFolder(DATA_DIR);
	const ctx: rt.N8nContext = EDITION === 'cloud' ? { install, folder, packageName: rt.editionPackageName('cloud') } : { install, folder };
	removeOtherEdition(folder);
	const packDir = path.join(DATA_DIR, 'pack');
	const tarball = EDITION === 'cloud' ? packCloud(packDir) : await rt.packPackage({ destDir: packDir });
	const installed = await rt.installPackageTarball(folder, tarball);
	say(`Installed ${path.basename(tarball)} (the ${EDITION} edition) into ${installed.dir}`);

	const endpoints = await service();
	say(`Nebula Block: ${endpoints.label}`);
	const examples = rt.readWorkflowFolder(EXAMPLES_DIR);
	await saveCredential(ctx, endpoints, firstRun);
	await importExamples(ctx, examples, firstRun);
	await runExamples(ctx, examples);
	// Ctrl-C during the examples: the shutdown is under way, so start nothing new.
	if (stopping) return;

	say(`Starting n8n on 127.0.0.1:${PORT} (its log: ${N8N_LOG})...`);
	n8n = await rt.startN8n(ctx, { port: PORT, logFile: N8N_LOG });
	n8n.process.once('exit', (code, signal) => {
		if (!stopping) void shutdown(1, `n8n stopped on its own (exit ${code ?? signal}; see ${N8N_LOG})`);
	});
	const owner = await ownerAccount(n8n.url);
	say();
	say(`  n8n is ready:  ${n8n.url}`);
	say(`  Owner:         ${owner}`);
	say(`  Workflows:     ${examples.map((workflow) => workflow.name).join('; ')}`);
	say(`  n8n data:      ${DATA_DIR} (kept when the demo stops; npm run demo -- --fresh starts over)`);
	say(`  n8n log:       ${N8N_LOG}`);
	say();
	say('  Press Ctrl-C to stop n8n and the demo.');
}

main().catch((error: unknown) => {
	// A step cut short by Ctrl-C fails; that is no news.
	if (stopping) return;
	void shutdown(1, `The demo failed: ${error instanceof Error ? error.message : String(error)}`);
});
