/**
 * An HTTPS front for the fake server with a fresh self-signed certificate, to prove the
 * credential's "Ignore SSL Issues" reaches the chat model's connection. TLS ends here and the
 * bytes go on to the fake server unchanged.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

export interface TlsFront {
	/** e.g. https://127.0.0.1:PORT/v1 */
	url: string;
	close(): Promise<void>;
}

/** Node cannot make a certificate by itself, so openssl does (it is on every CI image). */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nebula-tls-'));
	try {
		const keyFile = path.join(dir, 'key.pem');
		const certFile = path.join(dir, 'cert.pem');
		execFileSync(
			'openssl',
			['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1'],
			{ stdio: 'ignore' },
		);
		return { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

export async function startTlsFront(target: { port: number }): Promise<TlsFront> {
	const sockets = new Set<net.Socket>();
	const server = tls.createServer(selfSignedCertificate(), (client) => {
		const upstream = net.connect(target.port, '127.0.0.1');
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.on('close', () => sockets.delete(socket));
			socket.on('error', () => undefined);
		}
		client.pipe(upstream).pipe(client);
	});
	// A client that refuses the certificate ends the handshake; that is the expected case, not a failure.
	server.on('tlsClientError', () => undefined);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as net.AddressInfo;
	return {
		url: `https://127.0.0.1:${port}/v1`,
		close: () =>
			new Promise<void>((resolve) => {
				for (const socket of sockets) socket.destroy();
				server.close(() => resolve());
			}),
	};
}
