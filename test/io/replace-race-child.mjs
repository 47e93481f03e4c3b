// Child process for replace-race.test.ts: replaces ROOT/run with graft's built saveRun (dist/),
// --force each time, alternating two saves: in save A every weight is 1 and run.json's seed is 1,
// in save B every weight is 2 and the seed 2, so a reader can tell a whole save from a mix.
// It makes at least ALTERNATIONS replacements (then prints `min`) and goes on until a `stop` line
// on stdin or 10× ALTERNATIONS, so a slow reader still meets enough of them; it ends with `done N`.
// Usage: node replace-race-child.mjs ROOT ALTERNATIONS
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../dist/engine/backend.js';
import { saveRun } from '../../dist/io/run-dir.js';
import { childRunInfo } from './child-run-info.mjs';

const [root, count = '500'] = process.argv.slice(2);
if (!root) throw new Error('usage: replace-race-child.mjs ROOT ALTERNATIONS');
await initBackend('cpu');
const inputs = 64;
const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [inputs], units: 256, kernelInitializer: 'zeros', name: 'd' })] });
const info = (v) => childRunInfo('race-test', v, inputs);
const dir = path.join(root, 'run');
let stop = false;
process.stdin.on('data', (d) => (stop ||= String(d).includes('stop')));
const min = Number(count);
let i = 0;
for (; i < 10 * min && !(i >= min && stop); i++) {
  const v = (i % 2) + 1;
  const w = [tf.fill([inputs, 256], v), tf.fill([256], v)];
  model.getLayer('d').setWeights(w);
  tf.dispose(w);
  await saveRun(dir, model, info(v), { force: i > 0 });
  if (i === 0) process.stdout.write('ready\n');
  if (i + 1 === min) process.stdout.write('min\n');
}
process.stdin.destroy();
process.stdout.write(`done ${i}\n`);
