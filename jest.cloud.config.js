/**
 * The node test suite against the cloud edition (scripts/cloud-edition.ts builds it into
 * build/cloud/package): the same tests, n8n-core's engine, the fake server over a real socket.
 * The harness loads the cloud package (NEBULA_EDITION), and tests that reach into the build
 * (`../../dist/...`) get the cloud build's module instead.
 */
const base = require('./jest.config.js');

process.env.NEBULA_EDITION = 'cloud';

/** @type {import('jest').Config} */
module.exports = {
	...base,
	testMatch: ['**/*.node.test.ts'],
	// The main edition's Chat Model path (its fetch through the shared limiter and retry engine):
	// the cloud edition's Chat Model comes from n8n's supplyModel instead (supply.cloud.test.ts,
	// test/e2e/cloud-chat-model.e2e.ts).
	testPathIgnorePatterns: ['/node_modules/', 'test/chat-model/limiter\\.node\\.test\\.ts', 'test/chat-model/retries\\.node\\.test\\.ts'],
	moduleNameMapper: { '^(?:\\.\\./)+dist/(.*)$': '<rootDir>/build/cloud/package/dist/$1' },
};
