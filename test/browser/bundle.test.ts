import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_VERSION } from '../../src/platform/browser/package-version.js';
import { BROWSER_ONNX_REASON } from '../../src/platform/browser/onnx-runtime.js';
import { bundleForBrowser, describeReaches } from './bundle-check.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the browser entry bundles for the browser', () => {
  it('reaches no Node built-in and not onnxruntime-node', async () => {
    const { code, reached } = await bundleForBrowser(path.join(ROOT, 'src/browser.ts'));
    // The message names every chain, e.g. "node:fs ← src/io/atomic.ts ← … ← src/browser.ts".
    expect(describeReaches(reached), 'Node modules reached from src/browser.ts').toBe('');
    // package.json's browser field swapped the onnxruntime loader for the page's stand-in.
    expect(code).toContain(BROWSER_ONNX_REASON);
  });

  it('names the import chain that reaches a Node built-in', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'graft-bundle-check-'));
    try {
      // An entry that reaches node:crypto two files down, through graft's atomic writes.
      const middle = path.join(dir, 'middle.ts');
      const entry = path.join(dir, 'entry.ts');
      await writeFile(middle, `export { writeFileAtomic } from ${JSON.stringify(path.join(ROOT, 'src/io/atomic.ts'))};\n`);
      await writeFile(entry, `export { writeFileAtomic } from './middle.ts';\n`);
      const { reached } = await bundleForBrowser(entry);
      const crypto = reached.find((r) => r.module === 'node:crypto');
      expect(crypto?.chain.map((f) => path.basename(f))).toEqual(['atomic.ts', 'middle.ts', 'entry.ts']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('maps each Node module to its browser stand-in for dist (what users bundle) as for src', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { browser: Record<string, string> };
    const dist = Object.entries(pkg.browser).filter(([from]) => from.startsWith('./dist/'));
    expect(dist.length).toBeGreaterThan(0);
    for (const [from, to] of dist) {
      // tsc turns src/X.ts into dist/X.js: the src pair must be the same mapping.
      const srcFrom = from.replace('./dist/', './src/');
      expect(pkg.browser[srcFrom], `browser field lacks ${srcFrom}`).toBe(to.replace('./dist/', './src/').replace(/\.js$/, '.ts'));
      await expect(readFile(path.join(ROOT, srcFrom.replace(/\.js$/, '.ts')))).resolves.toBeDefined();
      await expect(readFile(path.join(ROOT, to.replace('./dist/', './src/').replace(/\.js$/, '.ts')))).resolves.toBeDefined();
    }
  });

  it("the page's version constant equals package.json's", async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(PACKAGE_VERSION, 'src/platform/browser/package-version.ts: copy package.json\'s version there').toBe(pkg.version);
  });
});
