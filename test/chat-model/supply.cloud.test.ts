import type { ISupplyDataFunctions } from 'n8n-workflow';

/**
 * The cloud edition's Chat Model supply path (supply.cloud.ts) with a stand-in for n8n's
 * `@n8n/ai-node-sdk`, which is not installed here: each test loads the module afresh, with the SDK
 * mocked (virtual) or absent, so the module's own `import('@n8n/ai-node-sdk')` meets either.
 */
type CloudSupply = typeof import('../../nodes/shared/model/supply.cloud');

const SDK = '@n8n/ai-node-sdk';

/** `sdk`: what requiring the SDK gives (a function: what it runs, e.g. a throw); undefined: not installed. */
async function loadCloudSupply(sdk: Record<string, unknown> | (() => unknown) | undefined): Promise<CloudSupply> {
	let loaded: CloudSupply | undefined;
	// The registry keeps a mocked module's value across isolateModules: start from none.
	jest.resetModules();
	await jest.isolateModulesAsync(async () => {
		if (sdk) jest.doMock(SDK, typeof sdk === 'function' ? sdk : () => sdk, { virtual: true });
		else jest.dontMock(SDK);
		loaded = await import('../../nodes/shared/model/supply.cloud');
	});
	return loaded!;
}

/** A stand-in for n8n's ChatOpenAI: answers with a reasoning model's inline thinking. */
class FakeChatOpenAI {
	constructor(readonly fields: Record<string, unknown>) {}

	withConfig(): object {
		return new FakeChatOpenAI(this.fields);
	}

	async _generate() {
		const content = '<think>weighing it</think>The answer.';
		return { generations: [{ text: content, message: { content } }] };
	}

	async *_streamResponseChunks() {
		for (const content of ['<think>weigh', 'ing</think>The ', 'answer.']) yield { text: content, message: { content } };
	}
}

function fakeSdk() {
	const calls: Array<{ context: unknown; config: Record<string, any> }> = [];
	const supplyModel = (context: unknown, config: Record<string, any>) => {
		calls.push({ context, config });
		return { response: new FakeChatOpenAI(config) };
	};
	return { sdk: { supplyModel }, calls };
}

const node = { name: 'Nebula Block Chat Model', type: 'n8n-nodes-nebula-block-cloud.lmChatNebulaBlock', typeVersion: 1, parameters: {} };

function fakeContext(options: Record<string, unknown> = {}, credentials: Record<string, unknown> = {}): ISupplyDataFunctions {
	return {
		getNode: () => node,
		getCredentials: async () => ({ apiKey: 'nb-test-key', baseUrl: 'https://nebula.example/v1/', ...credentials }),
		getNodeParameter: (name: string) => (name === 'model' ? 'meta-llama/Llama-3.3-70B-Instruct' : name === 'options' ? options : undefined),
		helpers: { httpRequestWithAuthentication: async () => ({}) },
	} as unknown as ISupplyDataFunctions;
}

describe('supplyChatModel (cloud edition)', () => {
	test("hands n8n's supplyModel the model, base URL, key, Timeout and options; one request per call (maxRetries 0)", async () => {
		const { sdk, calls } = fakeSdk();
		const { supplyChatModel } = await loadCloudSupply(sdk);
		const context = fakeContext({ timeout: 45, maxRetries: 4, temperature: 0.3, maxTokens: 200, topP: 0.9, responseFormat: 'json_object' });
		const supplied = await supplyChatModel(context, 0);

		expect(calls).toHaveLength(1);
		expect(calls[0].context).toBe(context);
		expect(calls[0].config).toEqual({
			type: 'openai',
			model: 'meta-llama/Llama-3.3-70B-Instruct',
			baseUrl: 'https://nebula.example/v1',
			apiKey: 'nb-test-key',
			timeout: 45_000,
			// Max Retries (4) cannot apply: n8n's failed-attempt handler ends LangChain's retries at the first failure.
			maxRetries: 0,
			temperature: 0.3,
			maxTokens: 200,
			topP: 0.9,
			additionalParams: { response_format: { type: 'json_object' } },
			onFailedAttempt: expect.any(Function),
		});
		expect(supplied.response).toBeInstanceOf(FakeChatOpenAI);
		expect(supplied).not.toHaveProperty('closeFunction');
	});

	test('options left unset send nothing; the Timeout defaults to the option table\'s', async () => {
		const { sdk, calls } = fakeSdk();
		const { supplyChatModel } = await loadCloudSupply(sdk);
		await supplyChatModel(fakeContext(), 0);
		expect(Object.keys(calls[0].config).sort()).toEqual(['apiKey', 'baseUrl', 'maxRetries', 'model', 'onFailedAttempt', 'timeout', 'type']);
		expect(calls[0].config.timeout).toBeGreaterThan(0);
	});

	test('the model n8n builds keeps a reasoning model\'s thinking out of answers, whole and streamed', async () => {
		const { sdk } = fakeSdk();
		const { supplyChatModel } = await loadCloudSupply(sdk);
		const model = (await supplyChatModel(fakeContext(), 0)).response as FakeChatOpenAI;
		const whole = await model._generate();
		expect(whole.generations[0].text).toBe('The answer.');
		expect(whole.generations[0].message.content).toBe('The answer.');
		const streamed: string[] = [];
		for await (const chunk of model._streamResponseChunks()) streamed.push(chunk.text);
		expect(streamed.join('')).toBe('The answer.');
		// Copies made for bound tools (an agent) are of the same class.
		expect(Object.getPrototypeOf(model.withConfig())).toBe(Object.getPrototypeOf(model));
	});

	test("the failed-attempt hook gives the package's error: the service's words and a hint, never the key", async () => {
		const { sdk, calls } = fakeSdk();
		const { supplyChatModel } = await loadCloudSupply(sdk);
		await supplyChatModel(fakeContext(), 0);
		const onFailedAttempt = calls[0].config.onFailedAttempt as (error: unknown) => void;
		const clientError = Object.assign(new Error('401 Invalid API key nb-test-key'), { status: 401, error: { message: 'Invalid API key nb-test-key' } });
		let thrown: any;
		try {
			onFailedAttempt(clientError);
		} catch (error) {
			thrown = error;
		}
		expect(thrown?.constructor.name).toBe('NodeApiError');
		expect(thrown.message).toContain('Invalid API key');
		expect(JSON.stringify({ message: thrown.message, description: thrown.description })).not.toContain('nb-test-key');
		// A cancelled execution is n8n's to handle.
		expect(() => onFailedAttempt(Object.assign(new Error('aborted'), { name: 'AbortError' }))).not.toThrow();
	});

	test('Ignore SSL Issues cannot apply to this Chat Model: a certificate error says so, only when the credential asks for it', async () => {
		const { sdk, calls } = fakeSdk();
		const { supplyChatModel } = await loadCloudSupply(sdk);
		await supplyChatModel(fakeContext({}, { allowUnauthorizedCerts: true }), 0);
		await supplyChatModel(fakeContext(), 0);
		const tlsCause = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
		const clientError = Object.assign(new Error('Connection error.'), { name: 'APIConnectionError', cause: new TypeError('fetch failed', { cause: tlsCause }) });
		const descriptions = calls.map(({ config }) => {
			try {
				config.onFailedAttempt(clientError);
			} catch (error) {
				return { message: (error as Error).message, description: String((error as { description?: unknown }).description) };
			}
			return undefined;
		});
		expect(descriptions[0]?.message).toBe('Could not reach the service: self-signed certificate');
		expect(descriptions[0]?.description).toContain("This edition's Chat Model cannot ignore SSL issues");
		expect(descriptions[0]?.description).toContain('n8n-nodes-nebula-block');
		expect(descriptions[1]?.message).toBe('Could not reach the service: self-signed certificate');
		expect(descriptions[1]?.description).not.toContain('cannot ignore SSL issues');
	});
});

describe('on an n8n without @n8n/ai-node-sdk (before 2.16)', () => {
	test('the Chat Model fails with a clear error naming n8n 2.16 and the main edition; the module itself loads', async () => {
		const { supplyChatModel } = await loadCloudSupply(undefined);
		const error = await supplyChatModel(fakeContext(), 0).then(
			() => undefined,
			(thrown: unknown) => thrown as Error & { description?: string; context?: { itemIndex?: number } },
		);
		expect(error?.constructor.name).toBe('NodeOperationError');
		expect(error?.message).toBe(
			'The Nebula Block Chat Model of this edition needs n8n 2.16 or newer: this n8n does not have @n8n/ai-node-sdk',
		);
		expect(error?.description).toContain('Update n8n to 2.16 or newer');
		expect(error?.description).toContain('the main edition of this package (n8n-nodes-nebula-block)');
		expect(error?.context?.itemIndex).toBe(0);
	});

	test('an SDK without supplyModel says so, with the same way out', async () => {
		const { supplyChatModel } = await loadCloudSupply({ somethingElse: 1 });
		await expect(supplyChatModel(fakeContext(), 0)).rejects.toMatchObject({
			message: "This n8n's @n8n/ai-node-sdk has no supplyModel, which the Nebula Block Chat Model needs",
			description: expect.stringContaining('Update n8n to 2.16 or newer'),
		});
	});

	test('an SDK that is there but fails to load is not reported as missing', async () => {
		const { supplyChatModel } = await loadCloudSupply(() => {
			throw Object.assign(new Error("Cannot find module '@n8n/ai-utilities'\nRequire stack:\n- /n8n/node_modules/@n8n/ai-node-sdk/dist/cjs/index.js"), {
				code: 'MODULE_NOT_FOUND',
			});
		});
		const error = await supplyChatModel(fakeContext(), 0).then(() => undefined, (thrown: Error) => thrown);
		expect(error?.constructor.name).toBe('NodeOperationError');
		expect(error?.message).toBe("n8n's @n8n/ai-node-sdk failed to load: Cannot find module '@n8n/ai-utilities'");
	});
});
