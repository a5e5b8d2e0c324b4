/**
 * What a user does in the n8n 2.8.4 editor, as Playwright steps. Test ids are the editor's own
 * `data-test-id` attributes (measured in /work/shared/notes/n8n-editor-and-rest.md).
 */
import type { BrowserContext, Locator, Page } from 'playwright-core';

/** Logs the browser in with the owner's REST cookie (a cookie from curl-like setup carries no browser id). */
export async function signInWithCookie(context: BrowserContext, baseUrl: string, cookie: string): Promise<void> {
	const [name, ...rest] = cookie.split('=');
	await context.addCookies([{ name, value: rest.join('='), domain: new URL(baseUrl).hostname, path: '/', httpOnly: true }]);
}

export async function openNewWorkflow(page: Page, baseUrl: string): Promise<void> {
	await page.goto(`${baseUrl}/workflow/new`);
	await page.getByTestId('canvas-add-button').waitFor();
}

/** The names the node picker lists for a search, in the order it shows them. */
export async function searchNodePicker(page: Page, search: string): Promise<string[]> {
	await page.getByTestId('canvas-add-button').click();
	// The test id sits on the <input> itself.
	await page.getByTestId('node-creator-search-bar').fill(search);
	const names = page.getByTestId('node-creator-item-name');
	await names.first().waitFor();
	return names.allInnerTexts();
}

export interface NodeDetails {
	/** The "Node details" panel text a community node shows before it is added. */
	detailsText: string;
	/** The node's parameter panel (NDV). */
	ndv: Locator;
}

/** Adds a node listed by the picker; community nodes open a details panel with "Add to workflow" first. */
export async function addNodeFromPicker(page: Page, displayName: string): Promise<NodeDetails> {
	await page.getByTestId('node-creator-item-name').filter({ hasText: exactly(displayName) }).click();
	const addButton = page.getByTestId('node-creator').getByRole('button', { name: 'Add to workflow' });
	await addButton.waitFor();
	const detailsText = await page.getByTestId('node-creator').innerText();
	await addButton.click();
	const ndv = page.getByTestId('ndv');
	await ndv.getByTestId('node-parameters').waitFor();
	return { detailsText, ndv };
}

/** Adding a node auto-selects a credential of its type: pick the wanted one explicitly. */
export async function selectCredential(page: Page, ndv: Locator, credentialId: string, credentialName: string): Promise<void> {
	await ndv.getByTestId('node-credentials-select').click();
	await page.getByTestId(`node-credentials-select-item-${credentialId}`).click();
	await waitForInputValue(ndv.getByTestId('node-credentials-select').locator('input'), credentialName, 'equals');
}

export interface ModelPick {
	/** The whole list, as shown when it opens. */
	listed: string[];
	/** What is left after typing the filter. */
	filtered: string[];
	/** What the Model field shows afterwards. */
	shown: string;
}

/** Model "From list": open it, type a filter, wait for the shorter list, pick the item that names the model. */
export async function pickModelFromList(
	page: Page,
	ndv: Locator,
	filter: string,
	modelId: string,
	onListShown: () => Promise<unknown> = async () => undefined,
): Promise<ModelPick> {
	await ndv.getByTestId('rlc-input').click();
	// The list lives in a popover outside the NDV.
	const items = page.getByTestId('rlc-item');
	await items.first().waitFor();
	const listed = await items.allInnerTexts();
	await onListShown();
	// The test id sits on the <input> itself; the editor waits about a second after typing before it searches.
	await page.getByTestId('rlc-search').fill(filter);
	await page.waitForFunction(
		({ count }) => {
			const shown = (globalThis as any).document.querySelectorAll('[data-test-id="rlc-item"]');
			return shown.length > 0 && shown.length < count;
		},
		{ count: listed.length },
	);
	const filtered = await items.allInnerTexts();
	await items.filter({ hasText: modelId }).first().click();
	const field = ndv.getByTestId('rlc-input');
	await waitForInputValue(field, modelId, 'startsWith');
	return { listed, filtered, shown: await field.inputValue() };
}

/** Opens Model "From list" expecting an error, returns what it says, and closes the list again. */
export async function modelListError(page: Page, ndv: Locator): Promise<string> {
	await ndv.getByTestId('rlc-input').click();
	const message = page.getByTestId('rlc-error-message');
	await message.waitFor();
	const text = await message.innerText();
	// A click outside the popover closes it (Escape could close the whole panel).
	await ndv.getByTestId('tab-params').click();
	await message.waitFor({ state: 'hidden' });
	return text;
}

/** Fills a string or multi-line parameter of the open node. */
export async function fillParameter(ndv: Locator, name: string, value: string, nth = 0): Promise<void> {
	await ndv.getByTestId(`parameter-input-${name}`).nth(nth).locator('input, textarea').first().fill(value);
}

/**
 * A collection's add select (e.g. "Add Image" on the nth user message): opens it, returns the option
 * names it lists and picks `option`. n8n 2.8.4 shows node collections as a select whose placeholder
 * is the collection's placeholder; its options live in a popover outside the NDV.
 */
export async function addCollectionOption(page: Page, ndv: Locator, option: string, nth = 0): Promise<string[]> {
	await ndv.getByTestId('collection-parameter-add').nth(nth).click();
	const items = page.locator('[data-test-id="collection-parameter-option"]:visible');
	await items.first().waitFor();
	const listed = (await items.allInnerTexts()).map((text) => text.trim());
	await items.filter({ hasText: exactly(option) }).click();
	return listed;
}

/** "Execute step" in the NDV, then waits until the output panel shows `expected`. */
export async function runNodeAndWaitForOutput(page: Page, ndv: Locator, expected: string): Promise<Locator> {
	await ndv.getByTestId('node-execute-button').click();
	const output = page.getByTestId('output-panel');
	await output.getByText(expected).first().waitFor();
	return output;
}

/** Puts the top of the form in view with no field focused (a focused field shows a tip over the form). */
export async function showTopOfForm(ndv: Locator): Promise<void> {
	await ndv.page().evaluate(() => (globalThis as any).document.activeElement?.blur());
	await ndv.getByTestId('node-credentials-select').scrollIntoViewIfNeeded();
}

/** Switches the output panel to one of its views: 'schema', 'table' or 'json'. */
export async function showOutputAs(output: Locator, view: 'schema' | 'table' | 'json'): Promise<void> {
	await output.getByTestId(`radio-button-${view}`).click();
}

function exactly(text: string): RegExp {
	return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** Waits until an <input> shows a value (Vue sets the property, not the attribute, so CSS cannot see it). */
async function waitForInputValue(input: Locator, expected: string, how: 'equals' | 'startsWith'): Promise<void> {
	const handle = await input.elementHandle();
	await input.page().waitForFunction(
		({ element, value, mode }) => {
			const actual = (element as unknown as { value: string }).value;
			return mode === 'equals' ? actual === value : actual.startsWith(value);
		},
		{ element: handle, value: expected, mode: how },
	);
}
