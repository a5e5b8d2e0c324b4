/**
 * The example workflows in `examples/`, read for what a test needs to know about them: how each
 * starts, which nodes answer with JSON, which AI Agents have which tools. Plain data, no n8n.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EXAMPLES_DIR, readWorkflowFile, type WorkflowFile } from '../../scripts/n8n-runtime';

export const CHAT_NODE_TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
export const AGENT_NODE_TYPE = '@n8n/n8n-nodes-langchain.agent';
const STICKY_NOTE_TYPE = 'n8n-nodes-base.stickyNote';

/** Triggers the n8n CLI can start (`n8n execute` runs from the Manual Trigger, or the Schedule Trigger beside it). */
const CLI_TRIGGERS = ['n8n-nodes-base.manualTrigger', 'n8n-nodes-base.scheduleTrigger'];

export interface WorkflowNode {
	name: string;
	type: string;
	parameters?: Record<string, any>;
}

export interface Example {
	file: string;
	workflow: WorkflowFile;
	nodes: WorkflowNode[];
	/** Why the CLI cannot run it (a Chat Trigger or Webhook waits for a request), or undefined. */
	notRunnableBecause?: string;
}

export function readExamples(dir = EXAMPLES_DIR): Example[] {
	return fs
		.readdirSync(dir)
		.filter((name) => name.endsWith('.json'))
		.sort()
		.map((file) => {
			const workflow = readWorkflowFile(path.join(dir, file));
			const nodes = (workflow.nodes as WorkflowNode[]).filter((node) => node.type !== STICKY_NOTE_TYPE);
			return { file, workflow, nodes, notRunnableBecause: whyNotRunnable(nodes) };
		});
}

function isTrigger(node: WorkflowNode): boolean {
	return /trigger$|\.webhook$/i.test(node.type);
}

function whyNotRunnable(nodes: WorkflowNode[]): string | undefined {
	const triggers = nodes.filter(isTrigger);
	if (triggers.some((node) => CLI_TRIGGERS.includes(node.type))) return undefined;
	const names = triggers.map((node) => `${node.name} (${node.type})`).join(', ') || 'no trigger';
	return `it starts with ${names}, which waits for a request the n8n CLI cannot send`;
}

type Connections = Record<string, Record<string, Array<Array<{ node: string; type: string }>>>>;

/** The nodes connected into `target` on an AI connection, e.g. the tools of an agent. */
export function subNodesOf(example: Example, target: string, connectionType: string): WorkflowNode[] {
	const connections = example.workflow.connections as Connections;
	const names = Object.entries(connections)
		.filter(([, outputs]) => (outputs[connectionType] ?? []).flat().some((link) => link.node === target))
		.map(([source]) => source);
	return example.nodes.filter((node) => names.includes(node.name));
}

/** Nodes on the main path that nothing follows: the ones whose output is the workflow's result. */
export function lastNodes(example: Example): WorkflowNode[] {
	const connections = example.workflow.connections as Connections;
	const hasMainOutput = (name: string) => (connections[name]?.main ?? []).flat().length > 0;
	const isSubNode = (name: string) => Object.entries(connections[name] ?? {}).some(([type, links]) => type !== 'main' && links.flat().length > 0);
	return example.nodes.filter((node) => !isTrigger(node) && !hasMainOutput(node.name) && !isSubNode(node.name));
}

/** The JSON schema a Chat Completion node asks for, parsed, or undefined when it asks for none. */
export function requestedSchema(node: WorkflowNode): Record<string, any> | undefined {
	const options = node.parameters?.options ?? {};
	if (options.responseFormat !== 'json_schema') return undefined;
	const schema = typeof options.jsonSchema === 'string' ? JSON.parse(options.jsonSchema) : options.jsonSchema;
	return schema?.schema && typeof schema.type !== 'string' ? schema.schema : schema;
}
