#!/usr/bin/env node
// Where one training step's time goes on the wasm backend: kernels (per kernel), framework/JS
// overhead (the rest of the step's wall time) and data handling (gathering a batch, making its
// tensors). Trains with graft's own fit loop (dist/, so `npm run build` first) on synthetic data.
//
//   node bench/profile.mjs [--workloads mlp,cnn,mobilenet,vgg,vgg-top] [--rounds 3]
//                          [--fast on|off|both] [--top 12] [--json FILE]
//   node bench/profile.mjs --kernels [--rounds 5]    (single kernels, TF.js's against graft's)
//   node bench/profile.mjs --epoch [--rounds 3]      (one epoch: small CNN on 1,000 32×32×3 images,
//                                                     seed MLP on 6,400 28×28; fast kernels off/on)
//
// Kernel time is measured by wrapping every registered wasm kernel's kernelFunc with a clock:
// only the outermost call counts, so a kernel graft composes from other kernels is charged once.
// (tf.profile() measures the same thing but adds bookkeeping per kernel that inflates the wall
// time; this wrapper costs two performance.now() calls per kernel.) `--fast both` alternates
// graft's fast kernels (src/engine/wasm-conv-kernels.ts) off and on round by round in one process,
// so the two see the same machine. The default (no --fast) profiles whatever initBackend chose:
// GRAFT_FAST_KERNELS=0 node bench/profile.mjs profiles TF.js's kernels.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(REPO, 'dist', p));
const { initBackend, buildMlp, buildSmallCnn, buildMobileNetV2, buildVgg16, fit, Rng, disposeModel } = await dist('index.js');
const { gatherBatch, gatherLabels } = await dist('data/batch.js');
let fastKernels;
try {
  fastKernels = await dist('engine/wasm-conv-kernels.js');
} catch {
  fastKernels = undefined; // built before the fast kernels existed
}

function parseArgs(argv) {
  const o = { workloads: ['mlp', 'cnn', 'mobilenet', 'vgg', 'vgg-top'], rounds: 3, fast: 'default', top: 12, json: undefined, kernels: false, epoch: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const val = () => inline ?? argv[++i];
    if (flag === '--workloads') o.workloads = val().split(',');
    else if (flag === '--rounds') o.rounds = Number(val());
    else if (flag === '--fast') o.fast = val();
    else if (flag === '--top') o.top = Number(val());
    else if (flag === '--json') o.json = val();
    else if (flag === '--kernels') o.kernels = true;
    else if (flag === '--epoch') o.epoch = true;
    else if (flag === '--help') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 10).join('\n').replace(/^\/\/ ?/gm, ''));
      process.exit(0);
    } else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

// ---- kernel clock -------------------------------------------------------------------------------

const clock = { on: false, depth: 0, byName: new Map(), bySignature: new Map(), calls: 0 };
const WRAPPED = Symbol('graft-profile');

/** Wraps every wasm kernel registered now (call again after (un)registering kernels). */
function wrapKernels() {
  for (const cfg of tf.getKernelsForBackend('wasm')) {
    if (cfg.kernelFunc[WRAPPED]) continue;
    const inner = cfg.kernelFunc;
    const name = cfg.kernelName;
    const wrapped = (args) => {
      if (!clock.on || clock.depth > 0) {
        clock.depth++;
        try {
          return inner(args);
        } finally {
          clock.depth--;
        }
      }
      const t0 = performance.now();
      clock.depth++;
      try {
        return inner(args);
      } finally {
        clock.depth--;
        const ms = performance.now() - t0;
        clock.calls++;
        add(clock.byName, name, ms);
        if (/Conv|MatMul|Pool|BatchNorm/.test(name)) {
          const shapes = Object.values(args.inputs).map((t) => (t ? `[${t.shape.join(',')}]` : '-')).join(' ');
          add(clock.bySignature, `${name} ${shapes}`, ms);
        }
      }
    };
    wrapped[WRAPPED] = true;
    cfg.kernelFunc = wrapped;
  }
}

function add(map, key, ms) {
  const e = map.get(key) ?? { calls: 0, ms: 0 };
  e.calls++;
  e.ms += ms;
  map.set(key, e);
}

function resetClock() {
  clock.byName = new Map();
  clock.bySignature = new Map();
  clock.calls = 0;
}

// ---- workloads ----------------------------------------------------------------------------------

function synthetic(n, sampleShape, classes, seed) {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const x = new Float32Array(n * size);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = Int32Array.from({ length: n }, (_, i) => i % classes);
  return { x, y, sampleShape, classNames: Array.from({ length: classes }, (_, k) => `c${k}`), pixelRange: 'unit', source: 'synthetic' };
}

/** A backbone + head, with every layer whose name fails `trainable` frozen. */
function withHead(base, head, trainable) {
  for (const l of base.layers) l.trainable = trainable(l.name);
  let x = base.outputs[0];
  for (const layer of head) x = layer.apply(x);
  return tfl.model({ inputs: base.inputs, outputs: x });
}

const WORKLOADS = {
  mlp: {
    label: 'seed MLP (784→128→8, batch 32, SGD)',
    sampleShape: [28, 28],
    classes: 8,
    steps: 150,
    build: () => buildMlp({ classes: 8 }),
  },
  cnn: {
    label: 'small CNN (32×32×3, conv32/conv64 + BN, batch 32, SGD)',
    sampleShape: [32, 32, 3],
    classes: 10,
    steps: 8,
    build: () => buildSmallCnn({ classes: 10, inputShape: [32, 32, 3] }),
  },
  mobilenet: {
    label: 'MobileNetV2 α=0.35, 64×64, all layers trainable + GAP + Dense 1 (batch 32, SGD)',
    sampleShape: [64, 64, 3],
    classes: 2,
    steps: 4,
    build: () =>
      withHead(buildMobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3] }), [tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({ units: 1, activation: 'sigmoid' })], () => true),
  },
  vgg: {
    label: 'VGG16 64×64, block5 unfrozen + Flatten/Dense 256/Dense 1, no feature cache (batch 32, SGD)',
    sampleShape: [64, 64, 3],
    classes: 2,
    steps: 3,
    build: () =>
      withHead(
        buildVgg16({ inputShape: [64, 64, 3] }),
        [tfl.layers.flatten({}), tfl.layers.dense({ units: 256, activation: 'relu' }), tfl.layers.dense({ units: 1, activation: 'sigmoid' })],
        (name) => name.startsWith('block5'),
      ),
  },
  'vgg-top': {
    label: "VGG16 block5 + head on cached 4×4×512 features (what graft's feature cache trains; batch 32, SGD)",
    sampleShape: [4, 4, 512],
    classes: 2,
    steps: 20,
    build: () => {
      const input = tfl.input({ shape: [4, 4, 512] });
      let x = input;
      for (let c = 1; c <= 3; c++) x = tfl.layers.conv2d({ filters: 512, kernelSize: 3, padding: 'same', activation: 'relu', name: `block5_conv${c}` }).apply(x);
      x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x);
      x = tfl.layers.flatten({}).apply(x);
      x = tfl.layers.dense({ units: 256, activation: 'relu' }).apply(x);
      x = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(x);
      return tfl.model({ inputs: input, outputs: x });
    },
  },
};

const BATCH = 32;
const OPTIMIZER = { name: 'sgd', learningRate: 0.01 };

/** Median of a list. */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The batch assembly fit does per step (gather rows and labels, make the two tensors), alone. */
function dataMsPerStep(data, steps) {
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const xBuf = new Float32Array(BATCH * size);
  const yBuf = new Float32Array(BATCH);
  const order = Int32Array.from({ length: data.y.length }, (_, i) => i);
  new Rng(1).shuffle(order);
  const t0 = performance.now();
  for (let b = 0; b < steps; b++) {
    const xs = tf.tensor(gatherBatch(data.x, size, order, b * BATCH, (b + 1) * BATCH, xBuf), [BATCH, ...data.sampleShape]);
    const ys = tf.tensor1d(gatherLabels(data.y, order, b * BATCH, (b + 1) * BATCH, yBuf));
    tf.dispose([xs, ys]);
  }
  return (performance.now() - t0) / steps;
}

/** One round: a fresh model, a warm-up epoch of 2 batches, then a timed epoch of `steps` batches. */
async function round(w, fast) {
  if (fastKernels && fast !== undefined) {
    if (fast) fastKernels.registerFastConvKernels();
    else fastKernels.unregisterFastConvKernels();
    wrapKernels();
  }
  const tensorsBefore = tf.memory().numTensors;
  const model = w.build();
  const data = synthetic(BATCH * w.steps, w.sampleShape, w.classes, 7);
  const warm = synthetic(BATCH * 2, w.sampleShape, w.classes, 8);
  await fit(model, warm, { epochs: 1, batchSize: BATCH, optimizer: OPTIMIZER });
  resetClock();
  clock.on = true;
  const result = await fit(model, data, { epochs: 1, batchSize: BATCH, optimizer: OPTIMIZER });
  clock.on = false;
  const stepMs = (result.history[0].seconds * 1000) / w.steps;
  const kernels = [...clock.byName].map(([name, e]) => ({ name, calls: e.calls / w.steps, ms: e.ms / w.steps }));
  const signatures = [...clock.bySignature].map(([name, e]) => ({ name, calls: e.calls / w.steps, ms: e.ms / w.steps }));
  const kernelCalls = clock.calls / w.steps;
  const dataMs = dataMsPerStep(data, w.steps);
  disposeModel(model);
  const leaked = tf.memory().numTensors - tensorsBefore;
  return { stepMs, kernelMs: kernels.reduce((a, k) => a + k.ms, 0), dataMs, kernelCalls, kernels, signatures, leaked };
}

/** Per-kernel medians over rounds (a kernel missing from a round counts 0 there). */
function summarise(rounds) {
  const names = (key) => [...new Set(rounds.flatMap((r) => r[key].map((k) => k.name)))];
  const med = (key, name, field) => median(rounds.map((r) => r[key].find((k) => k.name === name)?.[field] ?? 0));
  const table = (key) => names(key).map((name) => ({ name, calls: med(key, name, 'calls'), ms: med(key, name, 'ms') })).sort((a, b) => b.ms - a.ms);
  const stepMs = median(rounds.map((r) => r.stepMs));
  const kernelMs = median(rounds.map((r) => r.kernelMs));
  const dataMs = median(rounds.map((r) => r.dataMs));
  return {
    stepMs,
    kernelMs,
    dataMs,
    // The step's wall time minus its kernels; the batch assembly is inside the step too.
    overheadMs: median(rounds.map((r) => r.stepMs - r.kernelMs - r.dataMs)),
    kernelCalls: median(rounds.map((r) => r.kernelCalls)),
    stepMsAll: rounds.map((r) => +r.stepMs.toFixed(2)),
    kernels: table('kernels'),
    signatures: table('signatures'),
    leaked: Math.max(...rounds.map((r) => r.leaked)),
  };
}

const f = (x, d = 2) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(d));
const pct = (x, of) => `${((100 * x) / of).toFixed(1)}%`;

function printSummary(label, s, top) {
  console.log(`\n### ${label}\n`);
  console.log(`step ${f(s.stepMs)} ms (rounds: ${s.stepMsAll.join(', ')}); kernels ${f(s.kernelMs)} ms (${pct(s.kernelMs, s.stepMs)}), ` +
    `${f(s.kernelCalls, 0)} kernel calls; data ${f(s.dataMs, 3)} ms (${pct(s.dataMs, s.stepMs)}); framework/JS ${f(s.overheadMs)} ms (${pct(s.overheadMs, s.stepMs)})` +
    (s.leaked ? `; LEAKED ${s.leaked} tensors` : ''));
  console.log('\n| kernel | calls/step | ms/step | % of step |\n| --- | --- | --- | --- |');
  for (const k of s.kernels.slice(0, top)) console.log(`| ${k.name} | ${f(k.calls, 0)} | ${f(k.ms)} | ${pct(k.ms, s.stepMs)} |`);
  const rest = s.kernels.slice(top);
  if (rest.length) console.log(`| (${rest.length} others) | ${f(rest.reduce((a, k) => a + k.calls, 0), 0)} | ${f(rest.reduce((a, k) => a + k.ms, 0))} | ${pct(rest.reduce((a, k) => a + k.ms, 0), s.stepMs)} |`);
  console.log('\nlargest conv/matmul/pool/batchnorm calls (input shapes):\n');
  console.log('| kernel and inputs | calls/step | ms/step |\n| --- | --- | --- |');
  for (const k of s.signatures.slice(0, Math.min(top, 8))) console.log(`| ${k.name} | ${f(k.calls, 0)} | ${f(k.ms)} |`);
}

// ---- single kernels -----------------------------------------------------------------------------

/** [label, kernel, input shapes, attrs]: the hot calls of the profiles above. */
const conv = (strides, pad, extra) => ({ strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, ...extra });
const KERNEL_CASES = [
  ['conv 3×3 32→64, 32×32, batch 32: input gradient', 'Conv2DBackpropInput', { dy: [32, 32, 32, 64], filter: [3, 3, 32, 64] }, conv(1, 'same', { inputShape: [32, 32, 32, 32] })],
  ['conv 3×3 32→64, 32×32, batch 32: filter gradient', 'Conv2DBackpropFilter', { x: [32, 32, 32, 32], dy: [32, 32, 32, 64] }, conv(1, 'same', { filterShape: [3, 3, 32, 64] })],
  ['small CNN conv2 (16×16, 32→64): input gradient', 'Conv2DBackpropInput', { dy: [32, 16, 16, 64], filter: [3, 3, 32, 64] }, conv(1, 'same', { inputShape: [32, 16, 16, 32] })],
  ['small CNN conv2 (16×16, 32→64): filter gradient', 'Conv2DBackpropFilter', { x: [32, 16, 16, 32], dy: [32, 16, 16, 64] }, conv(1, 'same', { filterShape: [3, 3, 32, 64] })],
  ['small CNN conv1 (32×32, 3→32): filter gradient', 'Conv2DBackpropFilter', { x: [32, 32, 32, 3], dy: [32, 32, 32, 32] }, conv(1, 'same', { filterShape: [3, 3, 3, 32] })],
  ['VGG16 block5 conv (4×4, 512→512): input gradient', 'Conv2DBackpropInput', { dy: [32, 4, 4, 512], filter: [3, 3, 512, 512] }, conv(1, 'same', { inputShape: [32, 4, 4, 512] })],
  ['VGG16 block5 conv (4×4, 512→512): filter gradient', 'Conv2DBackpropFilter', { x: [32, 4, 4, 512], dy: [32, 4, 4, 512] }, conv(1, 'same', { filterShape: [3, 3, 512, 512] })],
  ['MobileNetV2 Conv1 (64×64, 3→16, stride 2): input gradient', 'Conv2DBackpropInput', { dy: [32, 32, 32, 16], filter: [3, 3, 3, 16] }, conv(2, 'same', { inputShape: [32, 64, 64, 3] })],
  ['MobileNetV2 Conv1 (64×64, 3→16, stride 2): filter gradient', 'Conv2DBackpropFilter', { x: [32, 64, 64, 3], dy: [32, 32, 32, 16] }, conv(2, 'same', { filterShape: [3, 3, 3, 16] })],
  ['MobileNetV2 1×1 (16×16, 48→8): input gradient', 'Conv2DBackpropInput', { dy: [32, 16, 16, 8], filter: [1, 1, 48, 8] }, conv(1, 'same', { inputShape: [32, 16, 16, 48] })],
  ['MobileNetV2 1×1 (16×16, 48→8): filter gradient', 'Conv2DBackpropFilter', { x: [32, 16, 16, 48], dy: [32, 16, 16, 8] }, conv(1, 'same', { filterShape: [1, 1, 48, 8] })],
  ['MLP Dense 784→128 weight gradient, xᵀ·dy', 'BatchMatMul', { a: [32, 784], b: [32, 128] }, { transposeA: true, transposeB: false }],
  ['MLP Dense 784→128 input gradient, dy·Wᵀ', 'BatchMatMul', { a: [32, 128], b: [784, 128] }, { transposeA: false, transposeB: true }],
  ['CNN Dense 4096→128 weight gradient', 'BatchMatMul', { a: [32, 4096], b: [32, 128] }, { transposeA: true, transposeB: false }],
  ['small CNN pool1 gradient (2×2 of 32×32×32×32)', 'MaxPoolGrad', { dy: [32, 16, 16, 32], input: [32, 32, 32, 32], output: [32, 16, 16, 32] }, { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined }],
  ['BatchNorm gradient tile [1,1,1,32] → 32×32×32×32', 'Tile', { x: [1, 1, 1, 32] }, { reps: [32, 32, 32, 1] }],
  ['BatchNorm sum over n,h,w of 32×32×32×32', 'Sum', { x: [32, 32, 32, 32] }, { axis: [0, 1, 2], keepDims: false }],
  ['BatchNorm mean over n,h,w of 32×32×32×32', 'Mean', { x: [32, 32, 32, 32] }, { axis: [0, 1, 2], keepDims: true }],
  ['global average pool, mean over h,w of 32×8×8×128', 'Mean', { x: [32, 8, 8, 128] }, { axis: [1, 2], keepDims: false }],
  ['Identity (clone) of 32×32×32×32', 'Identity', { x: [32, 32, 32, 32] }, {}],
];

/**
 * Median ms per call of each case, TF.js's kernels and graft's alternating call by call. Every call
 * gets freshly made inputs, as in training: XNNPACK caches work per input tensor (the packed right
 * operand of a matrix product), which repeated calls on one tensor would reuse.
 */
function kernelTimes(rounds) {
  const rows = [];
  for (const [label, kernel, shapes, attrs] of KERNEL_CASES) {
    const inputs = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.randomNormal(s, 0, 1, 'float32', 1)]));
    const times = { tfjs: [], fast: [] };
    for (let r = 0; r < rounds + 1; r++) {
      for (const fast of r % 2 ? [true, false] : [false, true]) {
        if (fast) fastKernels.registerFastConvKernels();
        else fastKernels.unregisterFastConvKernels();
        const fresh = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tf.mul(t, tf.scalar(1))]));
        const t0 = performance.now();
        const out = tf.engine().runKernel(kernel, fresh, attrs);
        const ms = performance.now() - t0;
        tf.dispose([out, ...Object.values(fresh)]);
        if (r > 0) times[fast ? 'fast' : 'tfjs'].push(ms); // round 0 warms up
      }
    }
    tf.dispose(Object.values(inputs));
    const row = { label, kernel, tfjs: median(times.tfjs), fast: median(times.fast) };
    rows.push(row);
    console.log(`| ${label} | ${kernel} | ${f(row.tfjs)} | ${f(row.fast)} | ${(row.tfjs / row.fast).toFixed(1)}× |`);
  }
  fastKernels.registerFastConvKernels();
  return rows;
}

// ---- whole epochs -------------------------------------------------------------------------------

const EPOCHS = [
  ['small CNN, 1,000 synthetic 32×32×3 images, 10 classes', 'cnn', 1000],
  ['seed MLP, 6,400 synthetic 28×28 images, 8 classes', 'mlp', 6400],
];

/** Seconds for one epoch of fit (fresh model each time), fast kernels off and on alternating. */
async function epochTimes(rounds) {
  const rows = [];
  for (const [label, name, samples] of EPOCHS) {
    const w = WORKLOADS[name];
    const data = synthetic(samples, w.sampleShape, w.classes, 11);
    const times = { tfjs: [], fast: [] };
    for (let r = 0; r < rounds; r++) {
      for (const fast of r % 2 ? [true, false] : [false, true]) {
        if (fast) fastKernels.registerFastConvKernels();
        else fastKernels.unregisterFastConvKernels();
        const model = w.build();
        const t0 = performance.now();
        const result = await fit(model, data, { epochs: 1, batchSize: BATCH, optimizer: OPTIMIZER, seed: r });
        times[fast ? 'fast' : 'tfjs'].push((performance.now() - t0) / 1000);
        disposeModel(model);
        if (result.stopReason !== 'completed') throw new Error(`${name}: ${result.stopReason}`);
      }
    }
    const row = { label, tfjs: median(times.tfjs), fast: median(times.fast), tfjsAll: times.tfjs, fastAll: times.fast };
    rows.push(row);
    const all = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
    console.log(`| ${label} | ${row.tfjs.toFixed(2)} (${all(times.tfjs)}) | ${row.fast.toFixed(2)} (${all(times.fast)}) | ${(row.tfjs / row.fast).toFixed(2)}× |`);
  }
  fastKernels.registerFastConvKernels();
  return rows;
}

const o = parseArgs(process.argv.slice(2));
const info = await initBackend('wasm');
if (o.epoch) {
  if (!fastKernels) throw new Error('--epoch needs dist/engine/wasm-conv-kernels.js (npm run build)');
  console.log(`# one training epoch (graft's fit, batch 32, SGD), fast kernels off and on, alternating — ${new Date().toISOString()}`);
  console.log(`${info.description}; ${os.cpus().length}× ${os.cpus()[0]?.model}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${o.rounds} epochs each\n`);
  console.log('| epoch | TF.js kernels s (each) | graft fast kernels s (each) | speed-up |\n| --- | --- | --- | --- |');
  const rows = await epochTimes(o.rounds);
  console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), backend: info, loadavg: os.loadavg(), epochs: rows }, null, 1));
  process.exit(0);
}
if (o.kernels) {
  if (!fastKernels) throw new Error('--kernels needs dist/engine/wasm-conv-kernels.js (npm run build)');
  console.log(`# single wasm kernels, TF.js's (graft's composed Conv2DBackpropFilter) against graft's fast ones — ${new Date().toISOString()}`);
  console.log(`${info.description}; ${os.cpus().length}× ${os.cpus()[0]?.model}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${o.rounds} calls each, alternating\n`);
  console.log('| call | kernel | TF.js ms | graft ms | speed-up |\n| --- | --- | --- | --- | --- |');
  const rows = kernelTimes(o.rounds);
  console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), backend: info, loadavg: os.loadavg(), kernels: rows }, null, 1));
  process.exit(0);
}
wrapKernels();
const modes = o.fast === 'both' ? [false, true] : o.fast === 'on' ? [true] : o.fast === 'off' ? [false] : [undefined];
if (modes.some((m) => m !== undefined) && !fastKernels) throw new Error('--fast needs dist/engine/wasm-conv-kernels.js (npm run build)');
console.log(`# graft training-step profile — ${new Date().toISOString()}`);
console.log(`${info.description}; ${os.cpus().length}× ${os.cpus()[0]?.model}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`);
const out = { date: new Date().toISOString(), backend: info, cpus: os.cpus().length, loadavg: os.loadavg(), workloads: {} };
for (const name of o.workloads) {
  const w = WORKLOADS[name];
  if (!w) throw new Error(`unknown workload ${name}; choose from ${Object.keys(WORKLOADS).join(', ')}`);
  const rounds = new Map(modes.map((m) => [m, []]));
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order each round, so neither setting always runs first.
    const order = r % 2 ? [...modes].reverse() : modes;
    for (const m of order) rounds.get(m).push(await round(w, m));
  }
  out.workloads[name] = {};
  for (const m of modes) {
    const s = summarise(rounds.get(m));
    const tag = m === undefined ? (info.fastKernels === undefined ? '' : ` — fast kernels ${info.fastKernels ? 'on' : 'off'}`) : ` — fast kernels ${m ? 'on' : 'off'}`;
    printSummary(`${w.label}${tag}`, s, o.top);
    out.workloads[name][m === undefined ? 'default' : m ? 'fast' : 'tfjs'] = s;
  }
  if (modes.length === 2) {
    const [off, on] = [out.workloads[name].tfjs, out.workloads[name].fast];
    console.log(`\n${name}: step ${f(off.stepMs)} → ${f(on.stepMs)} ms, ${(off.stepMs / on.stepMs).toFixed(2)}× faster with the fast kernels`);
  }
}
out.loadavgAfter = os.loadavg();
console.log(`\nload average after: ${out.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}`);
if (o.json) fs.writeFileSync(o.json, JSON.stringify(out, null, 1));
