import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { loadModel } from '../../src/io/run-dir.js';
import { useBackend } from '../helpers.js';

/**
 * A reader racing --force replaces: a child process (replace-race-child.mjs) replaces one run
 * folder at least 600 times (and on until this process has made WANTED whole loads), alternating two saves whose weights (all 1 or all 2) and run.json seeds (1 or
 * 2) differ; this process loads the folder as fast as it can meanwhile. Every load must be one
 * whole save, or a GraftError — never one save's weights with the other's run.json (before
 * run.json recorded its files' hashes, 49 of 400 loads were such mixes), never a raw error.
 */

beforeAll(useBackend);

const CHILD = path.resolve(__dirname, 'replace-race-child.mjs');
const ALTERNATIONS = 600;
/** Whole loads to see before the child may stop: how hard the race is tried does not hang on the machine's speed. */
const WANTED = 150;

describe('reading a run while --force replaces it', () => {
  it(`reads one whole save or fails with a GraftError, over at least ${ALTERNATIONS} replacements`, async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'graft-race-'));
    const child = spawn(process.execPath, [CHILD, root, String(ALTERNATIONS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close', not 'exit': the child's last line (done N) has been read by then.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    const lines = createInterface({ input: child.stdout });
    let minReached = false;
    let replacements = 0;
    lines.on('line', (l) => {
      if (l === 'min') minReached = true;
      if (l.startsWith('done ')) replacements = Number(l.slice(5));
    });
    await new Promise<void>((resolve) => lines.on('line', (l) => l === 'ready' && resolve()));
    let stopSent = false;

    const outcomes = { whole: 0, mixed: 0, graftErrors: new Map<string, number>(), otherErrors: [] as string[] };
    while (!done) {
      try {
        const m = await loadModel(path.join(root, 'run'));
        const weight = (m.model.getWeights()[0]!.dataSync() as Float32Array)[0]!;
        if (weight === m.run!.seed) outcomes.whole++;
        else outcomes.mixed++;
        m.model.dispose();
      } catch (e) {
        if (e instanceof GraftError) outcomes.graftErrors.set(e.code, (outcomes.graftErrors.get(e.code) ?? 0) + 1);
        else outcomes.otherErrors.push(String(e));
      }
      if (minReached && outcomes.whole >= WANTED && !stopSent) {
        child.stdin!.end('stop\n');
        stopSent = true;
      }
    }
    expect(await exited, stderr).toBe(0);
    // Printed so a run shows how hard the race was tried.
    console.log(`replace race: ${replacements} replacements; loads: ${outcomes.whole} whole, ${outcomes.mixed} mixed; GraftErrors ${JSON.stringify(Object.fromEntries(outcomes.graftErrors))}; other errors ${outcomes.otherErrors.length}`);
    expect(outcomes.mixed).toBe(0);
    expect(outcomes.otherErrors).toEqual([]);
    // Enough loads met the race for the check to mean something.
    expect(replacements).toBeGreaterThanOrEqual(ALTERNATIONS);
    expect(outcomes.whole).toBeGreaterThan(100);
    expect(tf.memory().numTensors).toBeLessThan(50);
  });
});
