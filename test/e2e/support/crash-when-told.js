/**
 * Preloaded into the demo by the demo e2e test (`node --require`): throws an uncaught exception
 * inside the demo's process once the file named by DEMO_TEST_CRASH_FILE exists, so the test can
 * check that a crash of the demo itself still stops n8n. Not part of the demo.
 */
'use strict';
const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

const trigger = process.env.DEMO_TEST_CRASH_FILE;
// Preloads also run in tsx's loader thread; the crash belongs in the demo's own (main) thread.
if (trigger && isMainThread) {
	const timer = setInterval(() => {
		if (!fs.existsSync(trigger)) return;
		clearInterval(timer);
		throw new Error('injected crash for the test');
	}, 100);
	timer.unref();
}
