/**
 * Figure 3, connections: TCP connections the fake server accepted while N items went one by one
 * (concurrency 1) through the Chat Completion node, plain and streamed, and through n8n's own
 * helpers.httpRequest. The package's connection pool is emptied before each count, so the node's
 * count includes the connection it has to open.
 */
import { startServerProcess, type RemoteFakeNebula } from './serverProcess';
import { assertEchoes, packageModule, questionItems, runChatNode, runHelperNode, type BenchConfig } from './support';

type DispatcherModule = typeof import('../../dist/nodes/shared/transport/dispatcher');

export interface ConnectionsResult {
	requests: number;
	node: number;
	nodeStreamed: number;
	n8nHelper: number;
}

export async function measureConnections(config: BenchConfig): Promise<ConnectionsResult> {
	const server = await startServerProcess({ latencyMs: 0, tokenIntervalMs: 0 });
	try {
		const items = questionItems(config.items);
		const { closeDispatchers } = packageModule<DispatcherModule>(config, 'dist/nodes/shared/transport/dispatcher');
		const countConnections = (run: (key: string) => Promise<void>) => countOpened(server, items.length, closeDispatchers, run);
		const node = await countConnections(async (key) => {
			assertEchoes(await runChatNode({ packageDir: config.packageDir, server, key, items, concurrency: 1, stream: false }), items, 'node');
		});
		const nodeStreamed = await countConnections(async (key) => {
			assertEchoes(await runChatNode({ packageDir: config.packageDir, server, key, items, concurrency: 1, stream: true }), items, 'node streamed');
		});
		const n8nHelper = await countConnections(async (key) => {
			assertEchoes(await runHelperNode(server, key, items), items, 'n8n helper');
		});
		return { requests: items.length, node, nodeStreamed, n8nHelper };
	} finally {
		await server.close();
	}
}

async function countOpened(
	server: RemoteFakeNebula,
	expectedRequests: number,
	closeDispatchers: () => Promise<void>,
	run: (key: string) => Promise<void>,
): Promise<number> {
	await closeDispatchers();
	const key = await server.newKey('connections');
	const before = await server.connectionCount();
	await run(key);
	const opened = (await server.connectionCount()) - before;
	const requests = await server.requestCount(key);
	if (requests !== expectedRequests) throw new Error(`${requests} requests reached the server, expected ${expectedRequests}`);
	return opened;
}
