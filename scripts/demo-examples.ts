/**
 * Which example workflows a later `npm run demo` imports into the n8n it kept: the decision only,
 * from the files in examples/, what n8n holds and what the demo recorded at its last import.
 *
 * An example whose file changed since the demo imported it is updated in place (same id) only when
 * the workflow in n8n is still the one the demo imported: n8n gives a workflow a new versionId when
 * its nodes or connections are saved, and a new updatedAt on any save (name, settings too), while
 * running it changes neither. A workflow the user changed, or published (an import unpublishes
 * it), is theirs: it is kept, and the user is told once per new version of the file how to get it.
 */
import { createHash } from 'node:crypto';

import type { WorkflowFile } from './n8n-runtime';

/** What the demo imported for one example, as recorded in demo-state.json. */
export interface ImportedExample {
	/** sha256 of the example file's workflow as the demo imported it. */
	fileHash: string;
	/** n8n's versionId and updatedAt of the workflow right after that import. */
	versionId: string;
	updatedAt: string;
	/** The file hash of the newer example the user was last told about (told once per version). */
	toldAbout?: string;
}

/** The fields of a workflow in n8n (from `n8n export:workflow`) that tell whether it changed. */
export interface WorkflowInN8n {
	id: string;
	versionId: string;
	updatedAt: string;
	/** Published: an import would unpublish it. */
	active: boolean;
	/** Deleted in the editor (n8n 2 archives first): the user put it away, so no news about it. */
	isArchived?: boolean;
}

export type ExampleStep =
	/** Not in n8n (a new example, or the user deleted it): imported as on a first run. */
	| { kind: 'import'; example: WorkflowFile }
	/** The file changed and the workflow in n8n is the one the demo imported: replaced. */
	| { kind: 'update'; example: WorkflowFile }
	/** DEMO_REIMPORT names it: replaced, whatever the user did. */
	| { kind: 'reimport'; example: WorkflowFile }
	/** The file changed but the user changed the workflow in n8n: kept; `tell` once per file version. */
	| { kind: 'keepUsers'; example: WorkflowFile; tell: boolean }
	/** In n8n without a record (imported by a demo before the record existed): kept as it is. */
	| { kind: 'adopt'; example: WorkflowFile }
	/** Nothing to do. */
	| { kind: 'unchanged'; example: WorkflowFile };

/** A hash of the workflow, not of the file's bytes: re-indenting a file is no new version. */
export function exampleHash(example: WorkflowFile): string {
	return createHash('sha256').update(canonicalJson(example)).digest('hex');
}

function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	if (value !== null && typeof value === 'object') {
		const entries = Object.keys(value as Record<string, unknown>)
			.sort()
			.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
		return `{${entries.join(',')}}`;
	}
	return JSON.stringify(value) ?? 'null';
}

/** One step per example, in the order of `examples`. */
export function planExamples(
	examples: WorkflowFile[],
	inN8n: WorkflowInN8n[],
	imported: Record<string, ImportedExample>,
	reimport: ReadonlySet<string>,
): ExampleStep[] {
	const byId = new Map(inN8n.map((workflow) => [workflow.id, workflow]));
	return examples.map((example): ExampleStep => {
		const current = byId.get(example.id);
		if (!current) return { kind: 'import', example };
		if (reimport.has(example.id)) return { kind: 'reimport', example };
		if (current.isArchived) return { kind: 'unchanged', example };
		const record = imported[example.id];
		if (!record) return { kind: 'adopt', example };
		const fileHash = exampleHash(example);
		if (record.fileHash === fileHash) return { kind: 'unchanged', example };
		const untouched = current.versionId === record.versionId && current.updatedAt === record.updatedAt && !current.active;
		if (untouched) return { kind: 'update', example };
		return { kind: 'keepUsers', example, tell: record.toldAbout !== fileHash };
	});
}

/**
 * DEMO_REIMPORT: example ids separated by commas, or `all`. An id that is no example is a mistake
 * worth stopping for (it would otherwise re-import nothing, silently).
 */
export function parseReimport(value: string | undefined, examples: WorkflowFile[]): Set<string> {
	const ids = (value ?? '').split(',').map((id) => id.trim()).filter(Boolean);
	if (ids.includes('all')) return new Set(examples.map((example) => example.id));
	const unknown = ids.filter((id) => !examples.some((example) => example.id === id));
	if (unknown.length > 0) {
		throw new Error(`DEMO_REIMPORT=${value} names no example: ${unknown.join(', ')}; pick from ${examples.map((example) => example.id).join(', ')}, or all`);
	}
	return new Set(ids);
}

/**
 * The record after this run: every example the demo imported now (with n8n's values read back
 * after the import), adopted ones, and what the user was told. Records of examples no longer in
 * examples/ stay: should the file come back, the demo still knows what it imported.
 */
export function recordAfter(
	steps: ExampleStep[],
	before: Record<string, ImportedExample>,
	inN8nAfter: WorkflowInN8n[],
): Record<string, ImportedExample> {
	const byId = new Map(inN8nAfter.map((workflow) => [workflow.id, workflow]));
	const after = { ...before };
	for (const step of steps) {
		const id = step.example.id;
		const current = byId.get(id);
		if (step.kind === 'keepUsers') {
			if (step.tell) after[id] = { ...before[id], toldAbout: exampleHash(step.example) };
		} else if (step.kind !== 'unchanged' && current) {
			after[id] = { fileHash: exampleHash(step.example), versionId: current.versionId, updatedAt: current.updatedAt };
		}
	}
	return after;
}

/** The steps that import the example's file into n8n. */
export function importsOf(steps: ExampleStep[]): ExampleStep[] {
	return steps.filter((step) => step.kind === 'import' || step.kind === 'update' || step.kind === 'reimport');
}
