import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { readRunInfo, type RunInfo } from '../../src/io/run-dir.js';
import { loadReportInput } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import { runInfo } from '../report/fixtures.js';
import { FUZZ_TIMEOUT_MS, fuzz, invariant } from './harness.js';
import { TextMutator } from './mutate.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-fuzz-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A transfer run with test metrics; a training run without them whose loss went NaN (null in JSON). */
const train = runInfo({ kind: 'train', withVal: false, phases: [['train', 3, 0.01]] });
delete train.metrics;
train.phases[0]!.history[2]!.loss = NaN;
train.phases[0]!.stopReason = 'non-finite-loss';
const SEEDS = [runInfo(), train].map((r: RunInfo) => `${JSON.stringify(r, null, 2)}\n`);

describe('fuzzing run.json', () => {
  it('every mutation ends in a run graft can report on, or a GraftError', async () => {
    const text = new TextMutator();
    await fuzz({
      name: 'run.json',
      seed: 106,
      sync: false,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        const m = text.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `${k === 0 ? 'transfer run' : 'train run'}: ${m.what}`, size: m.value.length };
      },
      // Both readers: graft's own (loadModel, predict) and the report's, which then renders it.
      run: async (json, label) => {
        const dir = path.join(root, label);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'run.json'), json);
        try {
          const run = await readRunInfo(path.join(dir, 'run.json'));
          const input = await loadReportInput(dir);
          return { run, html: renderReport(input) };
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      check: ({ run, html }) => {
        invariant(typeof run.task === 'string' && Array.isArray(run.classNames) && Array.isArray(run.phases), 'run lacks its core fields');
        invariant(html.includes('</html>'), 'report not rendered');
      },
    });
  }, FUZZ_TIMEOUT_MS);
});
