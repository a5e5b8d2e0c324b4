/**
 * The edition the e2e files run against (env N8N_E2E_EDITION: main, the default, or cloud; see
 * scripts/n8n-runtime.ts), and what that edition does differently on the n8n under test.
 * The workflows are written with the main package's node types; the sandbox imports them under the
 * installed edition's.
 */
import * as rt from '../../scripts/n8n-runtime';

export const EDITION = rt.e2eEdition();
export const ON_CLOUD = EDITION === 'cloud';
/** `n8n-nodes-nebula-block` or `n8n-nodes-nebula-block-cloud`: what n8n lists the nodes under. */
export const PACKAGE_NAME = rt.editionPackageName(EDITION);

function versionBefore(version: string, than: string): boolean {
	const [major, minor] = version.split('.').map(Number);
	const [thanMajor, thanMinor] = than.split('.').map(Number);
	return major < thanMajor || (major === thanMajor && minor < thanMinor);
}

/**
 * The n8n the edition's Chat Model needs, and its own words on an older one: the main edition's
 * (nodes/shared/model/aiSdk.ts) finds supplyModel in @n8n/ai-node-sdk or @n8n/ai-utilities, the
 * cloud edition's (supply.cloud.ts) only in @n8n/ai-node-sdk.
 */
export const CHAT_MODEL_NEEDS = ON_CLOUD
	? {
			n8n: '2.16',
			refusal: 'The Nebula Block Chat Model of this edition needs n8n 2.16 or newer: this n8n does not have @n8n/ai-node-sdk',
		}
	: {
			n8n: '2.8',
			refusal: 'This n8n has neither @n8n/ai-node-sdk nor @n8n/ai-utilities, which the Nebula Block Chat Model needs (n8n 2.8 or newer)',
		};

/** The Chat Model's refusal on the n8n under test, or undefined when it runs there. */
export const CHAT_MODEL_REFUSAL: string | undefined = versionBefore(rt.e2eN8nVersion(), CHAT_MODEL_NEEDS.n8n) ? CHAT_MODEL_NEEDS.refusal : undefined;

