import type { INode } from 'n8n-workflow';

/** A workflow node of one of this package's types, for code that needs an INode to name in its errors. */
export function packageNode(type: string, name: string): INode {
	return { id: `${type}-node`, name, type: `n8n-nodes-nebula-block.${type}`, typeVersion: 1, position: [0, 0], parameters: {} };
}
