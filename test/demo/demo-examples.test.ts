/**
 * The demo's decision which examples a later run imports (scripts/demo-examples.ts). The real
 * runs, with n8n's own versionId and updatedAt, are in test/e2e/demo.e2e.ts.
 */
import { exampleHash, parseReimport, planExamples, recordAfter, type ImportedExample, type WorkflowInN8n } from '../../scripts/demo-examples';
import type { WorkflowFile } from '../../scripts/n8n-runtime';

function example(id: string, text = 'v1'): WorkflowFile {
	return { id, name: `Example ${id}`, nodes: [{ name: 'Set', parameters: { text } }], connections: {} };
}

const inN8n = (id: string, versionId = `${id}-v`, updatedAt = '2026-01-01T00:00:00.000Z', active = false): WorkflowInN8n => ({ id, versionId, updatedAt, active });

function record(workflow: WorkflowFile, n8n: WorkflowInN8n, toldAbout?: string): ImportedExample {
	return { fileHash: exampleHash(workflow), versionId: n8n.versionId, updatedAt: n8n.updatedAt, ...(toldAbout ? { toldAbout } : {}) };
}

describe('planExamples', () => {
	const old = example('a', 'old');
	const changed = example('a', 'new');
	const asImported = inN8n('a');

	it('imports an example n8n does not have, and leaves an unchanged file alone', () => {
		const steps = planExamples([example('new'), old], [asImported], { a: record(old, asImported) }, new Set());
		expect(steps.map((step) => [step.example.id, step.kind])).toEqual([
			['new', 'import'],
			['a', 'unchanged'],
		]);
	});

	it('updates a changed example the user has not touched in n8n', () => {
		const [step] = planExamples([changed], [asImported], { a: record(old, asImported) }, new Set());
		expect(step.kind).toBe('update');
	});

	it.each([
		['saved its nodes (new versionId)', inN8n('a', 'user-version')],
		['renamed it (new updatedAt)', inN8n('a', 'a-v', '2026-02-02T00:00:00.000Z')],
		['published it', inN8n('a', 'a-v', '2026-01-01T00:00:00.000Z', true)],
	])('keeps the user’s workflow when they %s, and tells them once per file version', (_what, users) => {
		const [first] = planExamples([changed], [users], { a: record(old, asImported) }, new Set());
		expect(first).toEqual({ kind: 'keepUsers', example: changed, tell: true });
		const told = recordAfter([first], { a: record(old, asImported) }, [users]);
		expect(told.a).toEqual({ ...record(old, asImported), toldAbout: exampleHash(changed) });

		const [again] = planExamples([changed], [users], told, new Set());
		expect(again).toEqual({ kind: 'keepUsers', example: changed, tell: false });
		const newer = example('a', 'newer');
		expect(planExamples([newer], [users], told, new Set())[0]).toEqual({ kind: 'keepUsers', example: newer, tell: true });
	});

	it('says nothing about a changed example the user deleted (archived) in n8n', () => {
		const archived = { ...inN8n('a', 'archived-version'), isArchived: true };
		const [step] = planExamples([changed], [archived], { a: record(old, asImported) }, new Set());
		expect(step.kind).toBe('unchanged');
	});

	it('re-imports what DEMO_REIMPORT names over the user’s version', () => {
		const [step] = planExamples([changed], [inN8n('a', 'user-version')], { a: record(old, asImported) }, new Set(['a']));
		expect(step.kind).toBe('reimport');
	});

	it('adopts an example in n8n that the demo has no record of', () => {
		const [step] = planExamples([old], [asImported], {}, new Set());
		expect(step.kind).toBe('adopt');
	});
});

describe('recordAfter', () => {
	it('records what n8n reports after the import, and keeps records of examples no longer in the folder', () => {
		const gone = { fileHash: 'x', versionId: 'y', updatedAt: 'z' };
		const updated = example('a', 'new');
		const after = recordAfter(
			[{ kind: 'update', example: updated }, { kind: 'unchanged', example: example('b') }],
			{ gone, b: record(example('b'), inN8n('b')) },
			[inN8n('a', 'imported-now', '2026-03-03T00:00:00.000Z'), inN8n('b')],
		);
		expect(after).toEqual({
			gone,
			a: { fileHash: exampleHash(updated), versionId: 'imported-now', updatedAt: '2026-03-03T00:00:00.000Z' },
			b: record(example('b'), inN8n('b')),
		});
	});
});

describe('exampleHash', () => {
	it('is the same for the same workflow written with other key order or indentation', () => {
		const reordered = JSON.parse(JSON.stringify({ connections: {}, nodes: [{ parameters: { text: 'v1' }, name: 'Set' }], name: 'Example a', id: 'a' })) as WorkflowFile;
		expect(exampleHash(reordered)).toBe(exampleHash(example('a')));
		expect(exampleHash(example('a', 'v2'))).not.toBe(exampleHash(example('a')));
	});
});

describe('parseReimport', () => {
	const examples = [example('a'), example('b')];

	it('reads ids separated by commas, or all', () => {
		expect([...parseReimport(' a, b ', examples)]).toEqual(['a', 'b']);
		expect([...parseReimport('all', examples)]).toEqual(['a', 'b']);
		expect(parseReimport(undefined, examples).size).toBe(0);
	});

	it('names the ids it does not know and the ones to pick from', () => {
		expect(() => parseReimport('a,typo', examples)).toThrow('DEMO_REIMPORT=a,typo names no example: typo; pick from a, b, or all');
	});
});
