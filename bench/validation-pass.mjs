#!/usr/bin/env node
// One validation pass (loss, accuracy and probabilities of a held-out set, as fit runs it after
// each epoch) on TF.js (`lossAndAccuracy`) and on onnxruntime (`lossAndAccuracyOn`: the forward
// graph and session for the current weights made, then run), interleaved, in one process:
// ResNet-18 at 64×64 (from the ONNX file bench/resnet18.mjs trains, 200 images) and a
// 784-300-100-1 MLP (5,000 samples). Noise inputs: only the time and the agreement mean anything.
// `npm run build && node bench/validation-pass.mjs [--repeats N] [--init FILE]`. Plain Node ESM.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dier, eachFlag, isFile, median, table } from './lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const die = dier('bench/validation-pass');
const o = { repeats: 3, init: path.join(os.homedir(), '.cache/graft/onnx-fixtures/resnet18-64.onnx') };
eachFlag(process.argv.slice(2), die, (flag, val) => {
  if (flag === '--help') { console.log('usage: node bench/validation-pass.mjs [--repeats N] [--init resnet18-64.onnx]'); process.exit(0); }
  else if (flag === '--repeats') { o.repeats = Number(val()); if (!Number.isInteger(o.repeats) || o.repeats < 1) die('--repeats takes a whole number ≥ 1'); }
  else if (flag === '--init') o.init = val();
  else die(`unknown option ${flag} (see --help)`);
});
const dist = (p) => path.join(REPO, 'dist', p);
if (!isFile(dist('index.js'))) die('no build: run `npm run build` first');
const g = await import(dist('index.js'));
const tfl = await import('@tensorflow/tfjs-layers');
const { loadOnnxSource } = await import(dist('io/onnx/source.js'));
const { transfer } = await import(dist('transfer/transfer.js'));
const { lossAndAccuracy } = await import(dist('train/infer.js'));
const { lossAndAccuracyOn } = await import(dist('train/infer-engine.js'));
const { describeOutput } = await import(dist('train/loss.js'));
await g.initBackend('wasm');

let state = 9;
const noise = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
const data = (n, shape) => ({ x: Float32Array.from({ length: n * shape.reduce((a, b) => a * b) }, noise), y: Int32Array.from({ length: n }, (_, i) => i % 2), sampleShape: shape, classNames: ['a', 'b'], pixelRange: 'unit', source: 'noise' });

const rows = [];
async function time(label, model, d) {
  const head = describeOutput(model);
  const tfjs = [];
  const ort = [];
  let worst = 0;
  for (let rep = 0; rep < o.repeats; rep++) {
    let t = performance.now();
    const a = lossAndAccuracy(model, head, d, { probabilities: true });
    tfjs.push((performance.now() - t) / 1000);
    t = performance.now();
    const b = await lossAndAccuracyOn(model, head, d, { probabilities: true }, 'onnxruntime');
    ort.push((performance.now() - t) / 1000);
    if (b.engine.engine !== 'onnxruntime') die(`${label}: ran on TF.js (${b.engine.reason})`);
    worst = Math.max(worst, Math.abs(a.loss - b.result.loss) / Math.max(1, Math.abs(a.loss)));
  }
  rows.push([label, tfjs.map((s) => s.toFixed(2)).join(', '), ort.map((s) => s.toFixed(2)).join(', '), (median(ort) / median(tfjs)).toFixed(2), worst.toExponential(1)]);
}

if (isFile(o.init)) {
  const source = await loadOnnxSource(o.init, { preprocess: 'imagenet' });
  const t = await transfer(source.model, { cut: -1, head: { classes: 2 }, freeze: 'none', seed: 1 });
  await time('ResNet-18 64×64, 200 images', t.model, data(200, [64, 64, 3]));
} else console.log(`ResNet-18 row skipped: no ${o.init} (bench/resnet18.mjs's PyTorch arm makes it)`);
const mlp = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 300, activation: 'relu' }), tfl.layers.dense({ units: 100, activation: 'relu' }), tfl.layers.dense({ units: 1, activation: 'sigmoid' })] });
await time('MLP 784-300-100-1, 5,000 samples', mlp, data(5000, [28, 28, 1]));
console.log(table(['model', 'TF.js s (each)', 'onnxruntime s (each, session included)', 'onnxruntime/TF.js (medians)', 'loss rel. diff'], rows));
console.log(`load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}; quote the ratio, not the seconds.`);
