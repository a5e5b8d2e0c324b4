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
	moduleNameMapper: { '^(?:\\.\\./)+dist/(.*)$': '<rootDir>/build/cloud/package/dist/$1' },
};
