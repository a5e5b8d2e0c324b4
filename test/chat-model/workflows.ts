/**
 * Workflows around the Nebula Block Chat Model for the real-n8n tests, built in code so each test
 * shows the exact parameters it runs with. Parameter shapes are those of n8n 2.8.4's own nodes
 * (Basic LLM Chain 1.9, AI Agent 3.1, Calculator 1).
 */
import type { WorkflowFile } from '../../scripts/n8n-runtime';

export const MODEL_NODE_TYPE = 'n8n-nodes-nebula-block.lmChatNebulaBlock';
export const MODEL_NODE_NAME = 'Nebula Block Chat Model';
export const CHAIN_NODE_NAME = 'Basic LLM Chain';

export interface CredentialRef {
	id: string;
	name: string;
}

export function modelNode(credential: CredentialRef, options: Record<string, unknown> = {}, model = 'fake/chat-model') {
	return {
		id: 'model-node',
		name: MODEL_NODE_NAME,
		type: MODEL_NODE_TYPE,
		typeVersion: 1,
		position: [200, 220],
		parameters: { model: { __rl: true, mode: 'id', value: model }, options },
		credentials: { nebulaBlockApi: credential },
	};
}

const manualTrigger = {
	id: 'trigger-node',
	name: 'Start',
	type: 'n8n-nodes-base.manualTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

/** Manual Trigger -> Basic LLM Chain, with the Chat Model on the chain's Model input. */
export function chainWorkflow(
	id: string,
	credential: CredentialRef,
	prompt: string,
	options: Record<string, unknown> = {},
): WorkflowFile {
	return {
		id,
		name: `Chat Model test: ${id}`,
		active: false,
		// Without it the CLI runs the workflow in the legacy order, and sub-nodes misbehave.
		settings: { executionOrder: 'v1' },
		nodes: [
			manualTrigger,
			{
				id: 'chain-node',
				name: CHAIN_NODE_NAME,
				type: '@n8n/n8n-nodes-langchain.chainLlm',
				typeVersion: 1.9,
				position: [200, 0],
				parameters: { promptType: 'define', text: prompt },
			},
			modelNode(credential, options),
		],
		connections: {
			Start: { main: [[{ node: CHAIN_NODE_NAME, type: 'main', index: 0 }]] },
			[MODEL_NODE_NAME]: { ai_languageModel: [[{ node: CHAIN_NODE_NAME, type: 'ai_languageModel', index: 0 }]] },
		},
	};
}

export const CHAT_NODE_NAME = 'Nebula Block Chat';

/**
 * Manual Trigger -> Basic LLM Chain with the Chat Model -> the Chat Completion node, both on one
 * credential: the model's calls and the node's meet the same rate limiter.
 */
export function chainThenNodeWorkflow(id: string, credential: CredentialRef, prompt: string, question: string): WorkflowFile {
	const chain = chainWorkflow(id, credential, prompt);
	const chatNode = {
		id: 'chat-node',
		name: CHAT_NODE_NAME,
		type: 'n8n-nodes-nebula-block.nebulaBlockChat',
		typeVersion: 1,
		position: [400, 0],
		parameters: {
			model: { __rl: true, mode: 'id', value: 'fake/chat-model' },
			messages: { values: [{ role: 'user', content: question }] },
			options: { stream: false, includeRateLimitStats: true },
		},
		credentials: { nebulaBlockApi: credential },
	};
	return {
		...chain,
		nodes: [...chain.nodes, chatNode],
		connections: {
			...chain.connections,
			[CHAIN_NODE_NAME]: { main: [[{ node: CHAT_NODE_NAME, type: 'main', index: 0 }]] },
		},
	};
}
