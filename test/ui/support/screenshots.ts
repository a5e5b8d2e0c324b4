/**
 * Screenshots of every run go to .cache/ui-screenshots (git-ignored) for people and CI logs to look at.
 * With UI_DOC_IMAGES=1 the ones the README shows are also written to docs/images: the images change
 * only when someone means to update them, not on every test run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Page } from 'playwright-core';

import { REPO_ROOT } from '../../../scripts/n8n-runtime';

export const SCREENSHOT_DIR = path.join(REPO_ROOT, '.cache', 'ui-screenshots');
export const DOC_IMAGES_DIR = path.join(REPO_ROOT, 'docs', 'images');

const writeDocImages = process.env.UI_DOC_IMAGES === '1';

export async function screenshot(page: Page, name: string, options: { docImage?: boolean } = {}): Promise<string> {
	fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
	const file = path.join(SCREENSHOT_DIR, `${name}.png`);
	// Hovered fields show extra controls: park the pointer in the top-left corner, behind any panel's backdrop.
	await page.mouse.move(1, 1);
	// Blinking carets would make the images differ from run to run for no reason.
	await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
	if (options.docImage && writeDocImages) {
		fs.mkdirSync(DOC_IMAGES_DIR, { recursive: true });
		fs.copyFileSync(file, path.join(DOC_IMAGES_DIR, `${name}.png`));
	}
	return file;
}
