import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TunnelProxy {
	url: string;
	/** The `host:port` of each tunnel opened, in order. */
	seen: string[];
	close: () => Promise<void>;
}

/** A tunnelling (CONNECT) proxy on loopback that notes each tunnel it opens. */
export async function startTunnelProxy(): Promise<TunnelProxy> {
	const seen: string[] = [];
	const server = http.createServer((_req, res) => res.writeHead(405).end());
	server.on('connect', (req: http.IncomingMessage, clientSocket: net.Socket, head: Buffer) => {
		seen.push(req.url ?? '');
		const [host, port] = (req.url ?? '').split(':');
		const upstream = net.connect(Number(port), host, () => {
			clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
			upstream.write(head);
			upstream.pipe(clientSocket);
			clientSocket.pipe(upstream);
		});
		const closeBoth = () => {
			upstream.destroy();
			clientSocket.destroy();
		};
		upstream.on('error', closeBoth);
		clientSocket.on('error', closeBoth);
		sockets.push(upstream, clientSocket);
	});
	const sockets: net.Socket[] = [];
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	return {
		url: `http://127.0.0.1:${port}`,
		seen,
		close: async () => {
			for (const socket of sockets) socket.destroy();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
