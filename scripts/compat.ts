/**
 * `npm run test:compat [-- <version>...]`: the e2e checks that the package loads in n8n and that
 * every example runs (test/e2e/n8n.e2e.ts, examples.e2e.ts), on each n8n version users run, and a
 * matrix of the results. Each version is installed into the cache by its recipe first (2.3 GB and
 * 7-10 minutes each on a cold cache). The package must be built (the npm script builds it).
 *
 * n8n 1.x has no AI SDK for the Chat Model: there n8n.e2e.ts checks that the Chat Model refuses
 * with its message (it needs n8n 2.8 or newer) instead of checking its answer. The examples with
 * an AI Agent use AI Agent 3.1, which older n8n lacks (n8n then stops the whole workflow with a
 * TypeError): the tests skip them there. A skipped test shows as "n/a", explained under the matrix.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { n8nRecipe } from './n8n-install';
import * as rt from './n8n-runtime';

const VERSIONS = ['1.123.81', '2.8.4', '2.16.1', '2.41.1'];
const FILES = ['test/e2e/n8n.e2e.ts', 'test/e2e/examples.e2e.ts'];

interface JestJson {
	testResults: Array<{
		name: string;
		message: string;
		assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }>;
	}>;
}

type Cell = 'pass' | 'n/a' | 'FAIL' | 'not run';

async function runVersion(version: string, say: (line: string) => void): Promise<Map<string, Cell> | string> {
	try {
		await rt.ensureN8n({ version, log: say });
	} catch (error) {
		return `install failed: ${(error as Error).message.split('\n')[0]}`;
	}
	const outputFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'compat-')), 'jest.json');
	say(`Running ${FILES.join(', ')} on n8n ${version}...`);
	const jest = await rt.runCommand(
		process.execPath,
		[require.resolve('jest/bin/jest'), '-c', 'jest.e2e.config.js', '--json', `--outputFile=${outputFile}`, ...FILES],
		{ cwd: rt.REPO_ROOT, env: { ...process.env, N8N_E2E_VERSION: version }, timeoutMs: 60 * 60_000 },
	);
	if (!fs.existsSync(outputFile)) return `jest printed no results (exit ${jest.code ?? jest.signal}): ${rt.tail(jest.stderr, 5)}`;
	const results = JSON.parse(fs.readFileSync(outputFile, 'utf8')) as JestJson;
	const cells = new Map<string, Cell>();
	for (const file of results.testResults) {
		if (file.assertionResults.length === 0 && file.message) cells.set(`${path.basename(file.name)}: suite`, 'FAIL');
		for (const test of file.assertionResults) {
			const failure = test.failureMessages.join('\n');
			cells.set(test.fullName, test.status === 'passed' ? 'pass' : test.status === 'pending' ? 'n/a' : test.status === 'failed' ? 'FAIL' : 'not run');
			if (test.status === 'failed') say(`  n8n ${version}: ${test.fullName} failed:\n${rt.tail(failure, 15)}`);
		}
	}
	return cells;
}

async function main(): Promise<void> {
	const asked = process.argv.slice(2);
	const versions = asked.length > 0 ? asked : VERSIONS;
	const say = (line: string) => process.stdout.write(`${line}\n`);
	const columns = new Map<string, Map<string, Cell> | string>();
	for (const version of versions) columns.set(version, await runVersion(version, say));

	const rows = [...new Set([...columns.values()].flatMap((column) => (typeof column === 'string' ? [] : [...column.keys()])))];
	const header = ['Check', ...versions.map((version) => `n8n ${version} (Node ${n8nRecipe(version).node})`)];
	const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
	for (const row of rows) {
		const cells = versions.map((version) => {
			const column = columns.get(version);
			return typeof column === 'string' ? column : (column?.get(row) ?? 'not run');
		});
		lines.push(`| ${row} | ${cells.join(' | ')} |`);
	}
	say(`\nCompatibility matrix (${new Date().toISOString()}):\n\n${lines.join('\n')}\n`);
	say('n/a: skipped on that n8n. The Chat Model checks run one way or the other by version (answers on 2.8+, refuses with its message before 2.8).');
	for (const version of versions) {
		if (!rt.isN8nInstalled(version)) continue;
		for (const example of rt.readWorkflowFolder(rt.EXAMPLES_DIR)) {
			const missing = rt.missingNodeVersions(rt.n8nInstallDir(version), example);
			if (missing.length > 0) say(`n/a on n8n ${version}: ${example.id} needs ${missing.join(', ')}, which that n8n lacks`);
		}
	}
	const failed = [...columns.values()].some((column) => typeof column === 'string' || [...column.values()].includes('FAIL'));
	process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
	process.stderr.write(`${(error as Error).stack ?? error}\n`);
	process.exitCode = 1;
});
