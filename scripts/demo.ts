/**
 * `npm run demo`: n8n on http://127.0.0.1:5678 with this package installed from its tarball,
 * an owner account, the Nebula Block credential and the example workflows imported.
 *
 * Without NEBULA_API_KEY it talks to the fake Nebula Block server (a sandbox that echoes);
 * with it, to the real service. Ctrl-C stops everything it started.
 *
 * Run by `node --import tsx`, not the tsx CLI: the CLI's signal relay SIGKILLs a child that does
 * not confirm a Ctrl-C within 60 ms, which a busy 2-core machine misses, leaving n8n running.
 *
 * Environment: NEBULA_API_KEY, NEBULA_BASE_URL, NEBULA_TEXT_GENERATE_URL, DEMO_PORT (5678),
 * DEMO_EXAMPLE (the workflow id to run first), DEMO_KEEP_DATA=1 (keep the n8n user folder).
 */
import * as rt from './n8n-runtime';
import { startFakeNebula, type FakeNebula } from '../test/support/fake-nebula';

const PORT = Number(process.env.DEMO_PORT ?? 5678);
const EXAMPLE_TO_RUN = process.env.DEMO_EXAMPLE ?? 'exampleScheduledPost';
const REAL_BASE_URL = 'https://inference.nebulablock.com/v1';
const REAL_TEXT_GENERATE_URL = 'https://api.inference.nebulablock.com/v1';

const started = Date.now();
let fake: FakeNebula | undefined;
let n8n: rt.RunningN8n | undefined;
let folder: rt.UserFolder | undefined;
let stopping = false;

function say(line = ''): void {
	process.stdout.write(`${line}\n`);
}

function step(line: string): void {
	say(`[demo ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
}

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
	fake = await startFakeNebula();
	return {
		label: `the fake Nebula Block server at ${fake.url} (a sandbox that echoes; set NEBULA_API_KEY for the real service)`,
		apiKey: fake.defaultKey,
		baseUrl: fake.url,
		textGenerateUrl: fake.url,
	};
}

async function assertPortFree(port: number): Promise<void> {
	try {
		await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
	} catch {
		return;
	}
	throw new Error(`Port ${port} is in use (another n8n?). Stop it, or pick another port with DEMO_PORT=5679 npm run demo.`);
}

/** The example's result: what its last node produced, as the editor's output panel shows it. */
function printRun(run: rt.ExecutionResult | undefined, command: rt.CommandResult): void {
	if (!run) {
		say(`n8n printed no run (exit ${command.code}):\n${command.stderr.slice(-2000) || command.stdout.slice(-2000)}`);
		return;
	}
	const { runData, error, lastNodeExecuted } = run.data.resultData;
	say(`  Nodes that ran: ${Object.keys(runData).join(' -> ')}`);
	if (error) {
		say(`  The workflow failed: ${error.message}${error.description ? ` (${error.description})` : ''}`);
		return;
	}
	if (!lastNodeExecuted) return;
	const output = JSON.stringify(rt.nodeOutput(run, lastNodeExecuted), null, 2);
	say(`  Output of "${lastNodeExecuted}":\n  ${output.split('\n').join('\n  ')}`);
}

async function main(): Promise<void> {
	await assertPortFree(PORT);
	step('Preparing n8n and packing the package (the first run installs n8n: about 5 minutes)...');
	const sandbox = await rt.prepareSandbox({ log: step });
	folder = sandbox.folder;
	const endpoints = await service();
	step(`Nebula Block: ${endpoints.label}`);

	const examples = rt.readWorkflowFolder(rt.EXAMPLES_DIR);
	await rt.importCredentials(sandbox, [rt.exampleCredential(endpoints)]);
	await rt.importWorkflows(sandbox, examples);
	step(`Imported the credential "${rt.EXAMPLE_CREDENTIAL.name}" and ${examples.length} example workflows`);

	const example = examples.find((workflow) => workflow.id === EXAMPLE_TO_RUN);
	step(`Running the example "${example?.name ?? EXAMPLE_TO_RUN}" with the n8n CLI...`);
	const { run, command } = await rt.executeWorkflow(sandbox, EXAMPLE_TO_RUN);
	printRun(run, command);

	step(`Starting n8n on 127.0.0.1:${PORT}...`);
	n8n = await rt.startN8n(sandbox, { port: PORT });
	await rt.setupOwner(n8n.url, rt.DEMO_OWNER);
	say();
	say(`  n8n is ready:  ${n8n.url}`);
	say(`  Email:         ${rt.DEMO_OWNER.email}`);
	say(`  Password:      ${rt.DEMO_OWNER.password}`);
	say(`  Workflows:     ${examples.map((workflow) => workflow.name).join('; ')}`);
	say(`  n8n data:      ${folder.root}${process.env.DEMO_KEEP_DATA ? '' : ' (deleted when the demo stops; DEMO_KEEP_DATA=1 keeps it)'}`);
	say();
	say('  Press Ctrl-C to stop n8n and the demo.');
	n8n.process.once('exit', (code, signal) => {
		if (stopping) return;
		step(`n8n stopped on its own (exit ${code ?? signal}).`);
		void shutdown(1);
	});
}

async function shutdown(exitCode: number): Promise<void> {
	if (stopping) return;
	stopping = true;
	step('Stopping...');
	// n8n itself, and whatever is still starting (an import, an execution).
	await rt.stopStartedProcesses();
	await fake?.close();
	if (folder && !process.env.DEMO_KEEP_DATA) rt.removeUserFolder(folder);
	step('Stopped.');
	process.exit(exitCode);
}

// `on`, not `once`: Ctrl-C reaches us twice (from the terminal and relayed by tsx), and a second
// signal without a handler would kill us before n8n is stopped. shutdown() runs only once.
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

main().catch((error: unknown) => {
	// A step cut short by Ctrl-C fails; that is no news.
	if (stopping) return;
	process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`);
	void shutdown(1);
});
