import * as fs from 'node:fs';
import * as path from 'node:path';

import type { INodeProperties } from 'n8n-workflow';

import { NebulaBlockApi } from '../../credentials/NebulaBlockApi.credentials';
import codex from '../../nodes/NebulaBlockChat/NebulaBlockChat.node.json';
import { NebulaBlockChat } from '../../nodes/NebulaBlockChat/NebulaBlockChat.node';
import { LmChatNebulaBlock } from '../../nodes/LmChatNebulaBlock/LmChatNebulaBlock.node';
import { NebulaBlockTextGenerate } from '../../nodes/NebulaBlockTextGenerate/NebulaBlockTextGenerate.node';
import { EmbeddingsNebulaBlock } from '../../nodes/EmbeddingsNebulaBlock/EmbeddingsNebulaBlock.node';
import { NebulaBlockEmbed } from '../../nodes/NebulaBlockEmbed/NebulaBlockEmbed.node';
import { buildChatBody } from '../../nodes/shared/chat/body';
import { CREDENTIAL_TYPE } from '../../nodes/shared/connection';
import { checkOptions, optionsOf } from '../../nodes/shared/options/collection';
import { expectedNumber } from '../../nodes/shared/options/rules';
import { OPTION_TABLE, type OptionEntry, type OptionNode } from '../../nodes/shared/options/table';
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
		// The nodes spell the name out (n8n's lint reads the literal); it is the credential's own.
		expect(new NebulaBlockApi().name).toBe(CREDENTIAL_TYPE);
		expect(CREDENTIAL_TYPE).toBe('nebulaBlockApi');
		for (const node of [new NebulaBlockChat(), new NebulaBlockTextGenerate(), new LmChatNebulaBlock()]) {
			const [credential] = node.description.credentials ?? [];
			expect(credential).toEqual({ name: 'nebulaBlockApi', required: true, testedBy: 'nebulaBlockApiTest' });
			expect(node.methods.credentialTest.nebulaBlockApiTest).toBe(nebulaBlockApiTest);
		}
	});

	it('has exactly the options of the option table that name it, in alphabetical order', () => {
		expect(optionList.map((option) => option.name).sort()).toEqual(
			Object.entries(OPTION_TABLE)
				.filter(([, entry]) => 'chatCompletion' in entry.offeredBy)
				.map(([name]) => name)
				.sort(),
		);
		const names = optionList.map((option) => option.displayName);
		expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
	});

	it('gives a valid request when every option is added with its default', () => {
		const defaults = Object.fromEntries(optionList.map((option) => [option.name, option.default]));
		const checked = checkOptions('chatCompletion', defaults);
		if (!checked.ok) throw new Error(checked.message);
		const { body } = buildChatBody({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], options: checked.values });
		expect(body).toMatchObject({ model: 'm', max_tokens: 1024, temperature: 1, top_p: 1, n: 1, tool_choice: 'auto' });
		expect(body).not.toHaveProperty('response_format');
		expect((body.tools as unknown[]).length).toBe(1);
	});
});

describe('Options collections from the option table', () => {
	const collections = {
		chatCompletion: new NebulaBlockChat().description.properties,
		textGenerate: new NebulaBlockTextGenerate().description.properties,
		chatModel: new LmChatNebulaBlock().description.properties,
		embeddings: new EmbeddingsNebulaBlock().description.properties,
		embed: new NebulaBlockEmbed().description.properties,
	} satisfies Record<OptionNode, INodeProperties[]>;

	it.each(Object.keys(collections) as OptionNode[])('%s: each field as the table declares it, with the node\'s own default, sorted', (node) => {
		const options = (collections[node].find((property) => property.name === 'options') as INodeProperties).options as INodeProperties[];
		const expected = optionsOf(node).map(({ field }) => field);
		expect([...options].sort(byName)).toEqual([...expected].sort(byName));
		const names = options.map((option) => option.displayName);
		expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
	});

	it('Text Generate shows the service\'s defaults (256 / 0.7 / 1); the others the table\'s', () => {
		const defaults = (node: OptionNode) => Object.fromEntries(optionsOf(node).map(({ name, field }) => [name, field.default]));
		expect(defaults('textGenerate')).toMatchObject({ maxTokens: 256, temperature: 0.7, topP: 1, stream: true });
		expect(defaults('chatCompletion')).toMatchObject({ maxTokens: 1024, temperature: 1, topP: 1, stream: true });
		expect(defaults('chatModel')).toMatchObject({ maxTokens: 1024, temperature: 1, topP: 1, timeout: 600, maxRetries: 2 });
	});

	it('every number field states its range the way its rule reads it, and every option says where it goes', () => {
		for (const [name, entry] of Object.entries(OPTION_TABLE) as Array<[string, OptionEntry]>) {
			const routes = [entry.bodyKey, entry.builtInto, entry.readBy].filter((route) => route !== undefined);
			expect([name, routes.length]).toEqual([name, 1]);
			if (entry.field.type === 'number') expect([name, expectedNumber(entry.field)]).toEqual([name, expect.stringMatching(/^a (whole )?number/)]);
		}
	});

	// n8n-nodes-base's lint checks the table's field literals, but not a node's variant (another
	// description or default, spread in by optionsOf): these are its rules, on the fields as built.
	it.each(Object.keys(collections) as OptionNode[])('%s: every field as built keeps n8n\'s conventions', (node) => {
		for (const { field } of optionsOf(node)) {
			const description = field.description ?? '';
			expect([field.name, /^[A-Z]/.test(description)]).toEqual([field.name, true]);
			if (field.type === 'boolean') expect([field.name, description]).toEqual([field.name, expect.stringMatching(/^Whether /)]);
			// One sentence ends without a period; several keep theirs.
			if (!/\. \S/.test(description)) expect([field.name, description.endsWith('.')]).toEqual([field.name, false]);
			if (field.placeholder !== undefined) expect([field.name, field.placeholder]).toEqual([field.name, expect.stringMatching(/^e\.g\. /)]);
			for (const word of field.displayName.split(' ').filter((word) => !['of', 'and', 'or', 'the'].includes(word))) {
				expect([field.name, word]).toEqual([field.name, expect.stringMatching(/^[A-Z(]/)]);
			}
		}
	});

	it('the README lists every option of every node\'s form', () => {
		const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
		const sections: Record<OptionNode, string> = {
			chatCompletion: section(readme, '## Nebula Block Chat Completion', '**Options**'),
			textGenerate: section(readme, '## Nebula Block Text Generate', '**Options**'),
			chatModel: section(readme, '## Nebula Block Chat Model', 'Options:'),
			embeddings: section(readme, '## Embeddings (vector stores', 'The **Model** list'),
			embed: section(readme, '## Embeddings (vector stores', 'The **Model** list'),
		};
		for (const node of Object.keys(sections) as OptionNode[]) {
			const missing = optionsOf(node)
				.map(({ field }) => field.displayName.replace(/ \((Seconds|Milliseconds)\)$/, ''))
				.filter((name) => !sections[node].includes(name));
			expect([node, missing]).toEqual([node, []]);
		}
	});
});

const byName = (a: INodeProperties, b: INodeProperties) => a.name.localeCompare(b.name);

/** The paragraph of the README that starts at `marker` inside the section headed `heading`. */
function section(readme: string, heading: string, marker: string): string {
	const start = readme.indexOf(heading);
	const from = readme.indexOf(marker, start);
	const end = readme.indexOf('\n\n', from);
	expect(start).toBeGreaterThanOrEqual(0);
	expect(from).toBeGreaterThan(start);
	return readme.slice(from, end).replace(/\s+/g, ' ');
}
