import type { ISupplyDataFunctions, SupplyData } from 'n8n-workflow';

/**
 * The model's settings, in the shape of the OpenAI model config of n8n's `supplyModel` (from
 * `@n8n/ai-node-sdk`, or `@n8n/ai-utilities` before it). The main edition's `buildChatModel` hands
 * them to ChatOpenAI (chatOpenAi.ts); the cloud edition hands them to `supplyModel` (supply.cloud.ts).
 * Declared here, in a module both editions ship, so neither n8n module is a build or runtime
 * dependency of the package.
 * `timeout` is in milliseconds; `additionalParams` are sent as they are in the request body.
 */
export interface OpenAiModelConfig {
	type: 'openai';
	baseUrl: string;
	apiKey: string;
	model: string;
	temperature?: number;
	maxTokens?: number;
	topP?: number;
	frequencyPenalty?: number;
	presencePenalty?: number;
	timeout?: number;
	maxRetries?: number;
	additionalParams?: Record<string, unknown>;
	onFailedAttempt?: (error: unknown) => void;
}

export type SupplyModel = (context: ISupplyDataFunctions, config: OpenAiModelConfig) => SupplyData;
