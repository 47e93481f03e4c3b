#!/usr/bin/env node
// Two builds (or one build with and without one of its options) stepping the same whole-network model in
// one process, their steps alternated (ABBA…), so that the machine's load falls on both alike: the
// way to see a few per cent on a shared machine where one step's time moves by ±20% within a minute.
// Each arm is `DIST` (a tree built by `npx tsc -p tsconfig.build.json --outDir DIST`) or
// `DIST:noviews` (that build with useWeightViews(false)) or `DIST:depthwise` (with the depthwise
// weight-gradient kernel, useDepthwiseKernel(true), off by default). Prints each arm's p10, p25 and median step
// and the median of the paired ratios A/B (step i of A over step i of B).
//
//   node bench/step-ab.mjs [--model resnet18|mobilenetv2] [--steps 100] [--warmup 3] ARM_A ARM_B
import path from 'node:path';
import { stepModel } from './step-models.mjs';

const o = { model: 'resnet18', steps: 100, warmup: 3, arms: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--model') o.model = argv[++i];
  else if (argv[i] === '--steps') o.steps = Number(argv[++i]);
  else if (argv[i] === '--warmup') o.warmup = Number(argv[++i]);
  else if (argv[i].startsWith('--')) throw new Error(`unknown option ${argv[i]}`);
  else o.arms.push(argv[i]);
}
if (o.arms.length !== 2) throw new Error(`give two arms (DIST, DIST:noviews or DIST:depthwise), received ${o.arms.length}`);

const tfl = await import('@tensorflow/tfjs-layers');
const arms = [];
for (const spec of o.arms) {
  const [dir, flag] = spec.split(':');
  const dist = (p) => import(path.join(path.resolve(dir), p));
  const views = await dist('train/onnx/weight-views.js').catch(() => undefined);
  if (flag === 'noviews' && !views) throw new Error(`${spec}: ${dir} has no weight views (a build before them)`);
  const depthwise = flag === 'depthwise' ? await dist('train/onnx/depthwise-kernel.js').catch(() => undefined) : undefined;
  if (flag === 'depthwise' && !depthwise?.useDepthwiseKernel) throw new Error(`${spec}: ${dir} has no depthwise kernel (a build before it)`);
  if (flag !== undefined && !['noviews', 'depthwise'].includes(flag)) throw new Error(`${spec}: an arm's flag is noviews or depthwise, received ${flag}`);
  arms.push({ spec, index: await dist('index.js'), GraphStepper: (await dist('train/onnx/graph-stepper.js')).GraphStepper, resolveOptimizer: (await dist('train/optimizer.js')).resolveOptimizer, runtime: await dist('engine/onnx/runtime.js'), views, on: flag !== 'noviews', depthwise, times: [] });
}
await arms[0].index.initBackend('cpu');
const ort = await arms[0].runtime.loadOnnxRuntime();
if (typeof ort === 'string') throw new Error(ort);
for (const a of arms) {
  // The model of bench/step-time.mjs: 64×64 input, one sigmoid unit, Adam.
  const model = await stepModel(tfl, a.index, o.model);
  a.views?.useWeightViews(a.on);
  a.depthwise?.useDepthwiseKernel(true);
  a.stepper = new a.GraphStepper(ort, model, { activation: 'sigmoid', units: 1, classes: 2 }, a.resolveOptimizer({ name: 'adam', learningRate: 1e-3 }), undefined);
  await a.stepper.refresh();
  a.stepper.beginEpoch(0, 0);
  a.views?.useWeightViews(true);
  a.depthwise?.useDepthwiseKernel(false);
}
const m = 32;
const x = new Float32Array(m * 64 * 64 * 3).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const labels = new Float32Array(m).map((_, i) => i % 2);
for (let i = 0; i < o.warmup + o.steps; i++) {
  for (const a of i % 2 ? arms : [...arms].reverse()) {
    const t = performance.now();
    await a.stepper.step(x, labels, m);
    await a.stepper.flush();
    if (i >= o.warmup) a.times.push(performance.now() - t);
  }
}
const q = (xs, p) => [...xs].sort((u, v) => u - v)[Math.floor(p * (xs.length - 1))];
const result = { model: o.model, steps: o.steps, arms: arms.map((a) => ({ arm: a.spec, p10: +q(a.times, 0.1).toFixed(1), p25: +q(a.times, 0.25).toFixed(1), median: +q(a.times, 0.5).toFixed(1), weightViews: a.stepper.current?.views?.list?.length ?? 0 })) };
const ratios = arms[0].times.map((t, i) => t / arms[1].times[i]);
result.pairedRatio = { median: +q(ratios, 0.5).toFixed(3), p25: +q(ratios, 0.25).toFixed(3), p75: +q(ratios, 0.75).toFixed(3) };
console.log(JSON.stringify(result));
for (const a of arms) a.stepper.dispose();
