import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { loadExperiment } from '../../src/workflows/config/load.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(REPO, 'examples');

// The README's walkthrough runs `graft seed` from the repository folder, then the examples: each
// source model must be one that an earlier step writes, or `graft sweep examples/…` right after
// `graft seed` fails with "No model at …".
describe('examples/ read models that the walkthrough writes', () => {
  it('every from: is graft seed\'s Model A or another example\'s out:', async () => {
    const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));
    const exps = await Promise.all(files.map(async (f) => ({ f, exp: await loadExperiment(path.join(EXAMPLES, f)) })));
    const written = new Set([path.join(REPO, 'runs', 'seed', 'model-a'), ...exps.map(({ exp }) => exp.out)]);
    const sources = exps.flatMap(({ f, exp }) => ('from' in exp && typeof exp.from === 'string' ? [{ f, from: exp.from }] : []));
    expect(sources.length).toBeGreaterThan(0);
    for (const { f, from } of sources) expect(written.has(from), `${f}: from: ${from} is written by no step of the walkthrough`).toBe(true);
  });
});
