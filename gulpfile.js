// tsc compiles the TypeScript; this copies what it does not: node and credential icons, and codex JSON.
const path = require('path');
const { src, dest, parallel } = require('gulp');

function copyIcons() {
	return src(['icons/**/*.{png,svg}', 'nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest(path.resolve('dist')));
}

function copyCodex() {
	return src(['nodes/**/*.node.json'], { base: '.' }).pipe(dest(path.resolve('dist')));
}

exports.build = parallel(copyIcons, copyCodex);
exports.default = exports.build;
