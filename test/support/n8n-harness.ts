/**
 * In-process n8n execution harness for node tests.
 *
 * Workflows run through n8n-core's real `WorkflowExecute`, so a node under test sees n8n's
 * own parameter resolution (expressions), credential lookup, pairedItem handling,
 * continueOnFail / onError, error wrapping, streaming (`isStreaming` / `sendChunk`) and
 * cancellation (`getExecutionCancelSignal`).
 *
 * Node types: this package's BUILT output is loaded (`npm run build` first) with n8n-core's
 * `PackageDirectoryLoader`, which follows the `n8n` field of package.json (dist/... files).
 * Type names are `<package name>.<node name>`, e.g. `n8n-nodes-nebula-block.nebulaBlockChat`.
 * n8n-nodes-base is not installed, so the harness brings its own trigger-like start node,
 * `harness.start` (named 'Start'), which emits `inputItems`.
 *
 * Shutdown: call `afterAll(shutdownHarness)` in EVERY test file that runs nodes. Jest gives
 * each test file its own module registry, hence its own n8n DI container and its own
 * SSHClientsManager (which n8n-core creates for every node execution and which owns a
 * 60 s interval). A jest `globalTeardown` runs in another context and cannot reach those,
 * so there is deliberately none. (The interval is also unref'ed as a safety net.)
 *
 * Nothing here depends on NODE_ENV: with NODE_ENV=test n8n-core `require`s node classes
 * directly, otherwise it instantiates them through a vm script; both load the same files.
 * InstanceSettings is replaced in memory, so no ~/.n8n folder is read or written.
 * Set N8N_HARNESS_PRINT_LOGS=1 to also print every captured log line.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import {
	Credentials,
	ExecutionLifecycleHooks,
	ExternalSecretsProxy,
	InstanceSettings,
	PackageDirectoryLoader,
	WorkflowExecute,
	WorkflowHasIssuesError,
	getAdditionalKeys,
} from 'n8n-core';
import { SSHClientsManager } from 'n8n-core/dist/execution-engine/ssh-clients-manager';
import {
	ApplicationError,
	ICredentialsHelper,
	LoggerProxy,
	ManualExecutionCancelledError,
	NodeConnectionTypes,
	NodeHelpers,
	Workflow,
	deepCopy,
	isExpression,
	jsonParse,
} from 'n8n-workflow';
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	ICredentialsExpressionResolveValues,
	IConnections,
	IDataObject,
	IExecuteData,
	IExecuteFunctions,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeParameters,
	INodeProperties,
	INodeType,
	INodeTypes,
	IRequestOptionsSimplified,
	IRun,
	IRunData,
	IVersionedNodeType,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	StructuredChunk,
	WorkflowExecuteMode,
} from 'n8n-workflow';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Decrypted credential data per credential type, e.g. `{ nebulaBlockApi: { apiKey, baseUrl } }`. */
export interface HarnessCredentials {
	[credentialType: string]: Record<string, unknown>;
}

export interface RunOptions {
	/** Full workflow nodes. Use the harness start node (`harness.start`, name 'Start') as trigger. */
	nodes: INode[];
	connections: IConnections;
	/**
	 * Attached automatically to every node whose type declares that credential type (unless the
	 * node already names one), and served by the harness credentials helper.
	 */
	credentials?: HarnessCredentials;
	/**
	 * When given, the node named 'Start' (added as `harness.start` if `nodes` has none) emits
	 * these items. Connections from 'Start' are up to the caller. Must be JSON-serialisable.
	 */
	inputItems?: IDataObject[];
	/** Aborting cancels the execution; nodes see it through `this.getExecutionCancelSignal()`. */
	signal?: AbortSignal;
	/**
	 * Makes the execution "streaming": `this.isStreaming()` is true and every `this.sendChunk()`
	 * arrives here. n8n-core also sends an `{ type: 'error' }` chunk when a node fails.
	 */
	onChunk?: (chunk: StructuredChunk) => void;
	/** Package to load node types from; defaults to this repository's root. */
	packageDir?: string;
}

export interface RunResult {
	/** Per node name: the last run's output, per output index. */
	outputs: Record<string, INodeExecutionData[][]>;
	/** The execution's error: the node's error instance as thrown when available. */
	error?: Error;
	runData: IRunData;
	/** Every line the engine's logger (and LoggerProxy, AI events, UI messages) received. */
	logs: string[];
}

export interface RunNodeOptions {
	/** Full node type, e.g. 'n8n-nodes-nebula-block.nebulaBlockChat'. */
	type: string;
	parameters: INodeParameters;
	/** Defaults to the type's current (latest) version. */
	typeVersion?: number;
	credentials?: HarnessCredentials;
	/** Items the 'Start' node emits into the node under test; defaults to `[{}]`. */
	inputItems?: IDataObject[];
	/** Sets `onError: 'continueRegularOutput'`, which is what `this.continueOnFail()` reads. */
	continueOnFail?: boolean;
	signal?: AbortSignal;
	onChunk?: (chunk: StructuredChunk) => void;
	packageDir?: string;
}

/**
 * An input item's key that the start node turns into the item's binary data: property name ->
 * file. E.g. `{ question: 'What is this?', [BINARY_KEY]: { data: { base64, mimeType, fileName } } }`.
 */
export const BINARY_KEY = '$binary';

export interface HarnessFile {
	base64: string;
	mimeType?: string;
	fileName?: string;
}

export const START_NODE_TYPE = 'harness.start';
export const START_NODE_NAME = 'Start';

/**
 * A vector store stand-in (n8n's are not installed): a node with an ai_embedding input that gets
 * the connected embeddings through n8n-core's getInputConnectionData (the sub-node's supplyData,
 * called by the engine as for a real vector store) and calls them as vector stores do. Parameter
 * `mode`: 'documents' (default) calls embedDocuments once with every input item's `text`, and
 * outputs one item `{ vectors }`; 'query' calls embedQuery with each item's `query`, one item
 * `{ vector }` each.
 */
export const EMBEDDINGS_CONSUMER_TYPE = 'harness.embeddingsConsumer';

/** Repository root: test/support -> ../.. */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The edition under test: the main package at the repository root, or with NEBULA_EDITION=cloud
 * (jest.cloud.config.js) the cloud edition built into build/cloud/package. Tests name node types
 * by the main package's name; the cloud package's own types answer to those names too.
 */
const CLOUD_EDITION = process.env.NEBULA_EDITION === 'cloud';
const PACKAGE_UNDER_TEST = CLOUD_EDITION ? path.join(REPO_ROOT, 'build', 'cloud', 'package') : REPO_ROOT;
const MAIN_PACKAGE_NAME = 'n8n-nodes-nebula-block';

/** Runs `nodes` from the start node through n8n-core's WorkflowExecute in 'manual' mode. */
export async function runWorkflow(opts: RunOptions): Promise<RunResult> {
	const scope: RunScope = { logs: [], thrown: new Map() };
	activeScopes.add(scope);
	try {
		// Everything the run does (node code, hooks, logger calls) inherits this async context,
		// which routes log lines and thrown errors to this run even when runs overlap.
		return await runScopes.run(scope, async () => await executeWorkflow(opts, scope));
	} finally {
		activeScopes.delete(scope);
	}
}

/** The common case: Start (emits `inputItems`) -> the node under test. */
export async function runNode(
	opts: RunNodeOptions,
): Promise<{ items: INodeExecutionData[]; error?: Error; result: RunResult }> {
	const nodeType = packageNodeTypes(opts.packageDir).getByName(opts.type);
	const node = createNodeUnderTest(opts, nodeType);
	const result = await runWorkflow({
		nodes: [node],
		connections: connectStartTo(node.name),
		credentials: opts.credentials,
		inputItems: opts.inputItems ?? [{}],
		signal: opts.signal,
		onChunk: opts.onChunk,
		packageDir: opts.packageDir,
	});
	return { items: result.outputs[node.name]?.[0] ?? [], error: result.error, result };
}

/** Node types of the package in `directory` (default: repo root) plus `harness.start`; loaded once. */
export function packageNodeTypes(directory: string = PACKAGE_UNDER_TEST): INodeTypes {
	return loadPackage(directory).nodeTypes;
}

/** Stops what n8n-core leaves running (SSHClientsManager's interval) so jest can exit. */
export async function shutdownHarness(): Promise<void> {
	if (!containerReady) return;
	Container.get(SSHClientsManager).onShutdown();
}

// ---------------------------------------------------------------------------------------------
// Per-run scope: log lines and the errors nodes threw
// ---------------------------------------------------------------------------------------------

interface RunScope {
	logs: string[];
	/** Error instances thrown by node `execute` functions, by node name (last one wins). */
	thrown: Map<string, unknown>;
}

const runScopes = new AsyncLocalStorage<RunScope>();
const activeScopes = new Set<RunScope>();

type LogLevel = 'error' | 'warn' | 'info' | 'debug';

function recordLog(level: LogLevel, message: string, metadata?: unknown): void {
	const line = formatLogLine(level, message, metadata);
	if (process.env.N8N_HARNESS_PRINT_LOGS) console.log(line);
	const scope = runScopes.getStore();
	if (scope) {
		scope.logs.push(line);
		return;
	}
	// Outside any run's async context (e.g. a cancel triggered from test code): every run
	// in flight gets it, so nothing a run might have caused is lost.
	for (const active of activeScopes) active.logs.push(line);
}

function formatLogLine(level: LogLevel, message: string, metadata?: unknown): string {
	const hasMetadata =
		metadata !== undefined &&
		metadata !== null &&
		!(typeof metadata === 'object' && Object.keys(metadata).length === 0);
	return hasMetadata ? `${level}: ${message} ${toLoggableJson(metadata)}` : `${level}: ${message}`;
}

/** JSON that survives circular references and keeps what Errors carry (message, stack, extras). */
function toLoggableJson(value: unknown): string {
	const seen = new WeakSet<object>();
	const json = JSON.stringify(value, (_key, current: unknown) => {
		if (typeof current === 'bigint') return current.toString();
		if (typeof current !== 'object' || current === null) return current;
		if (seen.has(current)) return '[Circular]';
		seen.add(current);
		if (current instanceof Error) {
			return { ...current, name: current.name, message: current.message, stack: current.stack };
		}
		return current;
	});
	return json ?? String(value);
}

/** Logger registered in n8n's DI container and LoggerProxy; scoped loggers share it. */
function createCaptureLogger(): Logger {
	const logger = {
		error: (message: string, metadata?: unknown) => recordLog('error', message, metadata),
		warn: (message: string, metadata?: unknown) => recordLog('warn', message, metadata),
		info: (message: string, metadata?: unknown) => recordLog('info', message, metadata),
		debug: (message: string, metadata?: unknown) => recordLog('debug', message, metadata),
		scoped: () => logger,
		getInternalLogger: () => {
			throw new ApplicationError('The harness logger has no winston logger');
		},
	};
	return logger as unknown as Logger;
}

// ---------------------------------------------------------------------------------------------
// DI container
// ---------------------------------------------------------------------------------------------

let containerReady = false;

function ensureContainer(): void {
	if (containerReady) return;
	const logger = createCaptureLogger();
	Container.set(Logger, logger);
	LoggerProxy.init(logger);
	// The real InstanceSettings reads/creates ~/.n8n/config; tests must not touch the home dir.
	Container.set(InstanceSettings, createInstanceSettings());
	containerReady = true;
	unrefSshCleanupTimer();
}

/** An InstanceSettings with a throwaway encryption key, built without its file-system constructor. */
function createInstanceSettings(): InstanceSettings {
	const encryptionKey = randomBytes(24).toString('base64');
	const n8nFolder = path.join(os.tmpdir(), 'n8n-harness-not-written');
	const settings = Object.create(InstanceSettings.prototype) as InstanceSettings;
	return Object.assign(settings, {
		n8nFolder,
		staticCacheDir: path.join(n8nFolder, 'cache'),
		customExtensionDir: path.join(n8nFolder, 'custom'),
		nodesDownloadDir: path.join(n8nFolder, 'nodes'),
		settingsFile: path.join(n8nFolder, 'config'),
		enforceSettingsFilePermissions: { isSet: false, enforce: false },
		instanceRole: 'unset',
		isMultiMainEnabled: false,
		isMultiMainLicensed: false,
		instanceType: 'main',
		hostId: 'main-harness',
		settings: { encryptionKey },
		instanceId: createHash('sha256').update(encryptionKey).digest('hex'),
		hmacSignatureSecret: createHash('sha256').update(`hmac-signature:${encryptionKey}`).digest('hex'),
	});
}

/**
 * n8n-core creates SSHClientsManager (with a non-unref'ed 60 s interval) for every node
 * execution. Creating it up front and unref'ing the timer keeps a forgotten
 * `shutdownHarness()` from hanging jest; shutdownHarness still clears it properly.
 */
function unrefSshCleanupTimer(): void {
	const manager = Container.get(SSHClientsManager) as unknown as { cleanupTimer?: NodeJS.Timeout };
	manager.cleanupTimer?.unref();
}

// ---------------------------------------------------------------------------------------------
// Node and credential types
// ---------------------------------------------------------------------------------------------

interface LoadedPackage {
	packageName: string;
	nodeTypes: INodeTypes;
	credentialTypes: Map<string, ICredentialType>;
}

const loadedPackages = new Map<string, LoadedPackage>();

function loadPackage(directory: string = PACKAGE_UNDER_TEST): LoadedPackage {
	const key = path.resolve(directory);
	const cached = loadedPackages.get(key);
	if (cached) return cached;
	ensureContainer();
	const loader = new PackageDirectoryLoader(key);
	loadDeclaredFiles(loader, key);
	const loaded: LoadedPackage = {
		packageName: loader.packageName,
		nodeTypes: createNodeTypes(loader),
		credentialTypes: new Map(
			Object.entries(loader.credentialTypes).map(([name, { type }]) => [name, type]),
		),
	};
	loadedPackages.set(key, loaded);
	return loaded;
}

/**
 * What `PackageDirectoryLoader.loadAll()` does for nodes and credentials, but synchronous so
 * `packageNodeTypes()` can be, and with a hint when the build output is missing.
 */
function loadDeclaredFiles(loader: PackageDirectoryLoader, directory: string): void {
	const { n8n, version } = loader.packageJson;
	if (!n8n) {
		throw new ApplicationError(`package.json in ${directory} has no "n8n" field`);
	}
	try {
		for (const nodePath of n8n.nodes ?? []) loader.loadNodeFromFile(nodePath, version);
		for (const credentialPath of n8n.credentials ?? []) loader.loadCredentialFromFile(credentialPath);
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		throw new ApplicationError(
			`Could not load the n8n package in ${directory} (did you run \`npm run build\`?): ${reason}`,
			{ cause: error },
		);
	}
}

function createNodeTypes(loader: PackageDirectoryLoader): INodeTypes {
	const byName = new Map<string, INodeType | IVersionedNodeType>([
		[START_NODE_TYPE, startNodeType],
		[EMBEDDINGS_CONSUMER_TYPE, embeddingsConsumerType],
	]);
	for (const [name, { type }] of Object.entries(loader.nodeTypes)) {
		byName.set(`${loader.packageName}.${name}`, type);
		if (CLOUD_EDITION) byName.set(`${MAIN_PACKAGE_NAME}.${name}`, type);
	}
	const lookup = (nodeType: string): INodeType | IVersionedNodeType => {
		const found = byName.get(nodeType);
		if (found) return found;
		throw new ApplicationError(
			`Unknown node type "${nodeType}". Known: ${[...byName.keys()].join(', ')}`,
		);
	};
	return {
		getByName: lookup,
		getByNameAndVersion: (nodeType, version) =>
			withThrownErrorCapture(NodeHelpers.getVersionedNodeType(lookup(nodeType), version)),
		getKnownTypes: () => knownTypes(loader),
	};
}

/** Keyed by full type name, like n8n's own NodeTypes. */
function knownTypes(loader: PackageDirectoryLoader): IDataObject {
	const known: IDataObject = {
		[START_NODE_TYPE]: { className: 'HarnessStart', sourcePath: __filename },
		[EMBEDDINGS_CONSUMER_TYPE]: { className: 'HarnessEmbeddingsConsumer', sourcePath: __filename },
	};
	for (const [name, details] of Object.entries(loader.known.nodes)) {
		known[`${loader.packageName}.${name}`] = { ...details };
	}
	return known;
}

const capturingTypes = new WeakMap<INodeType, INodeType>();

/**
 * n8n-core stores a node's error only as a plain-object copy (`{ ...error }`), so instances
 * (and `instanceof NodeApiError`) would be lost. This wrapper remembers what `execute`
 * threw, per run and node name. It inherits everything else from the real type.
 */
function withThrownErrorCapture(nodeType: INodeType): INodeType {
	const execute = nodeType.execute;
	if (!execute) return nodeType;
	const cached = capturingTypes.get(nodeType);
	if (cached) return cached;
	const wrapped = Object.create(nodeType) as INodeType;
	wrapped.execute = async function (this: IExecuteFunctions, ...args: unknown[]) {
		// Node subclasses are called as nodeType.execute(context); plain INodeTypes with this = context.
		const isNodeSubclassCall = (this as unknown) === wrapped;
		const context = (isNodeSubclassCall ? args[0] : this) as IExecuteFunctions;
		try {
			return await (execute as (...a: unknown[]) => Promise<unknown>).apply(
				isNodeSubclassCall ? nodeType : this,
				args,
			);
		} catch (error) {
			runScopes.getStore()?.thrown.set(context.getNode().name, error);
			throw error;
		}
	} as INodeType['execute'];
	capturingTypes.set(nodeType, wrapped);
	return wrapped;
}

/** Trigger stand-in (n8n-nodes-base is not installed): emits its `items` JSON parameter. */
const startNodeType: INodeType = {
	description: {
		displayName: 'Harness Start',
		name: START_NODE_TYPE,
		group: ['input'],
		version: 1,
		description: 'Emits the test input items',
		defaults: { name: START_NODE_NAME },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{
				displayName: 'Items (JSON Array of Objects)',
				name: 'items',
				type: 'json',
				default: '[{}]',
			},
		],
	},
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string | IDataObject[];
		const items = typeof raw === 'string' ? jsonParse<IDataObject[]>(raw) : raw;
		const output: INodeExecutionData[] = [];
		for (const { [BINARY_KEY]: files, ...json } of items) {
			const item: INodeExecutionData = { json, pairedItem: { item: 0 } };
			if (files) {
				// Stored through n8n's helper, so it lands wherever the binary data mode says (memory, filesystem).
				item.binary = {};
				for (const [property, file] of Object.entries(files as Record<string, HarnessFile>)) {
					item.binary[property] = await this.helpers.prepareBinaryData(Buffer.from(file.base64, 'base64'), file.fileName, file.mimeType);
				}
			}
			output.push(item);
		}
		return [output];
	},
};

interface EmbeddingsInput {
	embedDocuments(texts: unknown[]): Promise<number[][]>;
	embedQuery(text: unknown): Promise<number[]>;
}

const embeddingsConsumerType: INodeType = {
	description: {
		displayName: 'Harness Embeddings Consumer',
		name: EMBEDDINGS_CONSUMER_TYPE,
		group: ['transform'],
		version: 1,
		description: 'Calls the connected embeddings as a vector store does',
		defaults: { name: 'Vector Store' },
		inputs: [
			NodeConnectionTypes.Main,
			{ type: NodeConnectionTypes.AiEmbedding, displayName: 'Embedding', required: true, maxConnections: 1 },
		],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Mode', name: 'mode', type: 'string', default: 'documents' }],
	},
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const embeddings = (await this.getInputConnectionData(NodeConnectionTypes.AiEmbedding, 0)) as EmbeddingsInput;
		const items = this.getInputData();
		if (this.getNodeParameter('mode', 0) === 'query') {
			const output: INodeExecutionData[] = [];
			for (const [index, item] of items.entries()) {
				output.push({ json: { vector: await embeddings.embedQuery(item.json.query) }, pairedItem: { item: index } });
			}
			return [output];
		}
		const vectors = await embeddings.embedDocuments(items.map((item) => item.json.text));
		return [[{ json: { vectors }, pairedItem: items.map((_item, index) => ({ item: index })) }]];
	},
};

function latestVersion(nodeType: INodeType | IVersionedNodeType): number {
	if ('nodeVersions' in nodeType) return nodeType.currentVersion;
	const { version } = nodeType.description;
	return Array.isArray(version) ? Math.max(...version) : version;
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

function credentialReference(type: string): INodeCredentialsDetails {
	return { id: `harness-${type}`, name: `${type} (harness)` };
}

/**
 * Serves the credentials given to the run. Data is stored encrypted with n8n-core's
 * `Credentials` (as n8n does) and decrypted on demand; defaults of the credential type's
 * properties are applied and expressions resolved the same way n8n's CLI helper does.
 */
class HarnessCredentialsHelper extends ICredentialsHelper {
	private readonly stored = new Map<string, Credentials>();

	constructor(
		private readonly credentialTypes: Map<string, ICredentialType>,
		data: HarnessCredentials,
	) {
		super();
		for (const [type, values] of Object.entries(data)) {
			this.credentialType(type);
			const credentials = new Credentials(credentialReference(type), type);
			credentials.setData(values as ICredentialDataDecryptedObject);
			this.stored.set(type, credentials);
		}
	}

	getParentTypes(name: string): string[] {
		const parents = this.credentialType(name).extends ?? [];
		return parents.flatMap((parent) => [parent, ...this.parentTypesIfKnown(parent)]);
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow: Workflow,
		node: INode,
	): Promise<IHttpRequestOptions> {
		const { authenticate } = this.credentialType(typeName);
		if (typeof authenticate === 'function') {
			return await authenticate(credentials, requestOptions as IHttpRequestOptions);
		}
		if (authenticate?.type === 'generic') {
			const target = requestOptions as unknown as Record<string, Record<string, unknown>>;
			for (const [section, entries] of Object.entries(authenticate.properties)) {
				target[section] ??= {};
				for (const [key, value] of Object.entries(entries as Record<string, unknown>)) {
					const resolvedKey = resolveForCredentials(key, credentials, workflow, node);
					target[section][resolvedKey] = resolveForCredentials(value, credentials, workflow, node);
				}
			}
		}
		return requestOptions as IHttpRequestOptions;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const credentialType = this.credentialType(typeName);
		const expirable = credentialType.properties.find(
			(property) => property.type === 'hidden' && property.typeOptions?.expirable === true,
		);
		if (!expirable || typeof credentialType.preAuthentication !== 'function') return undefined;
		if (credentials[expirable.name] !== '' && !credentialsExpired) return undefined;
		const output = (await credentialType.preAuthentication.call(
			helpers,
			credentials,
		)) as ICredentialDataDecryptedObject;
		if (output[expirable.name] === undefined) return undefined;
		const nodeCredentials = node.credentials?.[typeName] ?? credentialReference(typeName);
		await this.updateCredentials(nodeCredentials, typeName, { ...credentials, ...output });
		return Object.assign(credentials, output);
	}

	async getCredentials(_nodeCredentials: INodeCredentialsDetails, type: string): Promise<Credentials> {
		const credentials = this.stored.get(type);
		if (!credentials) {
			throw new ApplicationError(`The harness was given no credentials of type "${type}"`);
		}
		return credentials;
	}

	async getDecrypted(
		additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		mode: WorkflowExecuteMode,
		executeData?: IExecuteData,
		raw?: boolean,
		expressionResolveValues?: ICredentialsExpressionResolveValues,
	): Promise<ICredentialDataDecryptedObject> {
		const data = (await this.getCredentials(nodeCredentials, type)).getData();
		if (raw === true) return data;
		const withDefaults = (NodeHelpers.getNodeParameters(
			this.getCredentialsProperties(type),
			data as INodeParameters,
			true,
			false,
			null,
			null,
		) ?? {}) as ICredentialDataDecryptedObject;
		if (data.oauthTokenData !== undefined) withDefaults.oauthTokenData = data.oauthTokenData;
		if (!expressionResolveValues) return withDefaults;
		const { workflow, runExecutionData, runIndex, itemIndex, node, connectionInputData } =
			expressionResolveValues;
		return workflow.expression.getParameterValue(
			withDefaults as INodeParameters,
			runExecutionData,
			runIndex,
			itemIndex,
			node.name,
			connectionInputData,
			mode,
			getAdditionalKeys(additionalData, mode, null),
			executeData,
			false,
			withDefaults,
		) as ICredentialDataDecryptedObject;
	}

	async updateCredentials(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		(await this.getCredentials(nodeCredentials, type)).setData(data);
	}

	async updateCredentialsOauthTokenData(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		(await this.getCredentials(nodeCredentials, type)).updateData({
			oauthTokenData: data.oauthTokenData,
		});
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const credentialType = this.credentialType(type);
		if (!credentialType.extends) return credentialType.properties;
		const combined: INodeProperties[] = [];
		for (const parent of credentialType.extends) {
			NodeHelpers.mergeNodeProperties(combined, this.getCredentialsProperties(parent));
		}
		// The type's own properties win over inherited ones, as in n8n.
		NodeHelpers.mergeNodeProperties(combined, credentialType.properties);
		return combined;
	}

	private credentialType(name: string): ICredentialType {
		const type = this.credentialTypes.get(name);
		if (!type) {
			throw new ApplicationError(
				`Unknown credential type "${name}". Known: ${[...this.credentialTypes.keys()].join(', ')}`,
			);
		}
		return type;
	}

	/** Parents such as oAuth2Api live in n8n-nodes-base, which is not loaded: stop there. */
	private parentTypesIfKnown(name: string): string[] {
		return this.credentialTypes.has(name) ? this.getParentTypes(name) : [];
	}
}

/** Resolves `={{ $credentials.x }}`-style values of a generic `authenticate` block. */
function resolveForCredentials(
	value: unknown,
	credentials: ICredentialDataDecryptedObject,
	workflow: Workflow,
	node: INode,
): string {
	if (typeof value !== 'string' || !isExpression(value)) return String(value);
	const resolved = workflow.expression.getSimpleParameterValue(
		node,
		value,
		'internal',
		{ $credentials: credentials },
		undefined,
		'',
	);
	return resolved ? String(resolved) : '';
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

const HARNESS_BASE_URL = 'http://localhost:5678';
let executionCounter = 0;

type Execution = ReturnType<WorkflowExecute['run']>;

async function executeWorkflow(opts: RunOptions, scope: RunScope): Promise<RunResult> {
	const pkg = loadPackage(opts.packageDir);
	const credentials = opts.credentials ?? {};
	const nodes = prepareNodes(opts, pkg, credentials);
	const workflow = new Workflow({
		id: 'harness-workflow',
		name: 'Harness workflow',
		nodes,
		connections: deepCopy(opts.connections),
		active: false,
		nodeTypes: pkg.nodeTypes,
		settings: { executionOrder: 'v1' },
	});
	const executionId = `harness-${++executionCounter}`;
	const additionalData = createAdditionalData({
		executionId,
		credentialsHelper: new HarnessCredentialsHelper(pkg.credentialTypes, credentials),
		hooks: createHooks(executionId, workflow, nodes, opts.onChunk),
		streaming: opts.onChunk !== undefined,
	});
	const workflowExecute = new WorkflowExecute(additionalData, 'manual');
	const startNode = findStartNode(workflow);

	let execution: Execution;
	try {
		execution = workflowExecute.run({ workflow, startNode });
	} catch (error) {
		// Raised synchronously before anything runs, e.g. a required parameter is missing.
		if (!(error instanceof WorkflowHasIssuesError)) throw error;
		const issues = workflowExecute.checkReadyForExecution(workflow, { startNode: startNode.name });
		error.message = `${error.message}: ${JSON.stringify(issues)}`;
		return { outputs: {}, error: Object.assign(error, { issues }), runData: {}, logs: scope.logs };
	}
	const run = await awaitExecution(execution, opts.signal);
	return toRunResult(run, scope, executionId);
}

function prepareNodes(opts: RunOptions, pkg: LoadedPackage, credentials: HarnessCredentials): INode[] {
	// The engine writes defaults into node parameters; callers' objects stay untouched.
	const nodes = deepCopy(opts.nodes);
	if (opts.inputItems) setStartItems(nodes, opts.inputItems);
	for (const node of nodes) {
		node.id ||= randomUUID();
		node.position ??= [0, 0];
		attachCredentials(node, pkg, credentials);
	}
	return nodes;
}

function setStartItems(nodes: INode[], items: IDataObject[]): void {
	let start = nodes.find((node) => node.name === START_NODE_NAME);
	if (!start) {
		start = createStartNode();
		nodes.unshift(start);
	} else if (start.type !== START_NODE_TYPE) {
		throw new ApplicationError(
			`inputItems needs the node named "${START_NODE_NAME}" to be of type ${START_NODE_TYPE}`,
		);
	}
	start.parameters = { ...start.parameters, items: JSON.stringify(items) };
}

function createStartNode(): INode {
	return {
		id: randomUUID(),
		name: START_NODE_NAME,
		type: START_NODE_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
}

/** Gives the node a reference to each provided credential its type declares (as the editor would). */
function attachCredentials(node: INode, pkg: LoadedPackage, credentials: HarnessCredentials): void {
	const declared = pkg.nodeTypes.getByNameAndVersion(node.type, node.typeVersion).description
		.credentials;
	for (const { name } of declared ?? []) {
		if (!(name in credentials) || node.credentials?.[name]) continue;
		node.credentials = { ...node.credentials, [name]: credentialReference(name) };
	}
}

function findStartNode(workflow: Workflow): INode {
	const nodes = Object.values(workflow.nodes).filter((node) => node.disabled !== true);
	const start =
		nodes.find((node) => node.type === START_NODE_TYPE) ??
		nodes.find((node) => !workflow.connectionsByDestinationNode[node.name]?.main?.length);
	if (!start) throw new ApplicationError('The workflow has no node to start from');
	return start;
}

function createHooks(
	executionId: string,
	workflow: Workflow,
	nodes: INode[],
	onChunk: RunOptions['onChunk'],
): ExecutionLifecycleHooks {
	const workflowData: IWorkflowBase = {
		id: workflow.id,
		name: workflow.name ?? 'Harness workflow',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: new Date(),
		updatedAt: new Date(),
		nodes,
		connections: workflow.connectionsBySourceNode,
		settings: workflow.settings,
	};
	const hooks = new ExecutionLifecycleHooks('manual', executionId, workflowData);
	// ExecuteContext.isStreaming() requires a sendChunk handler AND additionalData.streamingEnabled.
	if (onChunk) hooks.addHandler('sendChunk', (chunk) => onChunk(chunk));
	return hooks;
}

function createAdditionalData(args: {
	executionId: string;
	credentialsHelper: ICredentialsHelper;
	hooks: ExecutionLifecycleHooks;
	streaming: boolean;
}): IWorkflowExecuteAdditionalData {
	return {
		credentialsHelper: args.credentialsHelper,
		hooks: args.hooks,
		executionId: args.executionId,
		streamingEnabled: args.streaming,
		currentNodeExecutionIndex: 0,
		restApiUrl: `${HARNESS_BASE_URL}/rest`,
		instanceBaseUrl: `${HARNESS_BASE_URL}/`,
		formWaitingBaseUrl: `${HARNESS_BASE_URL}/form-waiting`,
		webhookBaseUrl: `${HARNESS_BASE_URL}/webhook`,
		webhookWaitingBaseUrl: `${HARNESS_BASE_URL}/webhook-waiting`,
		webhookTestBaseUrl: `${HARNESS_BASE_URL}/webhook-test`,
		variables: {},
		userId: 'harness-user',
		externalSecretsProxy: new ExternalSecretsProxy(),
		executeWorkflow: async () => {
			throw new ApplicationError('The n8n test harness cannot run sub-workflows');
		},
		getRunExecutionData: async () => undefined,
		startRunnerTask: async () => {
			throw new ApplicationError('The n8n test harness has no task runners');
		},
		// Not logger output in n8n, but they can carry request data, so key-leak checks see them too.
		logAiEvent: (eventName, payload) => recordLog('info', `AI event ${eventName}`, payload),
		sendDataToUI: (type, data) => recordLog('info', `UI message ${type}`, { data }),
		setExecutionStatus: () => undefined,
	};
}

/** Wires `signal` to the execution's cancel(), which aborts the engine's own AbortController. */
async function awaitExecution(execution: Execution, signal?: AbortSignal): Promise<IRun> {
	if (!signal) return await execution;
	const cancel = () => execution.cancel();
	if (signal.aborted) cancel();
	else signal.addEventListener('abort', cancel, { once: true });
	try {
		return await execution;
	} finally {
		signal.removeEventListener('abort', cancel);
	}
}

function toRunResult(run: IRun, scope: RunScope, executionId: string): RunResult {
	const { runData } = run.data.resultData;
	const outputs: Record<string, INodeExecutionData[][]> = {};
	for (const [nodeName, tasks] of Object.entries(runData)) {
		const main = tasks.at(-1)?.data?.main ?? [];
		outputs[nodeName] = main.map((items) => items ?? []);
	}
	return { outputs, error: executionError(run, scope, executionId), runData, logs: scope.logs };
}

/**
 * The run's error as an Error: the instance the failing node threw if the engine's record
 * matches it, a ManualExecutionCancelledError for cancelled runs, else rebuilt from the record.
 */
function executionError(run: IRun, scope: RunScope, executionId: string): Error | undefined {
	const { error: recorded, lastNodeExecuted } = run.data.resultData;
	if (!recorded) return undefined;
	const thrown = lastNodeExecuted ? scope.thrown.get(lastNodeExecuted) : undefined;
	if (thrown instanceof Error && thrown.message === recorded.message) return thrown;
	if (run.status === 'canceled') return new ManualExecutionCancelledError(executionId);
	return Object.assign(new Error(recorded.message), recorded);
}

// ---------------------------------------------------------------------------------------------
// runNode helpers
// ---------------------------------------------------------------------------------------------

function createNodeUnderTest(opts: RunNodeOptions, nodeType: INodeType | IVersionedNodeType): INode {
	const typeVersion = opts.typeVersion ?? latestVersion(nodeType);
	const { description } = NodeHelpers.getVersionedNodeType(nodeType, typeVersion);
	return {
		id: randomUUID(),
		// The name n8n's editor would give it, so `$('Name')` expressions read naturally.
		name: description.defaults.name ?? description.displayName,
		type: opts.type,
		typeVersion,
		position: [200, 0],
		parameters: opts.parameters,
		...(opts.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
}

function connectStartTo(nodeName: string): IConnections {
	return {
		[START_NODE_NAME]: {
			[NodeConnectionTypes.Main]: [[{ node: nodeName, type: NodeConnectionTypes.Main, index: 0 }]],
		},
	};
}
