// package.json's "version", for the browser build (a page cannot read package.json).
// test/browser/version.test.ts fails when the two differ; copy the new version here when releasing.
export const PACKAGE_VERSION = '0.1.0';
