/**
 * One clock: every wait, timer and deadline of the shipped code goes through nodes/shared/clock.ts,
 * the seam an edition without Node's timers swaps (see ../shared/DESIGN.md). A timer anywhere else
 * under nodes/ fails here, naming the file and line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const NODES = path.join(__dirname, '..', '..', 'nodes');
const CLOCK = path.join(NODES, 'shared', 'clock.ts');
const TIMER = /\b(?:setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|clearImmediate)\s*\(/;

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(full);
		return entry.name.endsWith('.ts') ? [full] : [];
	});
}

describe('one clock', () => {
	it('no file under nodes/ but clock.ts calls a Node timer', () => {
		const files = sourceFiles(NODES);
		expect(files).toContain(CLOCK);
		const offenders = files
			.filter((file) => file !== CLOCK)
			.flatMap((file) =>
				fs
					.readFileSync(file, 'utf8')
					.split('\n')
					.map((line, index) => ({ line, at: `${path.relative(NODES, file)}:${index + 1}` }))
					.filter(({ line }) => TIMER.test(line.replace(/\/\/.*$/, '')))
					.map(({ at }) => at),
			);
		expect(offenders).toEqual([]);
		// The check can fail: the clock itself does use them.
		expect(TIMER.test(fs.readFileSync(CLOCK, 'utf8'))).toBe(true);
	});
});
