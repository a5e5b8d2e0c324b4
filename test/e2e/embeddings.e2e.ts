/**
 * The Nebula Block Embeddings sub-node inside a real n8n (2.8.4, or N8N_E2E_VERSION; the edition
 * from N8N_E2E_EDITION): n8n's Simple Vector Store, Default Data Loader and AI Agent around it,
 * the fake Nebula Block server behind it (hashed bag-of-words vectors: texts that share words are
 * near). The Simple Vector Store keeps its documents in the n8n process, and `n8n execute` is one
 * process per run, so each workflow inserts and then queries in the same execution.
 *
 *   N8N_CACHE_DIR=... npx jest -c jest.e2e.config.js test/e2e/embeddings.e2e.ts
 */
import * as rt from '../../scripts/n8n-runtime';
import type { CredentialRef } from '../chat-model/workflows';
import { EMBEDDING_DIMENSIONS, startFakeNebula, type FakeNebula, type RecordedRequest } from '../support/fake-nebula';
import { CHAT_MODEL_NEEDS, CHAT_MODEL_REFUSAL, EDITION } from './edition';
import { executeOrThrow, expectNoKey, type RunOutcome } from './support/outcome';

const EMBEDDING_MODEL = 'BAAI/bge-large-en-v1.5';
const BATCH_SIZE = 8;
const EMBEDDINGS_NODE = 'Nebula Block Embeddings';
const LOADER_NODE = 'Default Data Loader';
const INSERT_NODE = 'Insert Documents';
const SEARCH_NODE = 'Search Documents';
const TOOL_NODE = 'Facts Store';
const AGENT_NODE = 'AI Agent';
const MODEL_NODE = 'Nebula Block Chat Model';

/** Twenty short documents on distinct topics; a question shares its distinctive words with one of them. */
export const DOCUMENTS: Array<{ id: string; text: string }> = [
	{ id: 'doc-volcano', text: 'Mount Etna on Sicily is one of the most active volcanoes in Europe, erupting several times a year.' },
	{ id: 'doc-honeybee', text: 'Honeybees tell their hive mates the direction of flowers with a waggle dance.' },
	{ id: 'doc-octopus', text: 'An octopus has three hearts and blue blood that carries oxygen with copper.' },
	{ id: 'doc-saturn', text: "Saturn's rings are made mostly of ice particles, with some rock and dust." },
	{ id: 'doc-sourdough', text: "Sourdough bread rises with a starter of wild yeast and lactic acid bacteria instead of baker's yeast." },
	{ id: 'doc-chess', text: 'In chess, castling moves the king two squares toward a rook, which jumps over it.' },
	{ id: 'doc-penguin', text: 'Emperor penguins breed during the Antarctic winter, and the males keep the egg warm on their feet.' },
	{ id: 'doc-marathon', text: 'The marathon distance of 42.195 kilometres was fixed at the 1908 London Olympics.' },
	{ id: 'doc-espresso', text: 'Espresso is brewed by forcing hot water through finely ground coffee at about nine bars of pressure.' },
	{ id: 'doc-tides', text: "Ocean tides come mainly from the gravitational pull of the Moon on the Earth's water." },
	{ id: 'doc-bamboo', text: 'Some bamboo species grow almost one metre in a single day.' },
	{ id: 'doc-violin', text: 'A violin has four strings tuned in fifths: G, D, A and E.' },
	{ id: 'doc-python', text: 'Python, the programming language, was named after the comedy group Monty Python, not the snake.' },
	{ id: 'doc-glacier', text: "Glaciers and ice sheets hold about 69 percent of the world's fresh water." },
	{ id: 'doc-origami', text: 'Origami is the Japanese art of folding a single sheet of paper into figures such as cranes.' },
	{ id: 'doc-lighthouse', text: 'The Pharos of Alexandria was an ancient lighthouse counted among the Seven Wonders of the World.' },
	{ id: 'doc-cheese', text: 'Roquefort cheese ripens in the natural Combalou caves near Roquefort-sur-Soulzon in southern France.' },
	{ id: 'doc-hummingbird', text: "A hummingbird's heart can beat more than 1,200 times per minute in flight." },
	{ id: 'doc-tea', text: 'Green tea and black tea come from the same plant, Camellia sinensis; black tea is oxidised.' },
	{ id: 'doc-bicycle', text: 'The first pedal-driven bicycle is credited to the Scottish blacksmith Kirkpatrick Macmillan around 1839.' },
];

const CREDENTIALS = {
	search: { id: 'embeddingsSearch1', name: 'Embeddings: insert and search' },
	agent: { id: 'embeddingsAgent01', name: 'Embeddings: agent' },
} satisfies Record<string, CredentialRef>;

let ctx: rt.N8nContext;
let fake: FakeNebula;
const keys = {} as Record<keyof typeof CREDENTIALS, string>;

type Node = Record<string, any>;

const node = (id: number, name: string, type: string, typeVersion: number, position: [number, number], parameters: Record<string, unknown>, extra: Node = {}): Node => ({
	id: `e3b0c442-0000-4000-8000-${String(id).padStart(12, '0')}`,
	name,
	type,
	typeVersion,
	position,
	parameters,
	...extra,
});

const memoryKey = (value: string) => ({ __rl: true, mode: 'id', value });
const main = (to: string) => ({ main: [[{ node: to, type: 'main', index: 0 }]] });

/**
 * Manual Trigger -> Set (raw JSON: the documents) -> Split Out -> Simple Vector Store (insert, with
 * the Default Data Loader: one document per item, its `id` as metadata) -> Question (Set, Execute
 * Once: the insert hands on one item per document) -> `next`. The Embeddings sub-node feeds the
 * insert and every node in `embeddingsAlsoTo`.
 */
function insertThen(options: {
	id: string;
	name: string;
	credential: CredentialRef;
	store: string;
	question: string;
	next: Node[];
	nextConnections: Record<string, unknown>;
	embeddingsAlsoTo: string[];
}): rt.WorkflowFile {
	const nodes: Node[] = [
		node(1, 'Start', 'n8n-nodes-base.manualTrigger', 1, [0, 0], {}),
		node(2, 'Documents', 'n8n-nodes-base.set', 3.4, [220, 0], { mode: 'raw', jsonOutput: JSON.stringify({ documents: DOCUMENTS }), options: {} }),
		node(3, 'One Item per Document', 'n8n-nodes-base.splitOut', 1, [440, 0], { fieldToSplitOut: 'documents', options: {} }),
		node(4, INSERT_NODE, '@n8n/n8n-nodes-langchain.vectorStoreInMemory', 1.3, [660, 0], { mode: 'insert', memoryKey: memoryKey(options.store), clearStore: true }),
		node(5, LOADER_NODE, '@n8n/n8n-nodes-langchain.documentDefaultDataLoader', 1.1, [760, 220], {
			jsonMode: 'expressionData',
			jsonData: '={{ $json.text }}',
			options: { metadata: { metadataValues: [{ name: 'id', value: '={{ $json.id }}' }] } },
		}),
		node(6, EMBEDDINGS_NODE, 'n8n-nodes-nebula-block.embeddingsNebulaBlock', 1, [620, 420], { model: { __rl: true, mode: 'id', value: EMBEDDING_MODEL }, options: { batchSize: BATCH_SIZE } }, {
			credentials: { nebulaBlockApi: options.credential },
		}),
		node(7, 'Question', 'n8n-nodes-base.set', 3.4, [900, 0], { assignments: { assignments: [{ id: 'q1', name: 'question', type: 'string', value: options.question }] }, options: {} }, { executeOnce: true }),
		...options.next,
	];
	return {
		id: options.id,
		name: options.name,
		active: false,
		settings: { executionOrder: 'v1' },
		nodes,
		connections: {
			Start: main('Documents'),
			Documents: main('One Item per Document'),
			'One Item per Document': main(INSERT_NODE),
			[INSERT_NODE]: main('Question'),
			[LOADER_NODE]: { ai_document: [[{ node: INSERT_NODE, type: 'ai_document', index: 0 }]] },
			[EMBEDDINGS_NODE]: { ai_embedding: [[INSERT_NODE, ...options.embeddingsAlsoTo].map((to) => ({ node: to, type: 'ai_embedding', index: 0 }))] },
			...options.nextConnections,
		},
	};
}

const SEARCH_QUESTION = 'How many hearts does an octopus have?';
const AGENT_QUESTION = 'Where does Roquefort cheese ripen?';

function searchWorkflow(): rt.WorkflowFile {
	return insertThen({
		id: 'embeddingsInsertSearch',
		name: 'Embeddings: insert 20 documents, then search',
		credential: CREDENTIALS.search,
		store: 'nebula_e2e_search',
		question: SEARCH_QUESTION,
		next: [
			node(8, SEARCH_NODE, '@n8n/n8n-nodes-langchain.vectorStoreInMemory', 1.3, [1120, 0], {
				mode: 'load',
				memoryKey: memoryKey('nebula_e2e_search'),
				prompt: '={{ $json.question }}',
				topK: 3,
			}),
		],
		nextConnections: { Question: main(SEARCH_NODE) },
		embeddingsAlsoTo: [SEARCH_NODE],
	});
}

function agentWorkflow(): rt.WorkflowFile {
	return insertThen({
		id: 'embeddingsAgentTool',
		name: 'Embeddings: an AI Agent with the vector store as a tool',
		credential: CREDENTIALS.agent,
		store: 'nebula_e2e_agent',
		question: AGENT_QUESTION,
		next: [
			node(8, AGENT_NODE, '@n8n/n8n-nodes-langchain.agent', 3.1, [1120, 0], {
				promptType: 'define',
				text: '={{ $json.question }}',
				options: { systemMessage: 'Answer only from the facts the Facts Store tool finds.' },
			}),
			node(9, MODEL_NODE, 'n8n-nodes-nebula-block.lmChatNebulaBlock', 1, [1060, 240], { model: { __rl: true, mode: 'id', value: 'fake/chat-model' }, options: {} }, {
				credentials: { nebulaBlockApi: CREDENTIALS.agent },
			}),
			node(10, TOOL_NODE, '@n8n/n8n-nodes-langchain.vectorStoreInMemory', 1.3, [1260, 240], {
				mode: 'retrieve-as-tool',
				toolDescription: 'Finds the stored facts that answer a question',
				memoryKey: memoryKey('nebula_e2e_agent'),
				topK: 3,
			}),
		],
		nextConnections: {
			Question: main(AGENT_NODE),
			[MODEL_NODE]: { ai_languageModel: [[{ node: AGENT_NODE, type: 'ai_languageModel', index: 0 }]] },
			[TOOL_NODE]: { ai_tool: [[{ node: AGENT_NODE, type: 'ai_tool', index: 0 }]] },
		},
		embeddingsAlsoTo: [TOOL_NODE],
	});
}

const execute = async (workflowId: string): Promise<RunOutcome> => await executeOrThrow(ctx, workflowId);

function embeddingsCalls(key: string): RecordedRequest[] {
	return fake.requests(key).filter((request) => request.path === '/v1/embeddings');
}

/** The requests the 20 documents make (Batch Size texts each, in order), then the one for the question. */
function expectEmbeddingsRequests(key: string, question: string): void {
	const calls = embeddingsCalls(key);
	const batches = Math.ceil(DOCUMENTS.length / BATCH_SIZE);
	expect(calls.map((call) => (Array.isArray(call.body.input) ? call.body.input.length : 'not a list'))).toEqual([
		...Array.from({ length: batches }, (_, index) => Math.min(BATCH_SIZE, DOCUMENTS.length - index * BATCH_SIZE)),
		1,
	]);
	expect(calls.slice(0, batches).flatMap((call) => call.body.input)).toEqual(DOCUMENTS.map((doc) => doc.text));
	expect(calls[batches].body.input).toEqual([question]);
	for (const call of calls) {
		expect(call.body).toMatchObject({ model: EMBEDDING_MODEL, encoding_format: 'float' });
		expect(call.headers.authorization).toBe(`Bearer ${key}`);
	}
}

/** The sub-node's calls show on it, as n8n shows its own embeddings': the texts in, the vectors out. */
function expectEmbeddingsRunData(run: rt.ExecutionResult, question: string): void {
	const runs = run.data.resultData.runData[EMBEDDINGS_NODE] ?? [];
	expect(runs.map((nodeRun) => nodeRun.executionStatus)).toEqual(['success', 'success']);
	const inputs = runs.map((nodeRun) => (nodeRun as any).inputOverride?.ai_embedding?.[0]?.[0]?.json);
	expect(inputs).toEqual([{ documents: DOCUMENTS.map((doc) => doc.text) }, { query: question }]);
	const [documents, query] = runs.map((nodeRun) => nodeRun.data?.ai_embedding?.[0]?.[0]?.json.response);
	expect(documents).toHaveLength(DOCUMENTS.length);
	expect(documents[0]).toHaveLength(EMBEDDING_DIMENSIONS);
	expect(query).toHaveLength(EMBEDDING_DIMENSIONS);
}

beforeAll(async () => {
	ctx = await rt.prepareSandbox({ log: (line) => process.stdout.write(`${line}\n`) });
	fake = await startFakeNebula();
	for (const name of Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>) keys[name] = fake.newKey(`embeddings-${name}`);
	await rt.importCredentials(
		ctx,
		(Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>).map((name) => ({
			...CREDENTIALS[name],
			type: rt.NEBULA_CREDENTIAL_TYPE,
			data: { apiKey: keys[name], baseUrl: fake.url, textGenerateUrl: fake.url },
		})),
	);
	await rt.importWorkflows(ctx, [searchWorkflow(), agentWorkflow()]);
});

afterAll(async () => {
	await fake?.close();
	if (ctx) rt.removeUserFolder(ctx.folder);
});

describe(`Nebula Block Embeddings in n8n ${rt.e2eN8nVersion()} (${EDITION} edition)`, () => {
	test('Simple Vector Store: 20 documents inserted through the Default Data Loader, the question finds the right one first', async () => {
		const outcome = await execute('embeddingsInsertSearch');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(run.data.resultData.error).toBeUndefined();
		expect(command.code).toBe(0);

		// One item out of the insert per document, with the loader's metadata.
		const inserted = rt.nodeOutput(run, INSERT_NODE);
		expect(inserted.map((item) => item.metadata?.id)).toEqual(DOCUMENTS.map((doc) => doc.id));
		expect(rt.runCount(run, 'Question')).toBe(1);

		const found = rt.nodeOutput(run, SEARCH_NODE);
		expect(found).toHaveLength(3);
		expect(found[0].document.metadata.id).toBe('doc-octopus');
		expect(found[0].document.pageContent).toBe(DOCUMENTS.find((doc) => doc.id === 'doc-octopus')?.text);
		// Best first, and the best clearly ahead of the rest.
		const scores = found.map((item) => item.score as number);
		expect([...scores].sort((a, b) => b - a)).toEqual(scores);
		expect(scores[0]).toBeGreaterThan(scores[1]);

		expectEmbeddingsRequests(keys.search, SEARCH_QUESTION);
		expectEmbeddingsRunData(run, SEARCH_QUESTION);
		expectNoKey(keys.search, outcome);
	});

	const agentTitle = 'AI Agent: the model calls the Simple Vector Store tool and answers from the document it found';
	(CHAT_MODEL_REFUSAL ? test.skip : test)(agentTitle, async () => {
		const outcome = await execute('embeddingsAgentTool');
		const { run, command } = outcome;
		if (command.code !== 0) console.log(JSON.stringify(run.data.resultData.error, null, 2));
		expect(run.data.resultData.error).toBeUndefined();
		expect(command.code).toBe(0);

		// Unscripted, the fake model calls the one tool with the question, then quotes what it returned.
		const chats = fake.requests(keys.agent).filter((request) => request.path === '/v1/chat/completions');
		expect(chats).toHaveLength(2);
		expect(chats[0].body.tools.map((tool: any) => tool.function?.name)).toEqual(['Facts_Store']);
		const toolMessage = (chats[1].body.messages as Array<Record<string, any>>).find((message) => message.role === 'tool');
		expect(JSON.stringify(toolMessage?.content)).toContain('Combalou caves');
		expect(rt.runCount(run, TOOL_NODE)).toBe(1);
		const [answer] = rt.nodeOutput(run, AGENT_NODE);
		expect(String(answer.output)).toContain('Roquefort cheese ripens in the natural Combalou caves');

		// The tool's search embedded the query the model wrote: the question itself.
		const toolQuery = embeddingsCalls(keys.agent).at(-1)?.body.input;
		expect(toolQuery).toEqual([AGENT_QUESTION]);
		expectEmbeddingsRequests(keys.agent, AGENT_QUESTION);
		expectEmbeddingsRunData(run, AGENT_QUESTION);
		expectNoKey(keys.agent, outcome);
	});
	if (CHAT_MODEL_REFUSAL) {
		test(`AI Agent, on n8n before ${CHAT_MODEL_NEEDS.n8n}: the ${EDITION} edition's Chat Model refuses and sends nothing, after the documents were embedded`, async () => {
			const { run, command } = await execute('embeddingsAgentTool');
			expect(command.code).not.toBe(0);
			expect(run.status).toBe('error');
			expect(run.data.resultData.runData[MODEL_NODE]?.[0]?.error?.message).toBe(CHAT_MODEL_REFUSAL);
			expect(String(run.data.resultData.error?.message)).toMatch(/Nebula Block Chat Model/);
			expect(fake.requests(keys.agent).filter((request) => request.path === '/v1/chat/completions')).toHaveLength(0);
			// The insert ran before the agent: its embeddings requests went out all the same.
			expect(embeddingsCalls(keys.agent).length).toBe(Math.ceil(DOCUMENTS.length / BATCH_SIZE));
		});
	}
});
