import type { INodeProperties, INodePropertyOptions, NodeParameterValue } from 'n8n-workflow';

import { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_SECONDS } from '../transport/retryPolicy';
import { fieldRule, jsonArrayRule, jsonObjectRule, stopSequencesRule, type OptionRule } from './rules';

/**
 * The nodes that have an Options collection: `embeddings` is the Embeddings sub-node, `embed` the
 * Nebula Block Embed node.
 */
export type OptionNode = 'chatCompletion' | 'textGenerate' | 'chatModel' | 'embeddings' | 'embed';

/** How one node offers an option, where it differs from the shared field. */
export interface NodeVariant {
	default?: NodeParameterValue;
	description?: string;
	options?: INodePropertyOptions[];
	/** A rule of the node's own, where the shared one does not fit it. */
	rule?: OptionRule;
	/**
	 * Sent with its default when the user did not add the option. Only Text Generate does this,
	 * for the service's documented defaults (256 / 0.7 / 1): the same form can go to
	 * /chat/completions, whose defaults differ, so the answer depends on the form alone.
	 */
	sentWhenUnset?: boolean;
}

/**
 * One option, declared once: the field the form shows, where its value goes, and its rule.
 * The rule is the field's own (type, minValue, maxValue, numberPrecision 0 for whole numbers, its
 * choices) unless `rule` gives one; the error text comes from the rule (see rules.ts), so the
 * form, the check of an expression's value and the message can never disagree.
 */
export interface OptionEntry {
	field: INodeProperties;
	/** The request body key the value is sent under, as it is. */
	bodyKey?: string;
	/** The body key a node's body builder composes from this option and others (e.g. tools and tool_choice). */
	builtInto?: string;
	/** Why an option has no body key: what reads it instead. */
	readBy?: string;
	rule?: OptionRule;
	/** Which nodes offer it, and how where they differ. */
	offeredBy: Partial<Record<OptionNode, NodeVariant>>;
}

const ALL_NODES = { chatCompletion: {}, textGenerate: {}, chatModel: {} } as const;
const GENERATION_NODES = { chatCompletion: {}, textGenerate: {} } as const;
/** The nodes the item runner paces (Concurrency and its kin). */
const RUNNER_NODES = { ...GENERATION_NODES, embed: {} } as const;
const EMBEDDING_NODES = { embeddings: {}, embed: {} } as const;

/** The Timeout of the embeddings nodes: a request there is one non-streamed answer. */
const EMBEDDINGS_TIMEOUT: NodeVariant = {
	description: 'How long to wait for the vectors of each request (one batch of texts), retries and rate-limit waits included',
};

export const DEFAULT_OUTPUT_FIELD = 'embedding';

export const DEFAULT_JSON_SCHEMA_NAME = 'response';

/**
 * Every option of every node, by field name. A node's Options collection is the entries that
 * name it, in alphabetical order of display name (as n8n lists them). A new option is one
 * entry here.
 */
export const OPTION_TABLE = {
	additionalBodyFields: {
		field: {
			displayName: 'Additional Body Fields',
			name: 'additionalBodyFields',
			type: 'json',
			default: '{}',
			description:
				'JSON object merged into the request body last, for parameters this form lacks, e.g. {"top_k": 40, "repetition_penalty": 1.1}. Stream and stream_options are set by the Stream option.',
		},
		builtInto: '(any key it holds)',
		rule: jsonObjectRule,
		offeredBy: { chatCompletion: {} },
	},
	batchDelay: {
		field: {
			displayName: 'Delay Between Batches (Milliseconds)',
			name: 'batchDelay',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description:
				'Pause after each batch of Concurrency items, to stay under a requests-per-minute limit (with Concurrency Mode Fixed). 0 sends the next item as soon as one finishes.',
		},
		readBy: 'the item runner',
		offeredBy: RUNNER_NODES,
	},
	batchSize: {
		field: {
			displayName: 'Batch Size',
			name: 'batchSize',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 2048, numberPrecision: 0 },
			default: 32,
			description:
				'How many texts go to the service in one request. A vector store that embeds 100 texts with Batch Size 32 sends 4 requests, up to 4 at once (the limiter of the API key still paces them); the vectors keep the order of the texts.',
		},
		readBy: 'the embeddings requests, which split the texts into batches',
		offeredBy: { embeddings: {} },
	},
	concurrency: {
		field: {
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 100, numberPrecision: 0 },
			default: 5,
			description:
				'How many items are sent to the service at once with Concurrency Mode Fixed; with Auto, the most this node sends at once (64 without this option). Without Concurrency Mode, setting this option selects Fixed. Output order always equals input order.',
		},
		readBy: 'the item runner',
		offeredBy: RUNNER_NODES,
	},
	concurrencyMode: {
		field: {
			displayName: 'Concurrency Mode',
			name: 'concurrencyMode',
			type: 'options',
			options: [
				{
					name: 'Auto',
					value: 'auto',
					description:
						'Sends more items at once while the service answers without rate-limit errors, fewer after one, and pauses all items together when it asks to wait (up to 60 s; a longer wait fails them at once, saying until when). Shared by every execution and Chat Model in this n8n process (in queue mode: this worker) that uses this API key.',
				},
				{
					name: 'Fixed',
					value: 'fixed',
					description: 'Always sends Concurrency items at once; each item waits on its own after a rate-limit error',
				},
			],
			default: 'auto',
			description:
				'How the number of items sent at once is chosen. Without this option: Fixed when Concurrency or Delay Between Batches is set, else Auto.',
		},
		readBy: 'the item runner',
		offeredBy: RUNNER_NODES,
	},
	enableStreaming: {
		// n8n's AI Agent has the same option, with the same name and default.
		field: {
			displayName: 'Enable Streaming',
			name: 'enableStreaming',
			type: 'boolean',
			default: true,
			description:
				'Whether to stream the answer to the chat as it is generated, when the workflow answers a Chat Trigger or a Webhook whose Response Mode is Streaming. Independent of Stream, which governs the request to Nebula Block: with Stream off the chat gets the whole answer at once. Never streams when the node is an AI Agent tool.',
		},
		readBy: 'the item runner, to decide whether to stream to n8n\'s chat',
		offeredBy: GENERATION_NODES,
	},
	endpoint: {
		field: {
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'options',
			options: [
				{
					name: 'Chat Completions',
					value: 'chatCompletions',
					description: 'POST {Base URL}/chat/completions, the OpenAI-compatible API',
				},
				{
					name: 'Chat Text',
					value: 'chatText',
					description:
						'POST {Base URL}/inference/chat_text: truncates long prompts on the server; without Max Tokens it answers at most 200 tokens',
				},
			],
			default: 'chatCompletions',
			description: 'Which API of the service answers. The output has the same shape either way.',
		},
		readBy: 'the request: it picks the path',
		offeredBy: { chatCompletion: {} },
	},
	frequencyPenalty: {
		field: {
			displayName: 'Frequency Penalty',
			name: 'frequencyPenalty',
			type: 'number',
			typeOptions: { minValue: -2, maxValue: 2, numberPrecision: 2 },
			default: 0,
			description: 'Positive values make the model repeat the same words less often',
		},
		bodyKey: 'frequency_penalty',
		offeredBy: { chatCompletion: {}, chatModel: {} },
	},
	includeRateLimitStats: {
		field: {
			displayName: 'Include Rate Limit Stats',
			name: 'includeRateLimitStats',
			type: 'boolean',
			default: false,
			description:
				'Whether to add rateLimitStats to each output item: how many rate-limit errors (HTTP 429) its request met and how many milliseconds it waited for the limit and for retries',
		},
		readBy: 'the item runner, which adds rateLimitStats to the item',
		offeredBy: RUNNER_NODES,
	},
	jsonSchema: {
		field: {
			displayName: 'JSON Schema',
			name: 'jsonSchema',
			type: 'json',
			default: '{\n  "type": "object",\n  "properties": {\n    "answer": { "type": "string" }\n  },\n  "required": ["answer"]\n}',
			displayOptions: { show: { responseFormat: ['json_schema'] } },
			description: 'The JSON Schema the answer must follow',
		},
		builtInto: 'response_format',
		rule: jsonObjectRule,
		offeredBy: { chatCompletion: {} },
	},
	jsonSchemaName: {
		field: {
			displayName: 'JSON Schema Name',
			name: 'jsonSchemaName',
			type: 'string',
			default: DEFAULT_JSON_SCHEMA_NAME,
			displayOptions: { show: { responseFormat: ['json_schema'] } },
			description: 'A name for the schema (letters, digits, underscores and dashes)',
		},
		builtInto: 'response_format',
		offeredBy: { chatCompletion: {} },
	},
	maxRetries: {
		field: {
			displayName: 'Max Retries',
			name: 'maxRetries',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 10, numberPrecision: 0 },
			default: DEFAULT_MAX_RETRIES,
			description:
				'How often to retry after a rate limit (429), a server error (5xx) or a dropped connection; 0 sends each request once. Without this option: 2, and under Concurrency Mode Auto (always in the Chat Model) up to 8 after a rate limit, as the limit pauses all requests on the API key.',
		},
		readBy: 'the transport',
		offeredBy: {
			...ALL_NODES,
			embeddings: {
				description:
					'How often to retry after a rate limit (429), a server error (5xx) or a dropped connection; 0 sends each request once. Without this option: 2, and up to 8 after a rate limit, as the limit pauses all requests on the API key.',
			},
			embed: {},
		},
	},
	maxTokens: {
		field: {
			displayName: 'Max Tokens',
			name: 'maxTokens',
			type: 'number',
			typeOptions: { minValue: 1, numberPrecision: 0 },
			default: 1024,
			description: 'The most tokens the answer may have. Longer answers stop with finish reason "length".',
		},
		bodyKey: 'max_tokens',
		offeredBy: {
			chatCompletion: {
				description:
					'The most tokens the answer may have; without this option the model\'s default applies. Longer answers stop with finish reason "length".',
			},
			textGenerate: { default: 256, sentWhenUnset: true },
			chatModel: {},
		},
	},
	numberOfChoices: {
		field: {
			displayName: 'Number of Choices',
			name: 'numberOfChoices',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 10, numberPrecision: 0 },
			default: 1,
			description: 'How many different answers to generate. Each becomes its own output item, with its index.',
		},
		bodyKey: 'n',
		offeredBy: { chatCompletion: {} },
	},
	outputField: {
		field: {
			displayName: 'Put Output In Field',
			name: 'outputField',
			type: 'string',
			default: DEFAULT_OUTPUT_FIELD,
			description: 'The field of the output item that gets the vector (a list of numbers); the item keeps its other fields',
		},
		readBy: 'the output item',
		offeredBy: { embed: {} },
	},
	parseJsonOutput: {
		field: {
			displayName: 'Parse JSON Output',
			name: 'parseJsonOutput',
			type: 'boolean',
			default: false,
			displayOptions: { show: { '/simplify': [true] } },
			description:
				'Whether to turn the answer into the JSON object it holds (a Markdown code fence around it is fine). An answer that is not JSON stops the item with an error.',
		},
		readBy: 'the simplified output',
		offeredBy: { chatCompletion: {} },
	},
	presencePenalty: {
		field: {
			displayName: 'Presence Penalty',
			name: 'presencePenalty',
			type: 'number',
			typeOptions: { minValue: -2, maxValue: 2, numberPrecision: 2 },
			default: 0,
			description: 'Positive values make the model more likely to talk about new topics',
		},
		bodyKey: 'presence_penalty',
		offeredBy: { chatCompletion: {}, chatModel: {} },
	},
	promptTruncateLength: {
		field: {
			displayName: 'Prompt Truncate Length',
			name: 'promptTruncateLength',
			type: 'number',
			typeOptions: { minValue: 1, numberPrecision: 0 },
			default: 1500,
			description:
				'Token budget for the messages: the earliest messages other than the system message are left out until an estimate fits, and the output says how many (droppedMessages). With the Chat Text endpoint the service also truncates to this length.',
		},
		builtInto: 'messages (and prompt_truncate_len on Chat Text)',
		offeredBy: { chatCompletion: {} },
	},
	reasoning: {
		field: {
			displayName: 'Reasoning',
			name: 'reasoning',
			type: 'options',
			options: [
				{
					name: 'Separate',
					value: 'separate',
					description: 'Put the reasoning in its own "reasoning" field and keep the answer clean',
				},
				{
					name: 'Strip',
					value: 'strip',
					description: 'Leave the reasoning out of the result',
				},
				{
					name: 'Leave Inline',
					value: 'inline',
					description: 'Keep the reasoning in the content, in a &lt;think&gt; block',
				},
			],
			default: 'separate',
			displayOptions: { show: { '/simplify': [true] } },
			description:
				'What to do with the thinking of reasoning models (DeepSeek-R1, QwQ), whether it comes as reasoning_content, reasoning, or inline &lt;think&gt; tags',
		},
		readBy: 'the simplified output and the live answer to a chat',
		offeredBy: { chatCompletion: {} },
	},
	responseFormat: {
		field: {
			displayName: 'Response Format',
			name: 'responseFormat',
			type: 'options',
			options: [
				{ name: 'Text', value: 'text', description: 'Any text (the default)' },
				{ name: 'JSON Object', value: 'json_object', description: 'Valid JSON; say in the messages which fields you want' },
				{ name: 'JSON Schema', value: 'json_schema', description: 'JSON that follows the JSON Schema option' },
			],
			default: 'text',
			description: 'The form of the answer. Combine a JSON format with Parse JSON Output to get an object.',
		},
		builtInto: 'response_format',
		offeredBy: {
			chatCompletion: {},
			chatModel: {
				options: [
					{ name: 'Text', value: 'text', description: 'Plain text, the usual answer' },
					{
						name: 'JSON Object',
						value: 'json_object',
						description: 'Valid JSON only. Say "JSON" in the prompt too; some models need it.',
					},
				],
				description: 'The form of the answer',
				// The Chat Completion node's JSON Schema (e.g. from an expression copied over) gets its own
				// answer: here the chain or agent owns the output's shape.
				rule: (value, field) =>
					value === 'json_schema'
						? {
								ok: false,
								message: 'The Chat Model has no JSON Schema response format',
								fix: 'Set Response Format to JSON Object and connect a Structured Output Parser to the chain or agent to enforce a schema.',
							}
						: fieldRule(field)(value, field),
			},
		},
	},
	seed: {
		field: {
			displayName: 'Seed',
			name: 'seed',
			type: 'number',
			typeOptions: { numberPrecision: 0 },
			default: 0,
			description: 'The same seed with the same request gives the same answer, where the model supports it',
		},
		bodyKey: 'seed',
		offeredBy: { chatCompletion: {} },
	},
	stripNewLines: {
		field: {
			displayName: 'Strip New Lines',
			name: 'stripNewLines',
			type: 'boolean',
			default: true,
			description: "Whether to replace each line break in a text by a space before it is embedded, as n8n's OpenAI embeddings do",
		},
		readBy: 'the embeddings requests, before they are sent',
		offeredBy: EMBEDDING_NODES,
	},
	stop: {
		field: {
			displayName: 'Stop Sequences',
			name: 'stop',
			type: 'string',
			default: '',
			placeholder: 'e.g. ###, END',
			description: 'Comma-separated text that ends the answer when the model writes it (at most 4)',
		},
		bodyKey: 'stop',
		rule: stopSequencesRule,
		offeredBy: GENERATION_NODES,
	},
	stream: {
		field: {
			displayName: 'Stream',
			name: 'stream',
			type: 'boolean',
			default: true,
			description:
				'Whether to receive the answer token by token. It keeps long generations alive through proxies and lets n8n stream the answer to a chat; the node still returns one complete result.',
		},
		// Not a body field of the form: the request adds `stream` (and stream_options) when it streams.
		readBy: 'the request, which sends "stream": true (and, for chat, stream_options) when it streams',
		offeredBy: GENERATION_NODES,
	},
	temperature: {
		field: {
			displayName: 'Temperature',
			name: 'temperature',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 2 },
			default: 1,
			description: 'Randomness of the answer: lower is more focused and repeatable, higher more varied',
		},
		bodyKey: 'temperature',
		offeredBy: { chatCompletion: {}, textGenerate: { default: 0.7, sentWhenUnset: true }, chatModel: {} },
	},
	textTooLong: {
		field: {
			displayName: "Text Longer Than the Model's Context",
			name: 'textTooLong',
			type: 'options',
			options: [
				{
					name: 'Truncate',
					value: 'truncate',
					description:
						"Cut the text to what fits the model's context (512 tokens for the listed models), estimated from its words and characters with room to spare; the rest of it is not embedded",
				},
				{
					name: 'Fail',
					value: 'fail',
					description: 'Stop with an error that names the text and its length, and embed nothing',
				},
			],
			default: 'truncate',
			description: "What to do with a text that does not fit the model's context. Splitting documents into smaller chunks (a Text Splitter's Chunk Size) avoids both.",
		},
		readBy: 'the embeddings requests, before they are sent',
		offeredBy: EMBEDDING_NODES,
	},
	timeout: {
		field: {
			displayName: 'Timeout (Seconds)',
			name: 'timeout',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: DEFAULT_TIMEOUT_SECONDS,
			description:
				'How long to wait for the answer to start, retries and rate-limit waits included: with Stream on, until its first token arrives; with Stream off, until the whole answer is there. Once tokens arrive, a stream is never cut while they keep coming: only a silence of more than 5 minutes between two of them (the idle limit) ends it.',
		},
		readBy: 'the transport',
		offeredBy: {
			...GENERATION_NODES,
			embeddings: EMBEDDINGS_TIMEOUT,
			embed: EMBEDDINGS_TIMEOUT,
			// The model waits for a whole answer (no streaming), so the timeout covers the whole call.
			chatModel: { description: 'How long to wait for each answer of the model before the call fails, retries and rate-limit waits included' },
		},
	},
	toolChoice: {
		field: {
			displayName: 'Tool Choice',
			name: 'toolChoice',
			type: 'options',
			options: [
				{ name: 'Auto', value: 'auto', description: 'The model decides whether to call a tool' },
				{ name: 'None', value: 'none', description: 'The model answers in text and calls no tool' },
				{ name: 'Required', value: 'required', description: 'The model must call at least one tool' },
				{ name: 'Function', value: 'function', description: 'The model must call the function named below' },
			],
			default: 'auto',
			description: 'Whether and which tool the model must call. Without Tools, Auto and None send nothing.',
		},
		builtInto: 'tool_choice',
		offeredBy: { chatCompletion: {} },
	},
	toolChoiceFunction: {
		field: {
			displayName: 'Tool Choice Function Name',
			name: 'toolChoiceFunction',
			type: 'string',
			default: '',
			placeholder: 'e.g. get_weather',
			displayOptions: { show: { toolChoice: ['function'] } },
			description: 'The function the model must call, one of the Tools',
		},
		builtInto: 'tool_choice',
		offeredBy: { chatCompletion: {} },
	},
	tools: {
		field: {
			displayName: 'Tools',
			name: 'tools',
			type: 'json',
			default:
				'[\n  {\n    "type": "function",\n    "function": {\n      "name": "get_weather",\n      "description": "Current weather in a city",\n      "parameters": {\n        "type": "object",\n        "properties": { "city": { "type": "string" } },\n        "required": ["city"]\n      }\n    }\n  }\n]',
			description:
				'JSON array of function definitions the model may call. Its calls come back in "toolCalls", with their arguments parsed.',
		},
		builtInto: 'tools',
		rule: jsonArrayRule,
		offeredBy: { chatCompletion: {} },
	},
	topP: {
		field: {
			displayName: 'Top P',
			name: 'topP',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
			default: 1,
			description:
				'Nucleus sampling: only the tokens within this probability mass are considered. Change this or Temperature, not both.',
		},
		bodyKey: 'top_p',
		offeredBy: { chatCompletion: {}, textGenerate: { default: 1, sentWhenUnset: true }, chatModel: {} },
	},
} satisfies Record<string, OptionEntry>;

export type OptionName = keyof typeof OPTION_TABLE;

/** What a field's own rule makes of a value. */
type FieldValue<Type> = Type extends 'number' ? number : Type extends 'boolean' ? boolean : Type extends 'options' | 'string' ? string : unknown;

/** What the options with a rule of their own make of a value. */
interface OwnRuleValues {
	stop: string[];
	tools: unknown[];
	jsonSchema: Record<string, unknown>;
	additionalBodyFields: Record<string, unknown>;
}

/** The checked value of each option, typed by its rule. */
export type OptionValue<Name extends OptionName> = Name extends keyof OwnRuleValues
	? OwnRuleValues[Name]
	: FieldValue<(typeof OPTION_TABLE)[Name]['field']['type']>;
