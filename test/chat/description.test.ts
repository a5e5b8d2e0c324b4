import type { INodeProperties } from 'n8n-workflow';

import codex from '../../nodes/NebulaBlockChat/NebulaBlockChat.node.json';
import { NebulaBlockChat } from '../../nodes/NebulaBlockChat/NebulaBlockChat.node';
import { LmChatNebulaBlock } from '../../nodes/LmChatNebulaBlock/LmChatNebulaBlock.node';
import { NebulaBlockTextGenerate } from '../../nodes/NebulaBlockTextGenerate/NebulaBlockTextGenerate.node';
import { buildChatBody } from '../../nodes/shared/chat/body';
import { nebulaBlockApiTest } from '../../nodes/shared/methods/testCredential';

const { description } = new NebulaBlockChat();
const options = description.properties.find((property) => property.name === 'options') as INodeProperties;
const optionList = options.options as INodeProperties[];

describe('Chat Completion node description', () => {
	it('is found as "Nebula Block", shows the model, works as an AI tool, and needs the credential', () => {
		expect(description.name).toBe('nebulaBlockChat');
		expect(description.displayName).toMatch(/^Nebula Block /);
		expect(description.subtitle).toContain('$parameter["model"]');
		expect(description.usableAsTool).toBe(true);
		expect(description.icon).toEqual({ light: 'file:../../icons/nebula.svg', dark: 'file:../../icons/nebula.dark.svg' });
		expect(description.credentials).toEqual([{ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' }]);
		expect(codex.node).toBe('n8n-nodes-nebula-block.nebulaBlockChat');
		expect(codex.categories).toEqual(['AI']);
		expect(codex.alias).toContain('Nebula Block');
	});

	it('every node that takes the credential can test it: n8n asks whichever node it finds first', () => {
		for (const node of [new NebulaBlockChat(), new NebulaBlockTextGenerate(), new LmChatNebulaBlock()]) {
			const [credential] = node.description.credentials ?? [];
			expect(credential).toEqual({ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' });
			expect(node.methods.credentialTest.nebulaBlockApiTest).toBe(nebulaBlockApiTest);
		}
	});

	it('has exactly the options the code reads, in alphabetical order', () => {
		expect(optionList.map((option) => option.name).sort()).toEqual(
			[
				// buildChatBody
				'additionalBodyFields',
				'endpoint',
				'frequencyPenalty',
				'jsonSchema',
				'jsonSchemaName',
				'maxTokens',
				'numberOfChoices',
				'presencePenalty',
				'promptTruncateLength',
				'responseFormat',
				'seed',
				'stop',
				'temperature',
				'toolChoice',
				'toolChoiceFunction',
				'tools',
				'topP',
				// the operation, the runner and the request policy
				'parseJsonOutput',
				'reasoning',
				'stream',
				'enableStreaming',
				'concurrency',
				'batchDelay',
				'timeout',
				'maxRetries',
			].sort(),
		);
		const names = optionList.map((option) => option.displayName);
		expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
	});

	it('gives a valid request when every option is added with its default', () => {
		const defaults = Object.fromEntries(optionList.map((option) => [option.name, option.default]));
		const body = buildChatBody({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], options: defaults });
		expect(body).toMatchObject({ model: 'm', max_tokens: 1024, temperature: 1, top_p: 1, n: 1, tool_choice: 'auto' });
		expect(body).not.toHaveProperty('response_format');
		expect((body.tools as unknown[]).length).toBe(1);
	});
});
