/**
 * The examples are imported into real n8n instances: a parameter the node does not define is
 * dropped without a word, and a value that is not one of a field's options shows as an issue.
 * Every parameter the examples set on this package's nodes must exist, with a value the field offers.
 */
import type { INodeProperties, INodePropertyOptions, INodeType } from 'n8n-workflow';

import { EmbeddingsNebulaBlock } from '../../nodes/EmbeddingsNebulaBlock/EmbeddingsNebulaBlock.node';
import { LmChatNebulaBlock } from '../../nodes/LmChatNebulaBlock/LmChatNebulaBlock.node';
import { NebulaBlockChat } from '../../nodes/NebulaBlockChat/NebulaBlockChat.node';
import { NebulaBlockEmbed } from '../../nodes/NebulaBlockEmbed/NebulaBlockEmbed.node';
import { NebulaBlockTextGenerate } from '../../nodes/NebulaBlockTextGenerate/NebulaBlockTextGenerate.node';
import { readExamples } from './example-workflows';

const PACKAGE_PREFIX = 'n8n-nodes-nebula-block.';
const NODE_TYPES: Record<string, INodeType> = {
	nebulaBlockChat: new NebulaBlockChat(),
	nebulaBlockTextGenerate: new NebulaBlockTextGenerate(),
	lmChatNebulaBlock: new LmChatNebulaBlock(),
	embeddingsNebulaBlock: new EmbeddingsNebulaBlock(),
	nebulaBlockEmbed: new NebulaBlockEmbed(),
};
/** n8n adds these to a node used as a tool (`<type>Tool`). */
const TOOL_PARAMETERS = ['toolDescription', 'descriptionType'];

function problemsIn(values: Record<string, unknown>, properties: INodeProperties[], where: string): string[] {
	const problems: string[] = [];
	for (const [name, value] of Object.entries(values)) {
		const matching = properties.filter((property) => property.name === name);
		if (matching.length === 0) {
			problems.push(`${where}.${name} is not a parameter of the node`);
			continue;
		}
		for (const property of matching.filter((candidate) => candidate.type === 'options')) {
			const allowed = (property.options as INodePropertyOptions[]).map((option) => option.value);
			if (!(typeof value === 'string' && value.startsWith('=')) && !allowed.includes(value as string)) {
				problems.push(`${where}.${name} is ${JSON.stringify(value)}, not one of ${JSON.stringify(allowed)}`);
			}
		}
		const collection = matching.find((candidate) => candidate.type === 'collection');
		if (collection && typeof value === 'object' && value !== null) {
			problems.push(...problemsIn(value as Record<string, unknown>, collection.options as INodeProperties[], `${where}.${name}`));
		}
	}
	return problems;
}

describe('the examples set only parameters the nodes define', () => {
	const uses = readExamples().flatMap((example) =>
		example.nodes
			.filter((node) => node.type.startsWith(PACKAGE_PREFIX))
			.map((node) => ({ example: example.file, node })),
	);

	it('finds a parameter the node lacks and a value a field does not offer', () => {
		const properties = NODE_TYPES.nebulaBlockChat.description.properties;
		expect(problemsIn({ simplify: true, options: { responseFormat: 'yaml', maxTokenz: 5 } }, properties, 'Chat')).toEqual([
			'Chat.options.responseFormat is "yaml", not one of ["text","json_object","json_schema"]',
			'Chat.options.maxTokenz is not a parameter of the node',
		]);
	});

	it.each(uses.map((use) => [`${use.example}: ${use.node.name}`, use] as const))('%s', (_label, { node }) => {
		const typeName = node.type.slice(PACKAGE_PREFIX.length);
		const isTool = typeName.endsWith('Tool') && !(typeName in NODE_TYPES);
		const nodeType = NODE_TYPES[isTool ? typeName.slice(0, -'Tool'.length) : typeName];
		expect(nodeType).toBeDefined();
		const parameters = { ...(node.parameters ?? {}) };
		if (isTool) for (const name of TOOL_PARAMETERS) delete parameters[name];
		expect(problemsIn(parameters, nodeType.description.properties, node.name)).toEqual([]);
	});
});
