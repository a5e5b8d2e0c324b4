import type { INodeProperties } from 'n8n-workflow';

import { LmChatNebulaBlock } from '../../nodes/LmChatNebulaBlock/LmChatNebulaBlock.node';
import { NebulaBlockChat } from '../../nodes/NebulaBlockChat/NebulaBlockChat.node';
import { NebulaBlockTextGenerate } from '../../nodes/NebulaBlockTextGenerate/NebulaBlockTextGenerate.node';

describe('Chat Model node description', () => {
	it('its "connect this model" notice carries the class n8n hides while the node is connected', () => {
		const notice = new LmChatNebulaBlock().description.properties.find((property) => property.name === 'notice');
		expect(notice?.type).toBe('notice');
		expect(notice?.typeOptions).toEqual({ containerClass: 'ndv-connection-hint-notice' });
	});
});

describe('Enable Streaming', () => {
	it.each([
		['Chat Completion', new NebulaBlockChat()],
		['Text Generate', new NebulaBlockTextGenerate()],
	])('the %s node offers it as n8n\'s AI Agent does: enableStreaming, boolean, on by default', (_name, node) => {
		const options = node.description.properties.find((property) => property.name === 'options') as INodeProperties;
		const option = (options.options as INodeProperties[]).find((candidate) => candidate.name === 'enableStreaming');
		expect(option).toMatchObject({ displayName: 'Enable Streaming', type: 'boolean', default: true });
		expect(option?.description).toMatch(/^Whether to stream the answer to the chat/);
	});
});
