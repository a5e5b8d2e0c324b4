/**
 * `npm run demo` in a real run: closing the terminal (SIGHUP) and Ctrl-C (SIGINT) leave no n8n
 * process and no port held, and a second run keeps n8n's data (owner, workflows).
 * The demo runs as its own process group, as a terminal job does; the signal goes to that group,
 * which n8n is not in (the demo starts it in its own group), so only the demo can stop it.
 * The tests share one data folder and run in order, as one user's successive runs: the second and
 * third expect what the first left. The changed-examples test has its own data folder and its own
 * copy of examples/ (DEMO_EXAMPLES_DIR), which it changes between runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import * as rt from '../../scripts/n8n-runtime';

const DEMO_SCRIPT = path.join(rt.REPO_ROOT, 'scripts', 'demo.ts');
const CRASH_PRELOAD = path.join(__dirname, 'support', 'crash-when-told.js');
const EXAMPLE_COUNT = rt.readWorkflowFolder(rt.EXAMPLES_DIR).length;

let dataDir: string;
/** Demo runs still going when a test fails: stopped after it, so no n8n outlives the suite. */
const running = new Set<DemoRun>();

beforeAll(async () => {
	// The first run on a fresh clone installs n8n here rather than inside the demo's wait.
	await rt.ensureN8n({ log: (line) => process.stdout.write(`${line}\n`) });
	dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-'));
});

afterEach(async () => {
	for (const demo of running) {
		if (demo.child.exitCode === null) {
			process.kill(-demo.child.pid!, 'SIGTERM');
			await demo.exit;
		}
	}
	running.clear();
});

afterAll(() => {
	fs.rmSync(dataDir, { recursive: true, force: true });
});

interface DemoRun {
	child: ChildProcess;
	port: number;
	output(): string;
	exit: Promise<number | null>;
}

async function startDemo(
	options: { crashFile?: string; args?: string[]; example?: string; dataDir?: string; env?: Record<string, string> } = {},
): Promise<DemoRun> {
	const port = await rt.freePort();
	const preload = options.crashFile ? ['--require', CRASH_PRELOAD] : [];
	const child = spawn(process.execPath, [...preload, '--import', 'tsx', DEMO_SCRIPT, ...(options.args ?? [])], {
		cwd: rt.REPO_ROOT,
		env: {
			...process.env,
			DEMO_PORT: String(port),
			DEMO_DATA_DIR: options.dataDir ?? dataDir,
			DEMO_EXAMPLE: options.example ?? 'none',
			...(options.crashFile ? { DEMO_TEST_CRASH_FILE: options.crashFile } : {}),
			...options.env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true,
	});
	let output = '';
	child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	const demo = { child, port, output: () => output, exit };
	running.add(demo);
	return demo;
}

async function waitForReady(demo: DemoRun): Promise<void> {
	for (;;) {
		if (demo.output().includes('n8n is ready')) return;
		if (demo.child.exitCode !== null) throw new Error(`The demo exited before n8n was ready:\n${demo.output()}`);
		await rt.sleep(250);
	}
}

/** Every process, with its parent and process group, from /proc. */
function processTable(): Array<{ pid: number; ppid: number; pgid: number; command: string }> {
	return fs.readdirSync('/proc').flatMap((name) => {
		if (!/^\d+$/.test(name)) return [];
		try {
			const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
			const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			const command = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
			return [{ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), command }];
		} catch {
			return [];
		}
	});
}

/** The n8n the demo started: its child running `n8n start`, leader of its own process group. */
function n8nOf(demo: DemoRun): number {
	const n8n = processTable().find((entry) => entry.ppid === demo.child.pid && entry.command.includes('n8n start'));
	if (!n8n) throw new Error(`No n8n child of the demo (pid ${demo.child.pid})`);
	expect(n8n.pgid).toBe(n8n.pid);
	return n8n.pid;
}

function portIsFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const probe = net.createServer();
		probe.once('error', () => resolve(false));
		probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
	});
}

async function expectAllGone(demo: DemoRun, n8nPid: number): Promise<void> {
	expect(demo.output()).toContain("Stopped. n8n's data is kept in");
	// Nothing of n8n's process group (n8n and its task runner) and nothing the demo started is left.
	const left = processTable().filter((entry) => entry.pgid === n8nPid || entry.pgid === demo.child.pid || entry.ppid === demo.child.pid);
	expect(left).toEqual([]);
	expect(await portIsFree(demo.port)).toBe(true);
}

describe('npm run demo', () => {
	it('stops n8n and frees the port when the terminal is closed (SIGHUP)', async () => {
		const demo = await startDemo();
		await waitForReady(demo);
		expect(demo.output()).toMatch(/^\[\d\d:\d\d:\d\d\] n8n data folder: .* \(new\)$/m);
		expect(demo.output()).toContain(`Owner:         created ${rt.DEMO_OWNER.email}`);
		expect(demo.output()).toContain(`n8n log:       ${path.join(dataDir, 'n8n.log')}`);
		const n8nPid = n8nOf(demo);

		process.kill(-demo.child.pid!, 'SIGHUP');

		expect(await demo.exit).toBe(129);
		await expectAllGone(demo, n8nPid);
		expect(demo.output()).toContain('Received SIGHUP; stopping n8n');
		expect(fs.readFileSync(path.join(dataDir, 'n8n.log'), 'utf8')).toContain('Editor is now accessible');
		// Every line the demo printed carries a time stamp.
		for (const line of demo.output().trimEnd().split('\n')) expect(line).toMatch(/^\[\d\d:\d\d:\d\d\] /);
	}, 15 * 60_000);

	it('keeps the data of the first run and stops on Ctrl-C (SIGINT)', async () => {
		const demo = await startDemo();
		await waitForReady(demo);
		expect(demo.output()).toMatch(/n8n data folder: .* \(kept from an earlier run\)/);
		expect(demo.output()).toContain(`kept ${EXAMPLE_COUNT} already in n8n`);
		// No example changed: not a word about them beyond that line.
		expect(demo.output()).not.toMatch(/Updated the example|A newer version of the example|Re-imported the example|did not record/);
		// The fake server got its port of the first run back, so the saved credential still fits.
		expect(demo.output()).toContain('Kept the credential "Nebula Block account" (the endpoint is the same as last time)');
		expect(demo.output()).toContain('(the account from an earlier run; logged in)');
		const n8nPid = n8nOf(demo);

		// The user puts their own key into the credential in the editor (the same REST call).
		const session = await rt.login(`http://127.0.0.1:${demo.port}`);
		const fakeUrl = /fake Nebula Block server at (\S+)/.exec(demo.output())![1];
		const edited = await fetch(`http://127.0.0.1:${demo.port}/rest/credentials/${rt.EXAMPLE_CREDENTIAL.id}`, {
			method: 'PATCH',
			headers: { cookie: session.cookie, 'content-type': 'application/json' },
			body: JSON.stringify({
				name: rt.EXAMPLE_CREDENTIAL.name,
				type: rt.NEBULA_CREDENTIAL_TYPE,
				data: { apiKey: 'the-users-own-key', baseUrl: fakeUrl, textGenerateUrl: fakeUrl },
			}),
		});
		expect(edited.status).toBe(200);

		process.kill(-demo.child.pid!, 'SIGINT');

		expect(await demo.exit).toBe(130);
		await expectAllGone(demo, n8nPid);
	}, 15 * 60_000);

	it('keeps a credential the user changed, and stops n8n and frees the port when the demo itself crashes (an uncaught exception)', async () => {
		const crashFile = path.join(dataDir, 'crash-now');
		// The fake server's last port is taken now, so the demo would have to point the credential
		// at a new one: it must see that the user changed it (previous test) and leave it alone.
		const lastPort = (JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-state.json'), 'utf8')) as { fakePort: number }).fakePort;
		const blocker = net.createServer();
		await new Promise<void>((resolve) => blocker.listen(lastPort, '127.0.0.1', resolve));
		const demo = await startDemo({ crashFile });
		try {
			await waitForReady(demo);
		} finally {
			blocker.close();
		}
		expect(demo.output()).not.toContain(`fake Nebula Block server at http://127.0.0.1:${lastPort}/`);
		expect(demo.output()).toContain('Kept your credential "Nebula Block account" as you changed it in n8n (the demo does not overwrite it)');
		const n8nPid = n8nOf(demo);

		fs.writeFileSync(crashFile, '');

		expect(await demo.exit).toBe(1);
		expect(demo.output()).toContain('The demo crashed: Error: injected crash for the test');
		await expectAllGone(demo, n8nPid);
	}, 15 * 60_000);

	it('starts over with --fresh, prints one line per example run, and stops on a plain kill (SIGTERM)', async () => {
		// Whatever earlier runs left (also when this test runs alone).
		const leftover = path.join(dataDir, '.n8n', 'left-by-an-earlier-run');
		fs.mkdirSync(path.dirname(leftover), { recursive: true });
		fs.writeFileSync(leftover, '');
		const demo = await startDemo({ args: ['--fresh'], example: 'exampleClassify' });
		await waitForReady(demo);
		expect(fs.existsSync(leftover)).toBe(false);
		expect(demo.output()).toContain(`--fresh: removed the n8n data of earlier runs from ${dataDir}`);
		expect(demo.output()).toMatch(/n8n data folder: .* \(new\)/);
		expect(demo.output()).toContain(`Imported ${EXAMPLE_COUNT} example workflow(s)`);
		// The sandbox answers the JSON schema, so the example succeeds: its first ticket, parsed.
		expect(demo.output()).toMatch(/^\[\d\d:\d\d:\d\d\] ✓ Nebula Block: classify support tickets \(JSON schema\): \{"ticketId":101,"category":"\w+","urgency":"\w+"\} \(\+2 more items\)$/m);
		expect(demo.output()).toContain(`Owner:         created ${rt.DEMO_OWNER.email}`);
		const n8nPid = n8nOf(demo);

		// To the demo's process only, as `kill <pid>` does.
		process.kill(demo.child.pid!, 'SIGTERM');

		expect(await demo.exit).toBe(143);
		await expectAllGone(demo, n8nPid);
	}, 15 * 60_000);
});

/** The Sticky Note's text in a workflow: what the example's new version and the user's edit change. */
function stickyText(workflow: { nodes: unknown[] }): string {
	const sticky = (workflow.nodes as Array<{ type: string; parameters: { content?: string } }>).find((node) => node.type === 'n8n-nodes-base.stickyNote');
	return sticky?.parameters.content ?? '';
}

function withStickyText<T extends { nodes: unknown[] }>(workflow: T, text: string): T {
	const nodes = (workflow.nodes as Array<{ type: string; parameters: Record<string, unknown> }>).map((node) =>
		node.type === 'n8n-nodes-base.stickyNote' ? { ...node, parameters: { ...node.parameters, content: text } } : node,
	);
	return { ...workflow, nodes };
}

/** A git pull that brings a new version of an example: its file in the examples folder changes. */
function changeExampleFile(examplesDir: string, file: string, text: string): void {
	const target = path.join(examplesDir, file);
	fs.writeFileSync(target, JSON.stringify(withStickyText(rt.readWorkflowFile(target), text), null, 2));
}

async function workflowInN8n(demo: DemoRun, id: string): Promise<{ id: string; name: string; nodes: unknown[]; versionId: string }> {
	const session = await rt.login(`http://127.0.0.1:${demo.port}`);
	const response = await session.get(`/rest/workflows/${id}`);
	expect(response.status).toBe(200);
	return response.body.data;
}

async function stop(demo: DemoRun): Promise<void> {
	process.kill(demo.child.pid!, 'SIGTERM');
	expect(await demo.exit).toBe(143);
}

const stamped = (text: string) => new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');

describe('npm run demo with a kept data folder and changed examples', () => {
	// Its own data folder and a copy of examples/ it may change: the repository's files stay as they are.
	let ownDataDir: string;
	let examplesDir: string;
	const UPDATED = { id: 'exampleClassify', file: 'classify-with-json-schema.json' };
	const EDITED = { id: 'exampleSummarise', file: 'summarise-items-with-concurrency.json' };
	const REMOVED = { id: 'exampleDescribeImage', file: 'describe-image.json' };

	beforeAll(() => {
		ownDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-updates-'));
		examplesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-examples-'));
		fs.cpSync(rt.EXAMPLES_DIR, examplesDir, { recursive: true });
	});

	afterAll(() => {
		fs.rmSync(ownDataDir, { recursive: true, force: true });
		fs.rmSync(examplesDir, { recursive: true, force: true });
	});

	const run = (env: Record<string, string> = {}) => startDemo({ dataDir: ownDataDir, env: { DEMO_EXAMPLES_DIR: examplesDir, ...env } });

	it('updates an example whose file changed, keeps one the user changed in n8n and says how to get the new one, re-imports it on request, and adopts what a demo before the record imported', async () => {
		// First run: everything imported.
		const first = await run();
		await waitForReady(first);
		expect(first.output()).toMatch(stamped(`Imported ${EXAMPLE_COUNT} example workflow(s)`));
		const usersEdit = 'My own note: this workflow is mine now';
		// The user edits one example in the editor (the same REST call the editor's save makes).
		const session = await rt.login(`http://127.0.0.1:${first.port}`);
		const asImported = await workflowInN8n(first, EDITED.id);
		const saved = await fetch(`http://127.0.0.1:${first.port}/rest/workflows/${EDITED.id}`, {
			method: 'PATCH',
			headers: { cookie: session.cookie, 'content-type': 'application/json' },
			body: JSON.stringify({ nodes: withStickyText(asImported, usersEdit).nodes }),
		});
		expect(saved.status).toBe(200);
		await stop(first);

		// A pull brings new versions of two examples: one the user never touched, and the one they edited.
		changeExampleFile(examplesDir, UPDATED.file, 'Version 2 of the classify example');
		changeExampleFile(examplesDir, EDITED.file, 'Version 2 of the summarise example');
		const updatedName = rt.readWorkflowFile(path.join(examplesDir, UPDATED.file)).name;
		const editedName = rt.readWorkflowFile(path.join(examplesDir, EDITED.file)).name;

		const second = await run();
		await waitForReady(second);
		expect(second.output()).toMatch(stamped(`Updated the example "${updatedName}" (${UPDATED.id}) to the new version in ${examplesDir} (you had not changed it in n8n)`));
		expect(second.output()).toMatch(
			stamped(
				`A newer version of the example "${editedName}" (${EDITED.id}) is in ${examplesDir}; kept yours, which you saved or published in n8n ` +
					`(DEMO_REIMPORT=${EDITED.id} npm run demo replaces yours with it; --fresh starts everything over)`,
			),
		);
		expect(second.output()).toMatch(stamped(`Imported 0 example workflow(s); kept ${EXAMPLE_COUNT - 1} already in n8n, with any changes you made (DEMO_REIMPORT=<id>|all or --fresh imports them again)`));
		// One line each, and none about the examples that did not change.
		expect(second.output().match(/Updated the example|A newer version of the example/g)).toHaveLength(2);
		// In n8n: the untouched example is the new version, in place; the user's edit is still there.
		const updated = await workflowInN8n(second, UPDATED.id);
		expect(stickyText(updated)).toBe('Version 2 of the classify example');
		expect(stickyText(await workflowInN8n(second, EDITED.id))).toBe(usersEdit);
		await stop(second);

		// Third run: nothing new, so no word about the kept example again. An example removed from the
		// folder stays in n8n, unmentioned. DEMO_REIMPORT brings the new version over the user's.
		const thirdPlain = await run();
		await waitForReady(thirdPlain);
		expect(thirdPlain.output()).not.toMatch(/Updated the example|A newer version of the example|Re-imported the example/);
		expect((await workflowInN8n(thirdPlain, UPDATED.id)).versionId).toBe(updated.versionId);
		await stop(thirdPlain);

		fs.rmSync(path.join(examplesDir, REMOVED.file));
		const fourth = await run({ DEMO_REIMPORT: EDITED.id });
		await waitForReady(fourth);
		expect(fourth.output()).toMatch(stamped(`Re-imported the example "${editedName}" (${EDITED.id}) from ${examplesDir} over the version in n8n (DEMO_REIMPORT)`));
		expect(fourth.output()).not.toMatch(/Updated the example|A newer version of the example/);
		expect(fourth.output()).not.toContain(REMOVED.id);
		expect(stickyText(await workflowInN8n(fourth, EDITED.id))).toBe('Version 2 of the summarise example');
		expect((await workflowInN8n(fourth, REMOVED.id)).id).toBe(REMOVED.id);
		await stop(fourth);

		// A data folder of a demo from before the record (demo-state.json without it): the examples
		// in n8n are kept as they are, said once, and recorded from then on.
		const stateFile = path.join(ownDataDir, 'demo-state.json');
		const { examples: recorded, ...olderState } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { examples: Record<string, unknown> };
		expect(Object.keys(recorded)).toContain(EDITED.id);
		fs.writeFileSync(stateFile, JSON.stringify(olderState));
		const upgraded = await run();
		await waitForReady(upgraded);
		const inFolder = rt.readWorkflowFolder(examplesDir).map((workflow) => workflow.id);
		expect(upgraded.output()).toMatch(
			stamped(
				`Kept ${inFolder.length} example(s) imported by an earlier demo that did not record their version; if examples changed since, ` +
					`DEMO_REIMPORT=${inFolder.join(',')} npm run demo imports them again (over your changes)`,
			),
		);
		await stop(upgraded);
		expect(Object.keys((JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { examples: Record<string, unknown> }).examples).sort()).toEqual([...inFolder].sort());
	}, 30 * 60_000);
});
