// Child process for kill-save.test.ts: saves runs with graft's built saveRun (dist/) in a loop
// until the parent SIGKILLs it. Each round v first replaces ROOT/replace (--force), then writes
// the new folder ROOT/fresh-v; every weight of round v equals v, and run.json's seed is v, so the
// parent can tell a complete save of one round from a mix of two.
// With STEP_DELAY_MS > 0 every write step (open, 1 MiB chunk, fsync, rename) first waits that long,
// as on a slow disk, so that more kills land inside the writing rather than in serialisation.
// Usage: node save-loop-child.mjs ROOT WEIGHT_MIB [STEP_DELAY_MS]
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../dist/engine/backend.js';
import { saveRun } from '../../dist/io/run-dir.js';
import { childRunInfo } from './child-run-info.mjs';
import { writeFaults } from '../../dist/io/atomic.js';

const [root, mib = '16', stepDelay = '0'] = process.argv.slice(2);
if (!root) throw new Error('usage: save-loop-child.mjs ROOT WEIGHT_MIB [STEP_DELAY_MS]');
if (Number(stepDelay) > 0) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  writeFaults.before = () => void Atomics.wait(cell, 0, 0, Number(stepDelay));
}
await initBackend('cpu');
const inputs = 1000;
const units = Math.max(1, Math.round((Number(mib) * 2 ** 20) / 4 / inputs));
// Zeros: initialising millions of weights randomly would dominate the child's start-up.
const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [inputs], units, kernelInitializer: 'zeros', name: 'big' })] });
const info = (v) => childRunInfo('kill-test', v, inputs);

process.stdout.write(`ready ${units}\n`);
for (let v = 1; ; v++) {
  const w = [tf.fill([inputs, units], v), tf.fill([units], v)];
  model.getLayer('big').setWeights(w);
  tf.dispose(w);
  await saveRun(path.join(root, 'replace'), model, info(v), { force: true });
  await saveRun(path.join(root, `fresh-${v}`), model, info(v));
  process.stdout.write(`saved ${v}\n`);
}
