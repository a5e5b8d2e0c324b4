import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { lastNodes, readExamples, requestedSchema, subNodesOf } from './example-workflows';

function workflowWith(id: string, trigger: string) {
	return {
		id,
		name: id,
		nodes: [
			{ name: 'Start', type: trigger, parameters: {} },
			{ name: 'Answer', type: 'n8n-nodes-nebula-block.nebulaBlockChat', parameters: {} },
			{ name: 'Note', type: 'n8n-nodes-base.stickyNote', parameters: {} },
		],
		connections: { Start: { main: [[{ node: 'Answer', type: 'main', index: 0 }]] } },
	};
}

describe('readExamples', () => {
	it('runs examples that start with a Manual or Schedule Trigger and names why others cannot run', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
		try {
			const files = {
				'a-manual.json': workflowWith('a', 'n8n-nodes-base.manualTrigger'),
				'b-chat.json': workflowWith('b', '@n8n/n8n-nodes-langchain.chatTrigger'),
				'c-webhook.json': workflowWith('c', 'n8n-nodes-base.webhook'),
				'd-schedule.json': workflowWith('d', 'n8n-nodes-base.scheduleTrigger'),
				'notes.txt': 'not a workflow',
			};
			for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
			const examples = readExamples(dir);
			expect(examples.map((example) => [example.file, example.notRunnableBecause])).toEqual([
				['a-manual.json', undefined],
				['b-chat.json', expect.stringContaining('Start (@n8n/n8n-nodes-langchain.chatTrigger)')],
				['c-webhook.json', expect.stringContaining('Start (n8n-nodes-base.webhook)')],
				['d-schedule.json', undefined],
			]);
			expect(examples[0].nodes.map((node) => node.name)).toEqual(['Start', 'Answer']);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('the examples in examples/', () => {
	const examples = readExamples();
	const byFile = (file: string) => {
		const example = examples.find((candidate) => candidate.file === file);
		if (!example) throw new Error(`${file} is missing`);
		return example;
	};

	it('finds the agents’ tools and models, the last nodes and the requested schema', () => {
		const agent = byFile('ai-agent-with-nebula-tool.json');
		expect(subNodesOf(agent, 'AI Agent', 'ai_tool').map((node) => node.name)).toEqual(['Copywriter']);
		expect(subNodesOf(agent, 'AI Agent', 'ai_languageModel').map((node) => node.name)).toEqual(['Nebula Block Chat Model']);
		expect(lastNodes(agent).map((node) => node.name)).toEqual(['AI Agent']);

		const classify = byFile('classify-with-json-schema.json');
		expect(lastNodes(classify).map((node) => node.name)).toEqual(['Ticket and Category']);
		const classifier = classify.nodes.find((node) => node.name === 'Classify Ticket');
		expect(requestedSchema(classifier!)).toMatchObject({ required: ['category', 'urgency'] });
		expect(requestedSchema(byFile('summarise-items-with-concurrency.json').nodes.find((node) => node.name === 'Summarise')!)).toBeUndefined();
	});
});
