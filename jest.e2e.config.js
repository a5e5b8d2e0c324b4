/**
 * End-to-end tests in a real n8n (`npm run test:e2e`), kept apart from `npm test`:
 * the files end in `.e2e.ts`, which the unit config's `*.test.ts` pattern never picks up.
 * @type {import('jest').Config}
 */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['**/*.e2e.ts'],
	// Queue mode (PostgreSQL, Redis, a main and two worker n8n processes) is its own step,
	// `npm run test:queue` (also in .ci/run), so its servers and its time show apart from the rest.
	// The cloud edition's Chat Model file installs the cloud edition whatever N8N_E2E_EDITION says:
	// it runs with the cloud edition's runs (`npm run test:e2e:cloud`, `test:e2e:cloud:newest`) only.
	testPathIgnorePatterns: [
		...(process.env.N8N_E2E_QUEUE ? [] : ['/queue-mode\\.e2e\\.ts$']),
		...(process.env.N8N_E2E_EDITION === 'cloud' ? [] : ['/cloud-chat-model\\.e2e\\.ts$']),
	],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	// The first run on a fresh clone installs n8n (about 6-7 minutes, into the cache `npm run demo` uses) inside beforeAll.
	testTimeout: 20 * 60_000,
	// One n8n at a time: each CLI start takes seconds of CPU, and the machines have 2 cores.
	maxWorkers: 1,
};
