import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { loadModel } from '../../src/io/run-dir.js';
import { rangeRate } from '../../src/workflows/lr-find-curve.js';
import { encodePng } from '../io/image-fixtures.js';
import { sameValues, useBackend, weightValues } from '../helpers.js';
import { bandImage, makePredictRuns } from '../workflows/predict-fixtures.js';
import { cliCapture } from './in-process.js';

/** graft lr-find through the CLI: range checks, the curve and plot it writes, the source left alone. */

const root = mkdtempSync(path.join(tmpdir(), 'graft-lr-find-cli-'));
const images = path.join(root, 'bands');
let source: string;

beforeAll(async () => {
  await useBackend();
  process.env.XDG_CACHE_HOME = path.join(root, 'cache');
  ({ grey: source } = await makePredictRuns(root));
  const rng = new Rng(3);
  ['top', 'bottom'].forEach((c, k) => {
    mkdirSync(path.join(images, c), { recursive: true });
    for (let i = 0; i < 40; i++) {
      const g = bandImage(28, 28, k, rng);
      writeFileSync(path.join(images, c, `${i}.png`), encodePng(28, 28, Uint8Array.from({ length: g.length * 3 }, (_, j) => g[Math.floor(j / 3)]!), true));
    }
  });
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('graft lr-find', () => {
  it('refuses a range that does not rise, a non-positive end and too few steps, naming the values', async () => {
    for (const [args, says] of [
      [['--min', '10', '--max', '1'], 'min 10 is not below max 1'],
      [['--min', '0.1', '--max', '0.1'], 'min 0.1 is not below max 0.1'],
      [['--min', '0'], '--min needs a number greater than 0; received "0"'],
      [['--max', '-5'], '--max needs a number greater than 0; received "-5"'],
      [['--steps', '1'], '--steps needs a whole number'],
    ] as const) {
      // The source does not exist: the range is refused before anything is loaded.
      const r = await cliCapture(['lr-find', '--from', path.join(root, 'no-such-run'), '--task', `folder:${images}`, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(says);
    }
  });

  it('writes the curve (lr-find.json) and its plot (report.html), prints a suggestion, and leaves the source as it was', async () => {
    const before = await loadModel(source);
    const weights = weightValues(before.model);
    before.model.dispose();
    const out = path.join(root, 'lr');
    const r = await cliCapture(['lr-find', '--from', source, '--task', `folder:${images}`, '--min', '1e-5', '--max', '100', '--steps', '40', '--batch-size', '16', '--freeze', 'none', '--out', out, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Suggested learning rate: \d\.\d\de-?\d+/);
    const json = JSON.parse(readFileSync(path.join(out, 'lr-find.json'), 'utf8')) as { rates: number[]; smoothed: number[]; suggestion: { suggested: number }; graftVersion: string };
    expect(json.rates.length).toBeGreaterThan(5);
    json.rates.forEach((rate, i) => expect(rate).toBe(rangeRate(1e-5, 100, 40, i)));
    expect(r.stdout).toContain(`Suggested learning rate: ${json.suggestion.suggested.toExponential(2).replace('e+', 'e')}`);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Learning-rate range test');
    expect(html).toContain('minimum ÷ 10');
    // Nothing but its own outputs: no run written beside them.
    expect(existsSync(path.join(out, 'model.json'))).toBe(false);
    const after = await loadModel(source);
    for (const [name, w] of weightValues(after.model)) expect(sameValues(w, weights.get(name)!), name).toBe(true);
    after.model.dispose();
    // A second run into the same folder needs --force, and then replaces graft's own files.
    const again = await cliCapture(['lr-find', '--from', source, '--task', `folder:${images}`, '--steps', '10', '--out', out, '--backend', 'wasm']);
    expect(again.code).toBe(2);
    const forced = await cliCapture(['lr-find', '--from', source, '--task', `folder:${images}`, '--steps', '10', '--out', out, '--force', '--backend', 'wasm', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((JSON.parse(forced.stdout) as { steps: number }).steps).toBeLessThanOrEqual(10);
  });
});
