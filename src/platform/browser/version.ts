import { version_core } from '@tensorflow/tfjs-core';
import { PACKAGE_VERSION } from './package-version.js';

/**
 * The browser's stand-in for src/version.ts (swapped in by package.json's `browser` field): Node
 * reads package.json at run time, a page cannot, so the version is a generated constant that
 * test/browser/version.test.ts holds equal to package.json's.
 */
export const GRAFT_VERSION: string = PACKAGE_VERSION;

/** The TF.js version graft runs on, from TF.js itself. */
export const TFJS_VERSION: string = version_core;
