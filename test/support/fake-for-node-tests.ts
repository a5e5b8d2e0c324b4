import { startFakeNebula, type FakeNebula } from './fake-nebula';
import { shutdownHarness } from './n8n-harness';

/**
 * The fake Nebula Block server of one node test file: started before the file's tests, and closed
 * after them together with n8n-core's harness (whose engine would otherwise keep the file's
 * sockets and timers open). Call it at the top level of the file.
 *
 * The server only exists once beforeAll has run, after the file's top level; the object returned
 * forwards to it, so tests keep writing `fake.newKey()` and a use outside a test fails loudly.
 */
export function useFakeNebula(): FakeNebula {
	let server: FakeNebula | undefined;
	beforeAll(async () => {
		server = await startFakeNebula();
	});
	afterAll(async () => {
		await server?.close();
		await shutdownHarness();
	});
	return new Proxy({} as FakeNebula, {
		get(_target, property) {
			if (!server) throw new Error('The fake Nebula Block server starts in beforeAll: use it inside a test or a hook');
			const value: unknown = Reflect.get(server, property, server);
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(server) : value;
		},
	});
}
