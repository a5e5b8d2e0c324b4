/**
 * One measurement in a process of its own: `child.ts <measurement> <config JSON>`; the result goes
 * back to the runner over IPC. A fresh process per measurement means no pooled connection, JIT
 * state or heap left over from another one, and a clean RSS baseline for the memory figures.
 */
import { shutdownHarness } from '../../test/support/n8n-harness';
import { measureConnections } from './connections';
import { measureEditions } from './editions';
import { measureEmbeddings } from './embeddings';
import { measureMemory } from './memory';
import { measureOverhead } from './overhead';
import { measureParsing } from './parsing';
import { measureRateLimit } from './rateLimit';
import { measureRecovery } from './recovery';
import { measureThroughput } from './throughput';
import { measureTtfc } from './ttfc';
import { packageModule, type BenchConfig } from './support';

export const MEASUREMENTS = {
	throughput: measureThroughput,
	overhead: measureOverhead,
	connections: measureConnections,
	parsing: measureParsing,
	ttfc: measureTtfc,
	memoryItems: (config: BenchConfig) => measureMemory(config, 'items'),
	memoryStreamedAnswer: (config: BenchConfig) => measureMemory(config, 'streamedAnswer'),
	memoryStreamedAnswerBareUndici: (config: BenchConfig) => measureMemory(config, 'streamedAnswerBareUndici'),
	rateLimit: (config: BenchConfig) => measureRateLimit(config),
	rateLimitRecovery: measureRecovery,
	editions: measureEditions,
	embeddings: measureEmbeddings,
} as const;

export type MeasurementName = keyof typeof MEASUREMENTS;

export type ChildMessage = { ok: true; result: unknown } | { ok: false; error: string };

async function main(): Promise<void> {
	const [name, rawConfig] = process.argv.slice(2);
	const measure = MEASUREMENTS[name as MeasurementName];
	if (!measure) throw new Error(`Unknown measurement "${name}"; known: ${Object.keys(MEASUREMENTS).join(', ')}`);
	const config = JSON.parse(rawConfig) as BenchConfig;
	const result = await measure(config);
	const dispatcher = packageModule<typeof import('../../dist/nodes/shared/transport/dispatcher')>(config, 'dist/nodes/shared/transport/dispatcher');
	await dispatcher.closeDispatchers();
	await shutdownHarness();
	send({ ok: true, result });
}

function send(message: ChildMessage): void {
	// Exit only once the message is out: the runner waits for it.
	process.send?.(message, () => process.exit(message.ok ? 0 : 1));
}

if (require.main === module) {
	main().catch((error: unknown) => send({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
}
