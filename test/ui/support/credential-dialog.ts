/**
 * The credential dialog of the n8n 2.8.4 editor. Opening a saved credential tests it at once;
 * saving a change tests it again. Only the success banner has a test id (it stays in the DOM,
 * hidden, after a failure); the failure banner is found by its text.
 */
import type { Locator, Page } from 'playwright-core';

export const TEST_SUCCEEDED = 'Connection tested successfully';
/** The editor writes a typographic apostrophe; accept both. */
export const TEST_FAILED = /Couldn.t connect with these settings/;

/** Opens a credential the way a user does: the Credentials tab of the overview, then its card. */
export async function openCredentialFromOverview(page: Page, baseUrl: string, credentialName: string): Promise<Locator> {
	await page.goto(`${baseUrl}/home/credentials`);
	await page.getByTestId('resources-list-item').filter({ hasText: credentialName }).first().click();
	const dialog = page.getByTestId('credential-edit-dialog');
	await dialog.waitFor();
	return dialog;
}

export async function waitForTestSuccess(dialog: Locator): Promise<void> {
	await dialog.getByTestId('credentials-config-container-test-success').getByText(TEST_SUCCEEDED).waitFor();
}

export async function waitForTestFailure(dialog: Locator): Promise<void> {
	await dialog.getByText(TEST_FAILED).waitFor();
}

/** Types a new API key and saves; the Save button sits in the dialog header, outside the dialog element. */
export async function saveWithApiKey(page: Page, dialog: Locator, apiKey: string): Promise<void> {
	await dialog.getByTestId('parameter-input-apiKey').locator('input').fill(apiKey);
	await page.getByTestId('credential-save-button').click();
}

/** The reason behind "Couldn't connect": "More details" unfolds it inside the banner. */
export async function showFailureReason(dialog: Locator, reason: string | RegExp): Promise<void> {
	await dialog.getByText('More details').click();
	await dialog.getByText(reason).waitFor();
}
