/**
 * A separate process that installs a tree the way the demo does (`installTree`), and, like the
 * demo, stops npm and exits on SIGINT/SIGTERM: the installer tests interrupt and race it.
 * argv[2]: JSON { dir, version, manifest }.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { installTree } from '../../scripts/n8n-install';
import { stopStartedProcesses } from '../../scripts/processes';

const { dir, version, manifest } = JSON.parse(process.argv[2]) as { dir: string; version: string; manifest: Record<string, unknown> };

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		void stopStartedProcesses().then(() => process.exit(130));
	});
}

installTree({
	dir,
	version,
	label: 'the tiny package',
	manifest,
	progressEveryMs: 1000,
	log: (line) => process.stdout.write(`${line}\n`),
	verify: async (folder) => {
		if (!fs.existsSync(path.join(folder, 'node_modules', 'tiny-slow', 'package.json'))) throw new Error('tiny-slow is missing');
		return 'tiny-slow is there';
	},
}).then(
	({ installed }) => process.stdout.write(`DONE installed=${installed}\n`),
	(error: Error) => {
		process.stdout.write(`FAILED ${error.message}\n`);
		process.exitCode = 1;
	},
);
