/**
 * What the e2e files check on every `n8n execute` run: that n8n printed a run at all, and that the
 * API key is nowhere in it.
 */
import * as rt from '../../../scripts/n8n-runtime';

export interface RunOutcome {
	run: rt.ExecutionResult;
	command: rt.CommandResult;
}

/** Runs a workflow with the n8n CLI; a run n8n did not print fails with its output. */
export async function executeOrThrow(ctx: rt.N8nContext, workflowId: string): Promise<RunOutcome> {
	const outcome = await rt.executeWorkflow(ctx, workflowId);
	if (!outcome.run) {
		throw new Error(
			`n8n printed no run for ${workflowId} (exit ${outcome.command.code}):\n${outcome.command.stdout.slice(-3000)}\n${outcome.command.stderr.slice(-3000)}`,
		);
	}
	return { run: outcome.run, command: outcome.command };
}

/** The key must be nowhere: not in the run n8n saved, nor in anything it printed. */
export function expectNoKey(key: string, outcome: RunOutcome): void {
	expect(JSON.stringify(outcome.run)).not.toContain(key);
	expect(outcome.command.stdout).not.toContain(key);
	expect(outcome.command.stderr).not.toContain(key);
}

/** The last run of a node (a sub-node runs once per call). */
export function lastRunOf(run: rt.ExecutionResult, nodeName: string) {
	const runs = run.data.resultData.runData[nodeName];
	if (!runs || runs.length === 0) throw new Error(`${nodeName} did not run`);
	return runs[runs.length - 1];
}
