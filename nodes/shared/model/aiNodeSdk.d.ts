/**
 * Just enough of `@n8n/ai-node-sdk` for the cloud edition's Chat Model (supply.cloud.ts) to
 * compile. It is n8n's module, an optional peer: never a dependency of the package, and absent
 * from n8n before 2.16. What `supplyModel` takes and gives is declared in sdkTypes.ts; the module
 * is typed loosely here because supply.cloud.ts checks at run time what it got.
 */
declare module '@n8n/ai-node-sdk' {
	export const supplyModel: unknown;
}
