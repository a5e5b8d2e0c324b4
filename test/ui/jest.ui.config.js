/**
 * The editor test in a real browser (`npm run test:ui`), kept apart from `npm test` and `npm run test:e2e`:
 * the files end in `.ui.ts`, which neither of the other configs picks up.
 * @type {import('jest').Config}
 */
module.exports = {
	rootDir: '../..',
	testEnvironment: 'node',
	roots: ['<rootDir>/test/ui'],
	testMatch: ['**/*.ui.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	// Steps wait at most 30 s each (Playwright); whole tests get their own limits in the test file.
	testTimeout: 90_000,
	// One n8n and one browser at a time: the machines have 2 cores.
	maxWorkers: 1,
};
