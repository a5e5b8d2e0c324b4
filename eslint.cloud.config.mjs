/**
 * Lint of the cloud edition's staged source (build/cloud/src, made by scripts/cloud-edition.ts) and
 * its package.json: @n8n/eslint-plugin-community-nodes' full recommended configuration, the n8n
 * Cloud rules included. Run with --no-inline-config: no disable comment counts here.
 */
import tsParser from '@typescript-eslint/parser';
import { configs as communityConfigs } from '@n8n/eslint-plugin-community-nodes';

export default [
	{
		files: ['build/cloud/src/**/*.ts'],
		languageOptions: {
			parser: tsParser,
			parserOptions: { project: ['./build/cloud/src/tsconfig.json'], sourceType: 'module' },
		},
	},
	{
		files: ['build/cloud/package/package.json'],
		languageOptions: { parser: tsParser, parserOptions: { project: null, extraFileExtensions: ['.json'] } },
	},
	{ ...communityConfigs.recommended, files: ['build/cloud/src/**/*.ts', 'build/cloud/package/package.json'] },
];
