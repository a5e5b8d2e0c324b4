/**
 * One n8n for the editor tests: the packed package installed as a community package in a
 * fresh user folder, `n8n start` on 127.0.0.1, the owner set up and two Nebula Block
 * credentials (a good key and a wrong one) pointing at a fake Nebula Block server.
 */
import { randomBytes } from 'node:crypto';

import * as rt from '../../../scripts/n8n-runtime';
import { startFakeNebula, type FakeModel, type FakeNebula } from '../../support/fake-nebula';
import type { StepTimer } from '../../support/step-timer';

export const CHAT_TYPE = 'n8n-nodes-nebula-block.nebulaBlockChat';
export const TEXT_TYPE = 'n8n-nodes-nebula-block.nebulaBlockTextGenerate';
export const EMBEDDINGS_TYPE = 'n8n-nodes-nebula-block.embeddingsNebulaBlock';
export const EMBED_TYPE = 'n8n-nodes-nebula-block.nebulaBlockEmbed';
export const CREDENTIAL_TYPE = rt.NEBULA_CREDENTIAL_TYPE;

/** n8n's stand-in for a password field the client did not change (CREDENTIAL_BLANKING_VALUE). */
export const BLANKED_SECRET = '__n8n_BLANK_VALUE_e5362baf-c777-4d57-a609-6eaf1f9e87f6';

/** What the fake service offers; the model lists must show the text models only (the embeddings nodes': the embedding models only). */
export const FAKE_MODELS: FakeModel[] = [
	{ id: 'deepseek-ai/DeepSeek-V3-0324', type: 'Text', contextLength: 131072 },
	{ id: 'deepseek-ai/DeepSeek-R1-0528', type: 'Text', contextLength: 163840 },
	{ id: 'meta-llama/Llama-3.3-70B-Instruct', type: 'Text', contextLength: 131072 },
	{ id: 'meta-llama/Llama-3.1-8B-Instruct', type: 'Text', contextLength: 131072 },
	{ id: 'Qwen/QwQ-32B', type: 'Text', contextLength: 32768 },
	{ id: 'black-forest-labs/FLUX.1-schnell', type: 'Image' },
	{ id: 'BAAI/bge-large-en-v1.5', type: 'Embedding', contextLength: 512 },
	{ id: 'WhereIsAI/UAE-Large-V1', type: 'Embedding', contextLength: 512 },
];
export const TEXT_MODEL_IDS = FAKE_MODELS.filter((model) => model.type === 'Text').map((model) => model.id);

export interface SavedCredential {
	id: string;
	name: string;
	/** The key the credential holds. */
	apiKey: string;
	data: { apiKey: string; baseUrl: string; textGenerateUrl: string; ignoreSslIssues: boolean };
}

export interface UiSandbox {
	n8n: rt.RunningN8n;
	session: rt.RestSession;
	owner: rt.Owner;
	fake: FakeNebula;
	good: SavedCredential;
	wrong: SavedCredential;
	stop(): Promise<void>;
}

export async function startUiSandbox(timer: StepTimer, options: { log?: rt.Log } = {}): Promise<UiSandbox> {
	let ctx: rt.N8nContext | undefined;
	let n8n: rt.RunningN8n | undefined;
	let fake: FakeNebula | undefined;
	const stop = async () => {
		await n8n?.stop();
		await fake?.close();
		if (ctx) rt.removeUserFolder(ctx.folder);
	};
	try {
		ctx = await timer.time('install n8n if needed, pack, install the package', () => rt.prepareSandbox({ log: options.log }));
		fake = await startFakeNebula({ models: FAKE_MODELS });
		const sandboxCtx = ctx;
		n8n = await timer.time('n8n start until REST answers', () => rt.startN8n(sandboxCtx));
		const owner: rt.Owner = { ...rt.DEMO_OWNER, password: `Ui-${randomBytes(6).toString('hex')}-1` };
		const session = await rt.setupOwner(n8n.url, owner);
		const fakeUrl = fake.url;
		const good = await createCredential(session, 'Nebula Block account', fake.newKey('ui-good'), fakeUrl);
		// Looks like a real key, so a leak into a page or a log would be recognisable.
		const wrong = await createCredential(session, 'Nebula Block (wrong key)', `nb-live-${randomBytes(12).toString('hex')}`, fakeUrl);
		return { n8n, session, owner, fake, good, wrong, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

export async function createCredential(session: rt.RestSession, name: string, apiKey: string, url: string): Promise<SavedCredential> {
	const data = { apiKey, baseUrl: url, textGenerateUrl: url, ignoreSslIssues: false };
	const response = await session.post('/rest/credentials', { name, type: CREDENTIAL_TYPE, data });
	if (response.status !== 200 || typeof response.body?.data?.id !== 'string') {
		throw new Error(`Creating credential "${name}" failed: HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
	}
	return { id: response.body.data.id, name, apiKey, data };
}
