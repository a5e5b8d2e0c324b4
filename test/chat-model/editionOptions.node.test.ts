/**
 * What each edition's Chat Model form offers, read from the node n8n loads (the main package, or
 * the cloud one under jest.cloud.config.js): an option an edition cannot honour is not offered.
 */
import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';

import { packageNodeTypes } from '../support/n8n-harness';

const CLOUD = process.env.NEBULA_EDITION === 'cloud';

function chatModelOptions(): string[] {
	const description = packageNodeTypes().getByName('n8n-nodes-nebula-block.lmChatNebulaBlock').description as INodeTypeDescription;
	const options = description.properties.find((property) => property.name === 'options') as INodeProperties;
	return (options.options as INodeProperties[]).map((option) => option.name);
}

it(`the Chat Model offers Max Retries ${CLOUD ? 'not in the cloud edition (its model cannot retry)' : 'in the main edition'}, and the Timeout in both`, () => {
	const names = chatModelOptions();
	expect(names).toContain('timeout');
	if (CLOUD) expect(names).not.toContain('maxRetries');
	else expect(names).toContain('maxRetries');
});
