/**
 * Lint for what the package ships: nodes/, credentials/ and package.json, with two rule sets.
 * - eslint-plugin-n8n-nodes-base (pinned at 1.15.0: from 1.16.0 its install runs `npx only-allow pnpm`,
 *   which fails `npm ci` here), the rules n8n-nodes-starter applies, for the form's conventions.
 * - @n8n/eslint-plugin-community-nodes, its non-cloud configuration: the rules n8n's scanner
 *   checks community packages with today. It needs ESLint 9 and flat config, so this file is both.
 * Every rule turned off here or on a line says why.
 */
import tsParser from '@typescript-eslint/parser';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';
import { configs as communityConfigs } from '@n8n/eslint-plugin-community-nodes';

const community = communityConfigs.recommendedWithoutN8nCloudSupport;

/** The eslintrc-style presets of n8n-nodes-base, reduced to their rules for flat config. */
const nodesBaseRules = (preset) => n8nNodesBase.configs[preset].rules;

export default [
	// The cloud edition's files (*.cloud.ts) are linted where they belong, in its staged source
	// (scripts/cloud-edition.ts), with the cloud rules.
	{ ignores: ['dist/**', 'build/**', 'node_modules/**', 'test/**', 'scripts/**', '**/*.js', '**/*.mjs', '**/*.cloud.ts'] },
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		languageOptions: {
			parser: tsParser,
			parserOptions: { project: ['./tsconfig.json'], sourceType: 'module' },
		},
	},
	{
		files: ['package.json'],
		languageOptions: {
			parser: tsParser,
			parserOptions: { project: null, extraFileExtensions: ['.json'] },
		},
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...nodesBaseRules('community'),
			'n8n-nodes-base/community-package-json-name-still-default': 'off',
		},
	},
	{
		files: ['credentials/**/*.ts'],
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...nodesBaseRules('credentials'),
			'n8n-nodes-base/cred-class-field-documentation-url-missing': 'off',
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...nodesBaseRules('nodes'),
			// Continue On Fail lives in the shared item runner (nodes/shared/runner.ts), not in each execute().
			'n8n-nodes-base/node-execute-block-missing-continue-on-fail': 'off',
			'n8n-nodes-base/node-resource-description-filename-against-convention': 'off',
			'n8n-nodes-base/node-param-fixed-collection-type-unsorted-items': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'],
		...community,
		ignores: [],
	},
	{
		// JSON has no comments, so package.json's exceptions are here.
		files: ['package.json'],
		rules: {
			// undici is the one deliberate runtime dependency: the transport's pooled keep-alive
			// connections, streamed bodies and timeouts are built on its dispatcher API (see
			// nodes/shared/transport/), which n8n's own helpers do not offer.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
];
