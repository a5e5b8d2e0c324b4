import type { OptionName, OptionNode } from './table';

/**
 * Options the cloud edition cannot honour, by node: left out of its forms, never offered to do
 * nothing (the README's edition table names them).
 * - Chat Model, Max Retries: its model comes from n8n's own supplyModel (model/supply.cloud.ts),
 *   whose OpenAI client n8n builds without retries, and n8n's failed-attempt handler ends
 *   LangChain's at the first failure: a 503 gets one request whatever the option says.
 */
export const OPTIONS_THIS_EDITION_LACKS: Partial<Record<OptionNode, readonly OptionName[]>> = {
	chatModel: ['maxRetries'],
};
