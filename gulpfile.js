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

// The cloud edition (scripts/cloud-edition.ts): the same icons and codex, from its staged source.
const cloudSource = path.resolve('build/cloud/src');
function copyCloudIcons() {
	return src(['icons/**/*.{png,svg}', 'nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], {
		cwd: cloudSource,
		base: cloudSource,
		encoding: false,
	}).pipe(dest(path.resolve('build/cloud/package/dist')));
}

function copyCloudCodex() {
	return src(['nodes/**/*.node.json'], { cwd: cloudSource, base: cloudSource }).pipe(dest(path.resolve('build/cloud/package/dist')));
}

exports.buildCloud = parallel(copyCloudIcons, copyCloudCodex);
