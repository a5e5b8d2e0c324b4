/**
 * Child processes for the scripts and tests that run n8n and npm: every child gets its own process
 * group, so a terminal's Ctrl-C reaches only us, and `stopStartedProcesses` ends them all (with
 * their own children, such as n8n's task runner or npm's install scripts).
 * Plain node built-ins only.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CommandResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	ms: number;
}

export interface RunOptions {
	cwd?: string;
	env?: NodeJS.ProcessEnv;
	timeoutMs?: number;
	/** Receives output as it arrives (long installs); the result still holds all of it. */
	onOutput?: (chunk: string) => void;
}

/** Every process group this module started and that is still running. */
const liveChildren = new Set<ChildProcess>();

/**
 * `signal`: how to end this child when we die without stopping it (see `reapWhenGone`), e.g.
 * SIGINT for PostgreSQL's fast shutdown; SIGTERM by default.
 */
export function track(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
	liveChildren.add(child);
	if (child.pid !== undefined) tellReaper(`+${child.pid} ${signal}`);
	child.once('exit', () => {
		liveChildren.delete(child);
		if (child.pid !== undefined) tellReaper(`-${child.pid}`);
	});
}

/**
 * What the reaper runs: it reads `+<pid> <signal>`, `-<pid>`, `+dir <path>` and `-dir <path>`
 * lines, and when its input closes (the process that started it is gone, however it died)
 * signals each listed process group, SIGKILLs those left after 10 s, and removes the folders.
 */
const REAPER_SOURCE = `
const fs = require('node:fs');
const groups = new Map();
const dirs = new Set();
let buffered = '';
process.stdin.on('data', (chunk) => {
	buffered += chunk;
	const lines = buffered.split('\\n');
	buffered = lines.pop();
	for (const line of lines) {
		const [op, what, arg] = [line[0], ...line.slice(1).split(' ')];
		if (what === 'dir') op === '+' ? dirs.add(line.slice(5)) : dirs.delete(line.slice(5));
		else op === '+' ? groups.set(Number(what), arg) : groups.delete(Number(what));
	}
});
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
process.stdin.on('end', async () => {
	for (const [pid, signal] of groups) try { process.kill(-pid, signal); } catch {}
	for (let waited = 0; waited < 10000 && [...groups.keys()].some(alive); waited += 200) await new Promise((r) => setTimeout(r, 200));
	for (const pid of groups.keys()) try { process.kill(-pid, 'SIGKILL'); } catch {}
	for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
`;

let reaper: ChildProcess | undefined;

function tellReaper(line: string): void {
	if (reaper?.stdin?.writable) reaper.stdin.write(`${line}\n`);
}

/**
 * Starts (once) a detached watcher that ends every process tracked from now on, and removes the
 * folders given to `removeWhenGone`, if this process dies without doing it: jest, for one, dies
 * on Ctrl-C without running afterAll, and a test cannot add a signal handler to jest's real
 * process. The watcher learns that we are gone when its stdin (a pipe from us) closes.
 */
export function reapWhenGone(): void {
	if (reaper) return;
	reaper = spawn(process.execPath, ['-e', REAPER_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
	// Neither the watcher nor its pipe keeps us alive.
	reaper.unref();
	(reaper.stdin as unknown as { unref?: () => void }).unref?.();
	for (const child of liveChildren) if (child.pid !== undefined) tellReaper(`+${child.pid} SIGTERM`);
}

/** A folder the reaper removes if we die first; `keep` takes it off that list. */
export function removeWhenGone(dir: string, keep = false): void {
	tellReaper(`${keep ? '-' : '+'}dir ${dir}`);
}

/** Process ids of the started children still running (each is also its process group id). */
export function startedProcessIds(): number[] {
	return [...liveChildren].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}

let stopRequested = false;

/** Whether `stopStartedProcesses` was called: progress reports about a child being ended are noise. */
export function isStopping(): boolean {
	return stopRequested;
}

/**
 * Ends every process this module started (and their children), for signal handlers: SIGTERM,
 * then SIGKILL for those still running after the grace period (an n8n import ignores SIGTERM).
 */
export async function stopStartedProcesses(graceMs = 10_000): Promise<void> {
	stopRequested = true;
	const children = [...liveChildren];
	const exits = children.map((child) => exitOf(child));
	for (const child of children) killGroup(child, 'SIGTERM');
	if (await settlesWithin(Promise.all(exits), graceMs)) return;
	for (const child of children) killGroup(child, 'SIGKILL');
	await Promise.all(exits);
}

/**
 * Last resort when this process is about to die without waiting (process 'exit', a second
 * Ctrl-C): SIGKILL every started process group at once, synchronously.
 */
export function killStartedProcessesNow(): void {
	for (const child of liveChildren) killGroup(child, 'SIGKILL');
}

export function exitOf(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Runs a command to its end. Its process group is killed on timeout, so no grandchild outlives it. */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
	const started = Date.now();
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, {
			cwd: options.cwd,
			env: options.env ?? process.env,
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: true,
		});
		track(child);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString('utf8');
			options.onOutput?.(chunk.toString('utf8'));
		});
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString('utf8');
			options.onOutput?.(chunk.toString('utf8'));
		});
		const timer = options.timeoutMs
			? setTimeout(() => killGroup(child, 'SIGKILL'), options.timeoutMs)
			: undefined;
		child.on('error', (error) => {
			if (timer) clearTimeout(timer);
			reject(error);
		});
		child.on('close', (code, signal) => {
			if (timer) clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
		});
	});
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
	try {
		process.kill(-child.pid, signal);
	} catch {
		// Already gone.
	}
}

export function npmCommand(): string {
	return process.platform === 'win32' ? 'npm.cmd' : 'npm';
}

export function tail(text: string, lines = 30): string {
	return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether the promise settles in time; its timer never keeps the process alive afterwards. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<false>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
	});
	try {
		return await Promise.race([promise.then(() => true as const), timeout]);
	} finally {
		clearTimeout(timer);
	}
}
