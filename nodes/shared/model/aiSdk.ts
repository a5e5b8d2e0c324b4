import * as fs from 'node:fs';
import * as path from 'node:path';

import type { ISupplyDataFunctions } from 'n8n-workflow';

import type { SupplyModel } from './sdkTypes';
import type { ChatModelClass } from './thinking';

export type { OpenAiModelConfig, SupplyModel } from './sdkTypes';

/** n8n's AI SDK module: where the Chat Model finds n8n's AI modules; `supplyModel` identifies it. */
export interface AiSdk {
	supplyModel: SupplyModel;
	/** Which module it came from and where, for logs and error reports. */
	moduleName: string;
	file: string;
}

/**
 * n8n 2.16 and later ship the public SDK; n8n 2.8 to 2.15 ship the same `supplyModel` in
 * `@n8n/ai-utilities`. The SDK wins when both are there.
 */
export const AI_SDK_MODULES = ['@n8n/ai-node-sdk', '@n8n/ai-utilities'] as const;

/** `@n8n/ai-utilities` is a dependency of n8n's LangChain nodes, not of n8n itself. */
const LANGCHAIN_NODES_PACKAGE = '@n8n/n8n-nodes-langchain';

/**
 * What the Chat Model builds its LangChain model from, all public exports of n8n's own modules:
 * `ChatOpenAI` from the `@langchain/openai` that n8n's AI utilities use, and the tracing and
 * failed-attempt handling n8n gives its own models (exported by `@n8n/ai-utilities`).
 */
export interface ModelParts {
	ChatOpenAI: ChatModelClass;
	N8nLlmTracing: new (context: ISupplyDataFunctions) => object;
	makeN8nLlmFailedAttemptHandler: (
		context: ISupplyDataFunctions,
		handler?: (error: unknown) => void,
	) => (error: unknown) => void;
	/** Where they came from, for error reports. */
	files: string[];
}

const AI_UTILITIES = '@n8n/ai-utilities';
const LANGCHAIN_OPENAI = '@langchain/openai';

/**
 * Finds the model parts next to the SDK n8n runs with: `@n8n/ai-node-sdk` re-exports
 * `@n8n/ai-utilities` (its dependency), which in turn depends on `@langchain/openai`.
 */
export function loadModelParts(sdk: AiSdk): ModelParts {
	const utilitiesFile = utilitiesFileOf(sdk);
	const utilities = require(utilitiesFile) as Partial<ModelParts>;
	const openAiFile = tryResolve(LANGCHAIN_OPENAI, path.dirname(utilitiesFile));
	if (openAiFile === undefined) throw new AiSdkNotFoundError([path.dirname(utilitiesFile)], LANGCHAIN_OPENAI);
	const { ChatOpenAI } = require(openAiFile) as { ChatOpenAI?: ChatModelClass };
	if (
		typeof ChatOpenAI !== 'function' ||
		typeof utilities.N8nLlmTracing !== 'function' ||
		typeof utilities.makeN8nLlmFailedAttemptHandler !== 'function'
	) {
		throw new AiSdkNotFoundError([utilitiesFile, openAiFile], 'ChatOpenAI, N8nLlmTracing and makeN8nLlmFailedAttemptHandler');
	}
	return {
		ChatOpenAI,
		N8nLlmTracing: utilities.N8nLlmTracing,
		makeN8nLlmFailedAttemptHandler: utilities.makeN8nLlmFailedAttemptHandler,
		files: [utilitiesFile, openAiFile],
	};
}

/** `@n8n/ai-utilities` next to the SDK (or the SDK itself on n8n 2.8 to 2.15). */
function utilitiesFileOf(sdk: AiSdk): string {
	const utilitiesFile =
		sdk.moduleName === AI_UTILITIES ? sdk.file : tryResolve(AI_UTILITIES, path.dirname(sdk.file)) ?? tryResolve(AI_UTILITIES, undefined);
	if (utilitiesFile === undefined) throw new AiSdkNotFoundError([path.dirname(sdk.file)], AI_UTILITIES);
	return utilitiesFile;
}

/** LangChain's abstract Embeddings class, as far as the Embeddings sub-node uses it. */
export type EmbeddingsBase = abstract new (params: Record<string, unknown>) => object;

/**
 * What the Embeddings sub-node needs to be logged on its node like n8n's own embeddings:
 * n8n's `logWrapper` (exported by `@n8n/ai-utilities` 0.2 to 0.34 at least), and LangChain's
 * `Embeddings` class from the `@langchain/core` that those utilities resolve, since `logWrapper`
 * logs only instances of that very class (n8n 2.8.4 installs two copies of @langchain/core).
 */
export interface EmbeddingsParts {
	Embeddings: EmbeddingsBase;
	logWrapper: <T>(instance: T, context: ISupplyDataFunctions) => T;
	files: string[];
}

const LANGCHAIN_EMBEDDINGS = '@langchain/core/embeddings';

export function loadEmbeddingsParts(sdk: AiSdk): EmbeddingsParts {
	const utilitiesFile = utilitiesFileOf(sdk);
	const { logWrapper } = require(utilitiesFile) as { logWrapper?: unknown };
	const coreFile = tryResolve(LANGCHAIN_EMBEDDINGS, path.dirname(utilitiesFile));
	if (coreFile === undefined) throw new AiSdkNotFoundError([path.dirname(utilitiesFile)], LANGCHAIN_EMBEDDINGS);
	const { Embeddings } = require(coreFile) as { Embeddings?: unknown };
	if (typeof Embeddings !== 'function' || typeof logWrapper !== 'function') {
		throw new AiSdkNotFoundError([utilitiesFile, coreFile], 'Embeddings and logWrapper');
	}
	return { Embeddings: Embeddings as EmbeddingsBase, logWrapper: logWrapper as EmbeddingsParts['logWrapper'], files: [utilitiesFile, coreFile] };
}

export class AiSdkNotFoundError extends Error {
	constructor(
		readonly searched: string[],
		missing?: string,
	) {
		super(
			missing === undefined
				? `This n8n has neither ${AI_SDK_MODULES.join(' nor ')}, which the Nebula Block Chat Model needs (n8n 2.8 or newer)`
				: `This n8n lacks ${missing}, which the Nebula Block Chat Model needs (n8n 2.8 or newer)`,
		);
		this.name = 'AiSdkNotFoundError';
	}
}

/**
 * What to do when neither module is found. On an older n8n the fix is to update; on 2.8 or newer
 * "update n8n" would ask for what is already done, so the hint covers that case too.
 */
export function aiSdkMissingHint(searched: string[]): string {
	return (
		'Update n8n to 2.8 or newer if it is older. If it already is, the package could not find n8n\'s own modules from where it is installed: ' +
		`install it into n8n's nodes folder (~/.n8n/nodes), as the Community Nodes screen does. Looked in: ${searched.join(', ') || 'nowhere'}.`
	);
}

/**
 * Finds n8n's own copy of the AI SDK at run time. It is never imported at the top of a module:
 * on an n8n without `@n8n/ai-node-sdk` that import fails while n8n loads the package, and n8n
 * then drops every node of it.
 *
 * The package lives in `~/.n8n/nodes/node_modules/`, outside n8n's folder, so a plain `require`
 * only works because n8n puts its own folders on NODE_PATH at start. The other starting points
 * (the running n8n script, n8n's n8n-workflow, n8n's LangChain nodes) keep it working when that
 * changes or n8n's dependencies are nested instead of hoisted.
 */
export function loadAiSdk(startingPoints: string[] = runtimeStartingPoints()): AiSdk {
	const searched = withLangChainNodes(startingPoints);
	for (const moduleName of AI_SDK_MODULES) {
		for (const from of [undefined, ...searched]) {
			const file = tryResolve(moduleName, from);
			if (file === undefined) continue;
			const loaded = require(file) as { supplyModel?: unknown };
			if (typeof loaded.supplyModel === 'function') {
				return { supplyModel: loaded.supplyModel as SupplyModel, moduleName, file };
			}
		}
	}
	throw new AiSdkNotFoundError(searched);
}

/** Folders n8n's own modules can be resolved from, in the process that runs the node. */
export function runtimeStartingPoints(): string[] {
	const points: Array<string | undefined> = [
		require.main?.filename,
		realFile(process.argv[1]),
		tryResolve('n8n-workflow', undefined),
	];
	return unique(points.filter((point): point is string => point !== undefined).map((file) => path.dirname(file)));
}

function withLangChainNodes(startingPoints: string[]): string[] {
	const langChainNodes = startingPoints
		.map((from) => findPackageDir(LANGCHAIN_NODES_PACKAGE, from))
		.filter((dir): dir is string => dir !== undefined);
	return unique([...startingPoints, ...langChainNodes]);
}

/**
 * Where Node would find a package from a folder. Looked up on disk because the LangChain nodes
 * package has no main file and does not export its package.json, so require.resolve cannot name it.
 */
function findPackageDir(packageName: string, from: string): string | undefined {
	for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
		const candidate = path.join(dir, 'node_modules', packageName);
		if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
		if (path.dirname(dir) === dir) return undefined;
	}
}

/** `undefined` as the starting point means this module's own lookup (its folders and NODE_PATH). */
function tryResolve(moduleName: string, from: string | undefined): string | undefined {
	try {
		return from === undefined ? require.resolve(moduleName) : require.resolve(moduleName, { paths: [from] });
	} catch {
		return undefined;
	}
}

function realFile(file: string | undefined): string | undefined {
	if (!file) return undefined;
	try {
		return fs.realpathSync(file);
	} catch {
		return undefined;
	}
}

function unique(values: string[]): string[] {
	return [...new Set(values)];
}
