import type { INodeProperties } from 'n8n-workflow';

/** Simplify Output of both generation nodes (the tuning options are in options/table.ts). */
export const simplifyParameter: INodeProperties = {
	displayName: 'Simplify Output',
	name: 'simplify',
	type: 'boolean',
	default: true,
	description: 'Whether to return a short result (text, finish reason, usage) instead of the whole API response',
};
