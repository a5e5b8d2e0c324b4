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

export function track(child: ChildProcess): void {
	liveChildren.add(child);
	child.once('exit', () => liveChildren.delete(child));
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
