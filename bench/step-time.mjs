#!/usr/bin/env node
// One whole-network training step on onnxruntime, timed and profiled: the step graph GraphStepper
// compiles (forward, loss, backward, Adam) for ResNet-18 (from the ONNX file bench/resnet18.mjs
// uses) or MobileNetV2 α 0.35, at 64×64 with a one-unit sigmoid head, batch 32, random images; or
// the write-up's Model A (`--model mlp`: 28×28 → Dense 128 relu → Dropout 0.2 → 8 softmax, SGD 0.01).
// It reports the median wall time of GraphStepper.step() and of session.run() alone over
// --steps steps (after --warmup), each step run alone (--queue: as fit runs them, several a run;
// then read meanStepMs, the timed steps' wall time over their number), the median CPU time of a step, and with --profile onnxruntime's own kernel time per op type.
// Compiled code comes from --dist (default <repo>/dist): build two trees with
// `npx tsc -p tsconfig.build.json --outDir DIR` to compare two commits in one sitting.
//
//   node bench/step-time.mjs [--model resnet18|mobilenetv2|mlp] [--dist DIR] [--steps 8] [--warmup 2]
//                            [--batch 32] [--threads N] [--no-spin] [--profile] [--profile-nodes N] [--queue] [--json FILE]
//                            [--save-graph FILE (the ONNX graph the step's session ran)] [--depthwise-kernel] [--no-weight-views]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESNET18_INIT, stepModel } from './step-models.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const o = { model: 'resnet18', dist: path.join(REPO, 'dist'), steps: 8, warmup: 2, batch: 32, threads: 0, spin: true, profile: false, profileNodes: 0, queue: false, json: undefined, init: RESNET18_INIT };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const f = argv[i];
  const val = () => argv[++i];
  if (f === '--model') o.model = val();
  else if (f === '--dist') o.dist = path.resolve(val());
  else if (f === '--steps') o.steps = Number(val());
  else if (f === '--warmup') o.warmup = Number(val());
  else if (f === '--batch') o.batch = Number(val());
  else if (f === '--threads') o.threads = Number(val());
  else if (f === '--no-spin') o.spin = false;
  else if (f === '--profile') o.profile = true;
  else if (f === '--profile-nodes') (o.profile = true), (o.profileNodes = Number(val()));
  else if (f === '--queue') o.queue = true;
  else if (f === '--json') o.json = val();
  else if (f === '--init') o.init = val();
  else if (f === '--save-graph') o.saveGraph = val();
  else if (f === '--depthwise-kernel') o.depthwiseKernel = true;
  else if (f === '--no-weight-views') o.noWeightViews = true;
  else if (f === '--help') {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 12).join('\n').replace(/^\/\/ ?/gm, ''));
    process.exit(0);
  } else throw new Error(`unknown option ${f} (see --help)`);
}

const dist = (p) => import(path.join(o.dist, p));
const tfl = await import('@tensorflow/tfjs-layers');
const { initBackend, buildMobileNetV2, buildMlp, loadOnnxSource } = await dist('index.js');
const { GraphStepper } = await dist('train/onnx/graph-stepper.js');
const { resolveOptimizer } = await dist('train/optimizer.js');
const { loadOnnxRuntime } = await dist('engine/onnx/runtime.js');
await initBackend('cpu');
if (o.depthwiseKernel) {
  // Depthwise weight gradients outside the step graph (off by default: one build, both forms).
  const kernel = await dist('train/onnx/depthwise-kernel.js').catch(() => undefined);
  if (!kernel?.useDepthwiseKernel) throw new Error(`--depthwise-kernel: ${o.dist} has no depthwise kernel (a build before it)`);
  kernel.useDepthwiseKernel(true);
}
if (o.noWeightViews) {
  // The weights rearranged inside the step graph, as before weight-views.ts (one build, both forms).
  const views = await dist('train/onnx/weight-views.js').catch(() => undefined);
  if (!views?.useWeightViews) throw new Error(`--no-weight-views: ${o.dist} has no weight views (a build before them)`);
  views.useWeightViews(false);
}

let model;
let head = { activation: 'sigmoid', units: 1, classes: 2 };
let optimizer = { name: 'adam', learningRate: 1e-3 };
let inputShape = [64, 64, 3];
if (o.model === 'mlp') {
  model = buildMlp({ classes: 8 });
  head = { activation: 'softmax', units: 8, classes: 8 };
  optimizer = { name: 'sgd', learningRate: 0.01 };
  inputShape = [28, 28];
} else {
  model = await stepModel(tfl, { loadOnnxSource, buildMobileNetV2 }, o.model, o.init);
}

// GraphStepper's own session options, plus what the flags ask (threads, spinning, profiling).
const ort = await loadOnnxRuntime();
if (typeof ort === 'string') throw new Error(ort);
const sessions = [];
let runMs = [];
const extra = {
  ...(o.threads > 0 ? { intraOpNumThreads: o.threads } : {}),
  ...(o.spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  ...(o.profile ? { enableProfiling: true } : {}),
};
// One profile file per session, named by its place in `sessions`.
const profilePrefix = (i) => `graft-step-${process.pid}-${i}-`;
const wrapped = {
  ...ort,
  InferenceSession: {
    create: async (bytes, opts) => {
      const s = await ort.InferenceSession.create(bytes, { ...opts, ...extra, ...(o.profile ? { profileFilePrefix: path.join(os.tmpdir(), profilePrefix(sessions.length)) } : {}) });
      const run = s.run.bind(s);
      s.run = async (...args) => {
        const t0 = performance.now();
        const r = await run(...args);
        runMs.push(performance.now() - t0);
        return r;
      };
      sessions.push({ s, bytes });
      return s;
    },
  },
};
const stepper = new GraphStepper(wrapped, model, head, resolveOptimizer(optimizer), undefined);
const t0 = performance.now();
await stepper.refresh();
const compileMs = performance.now() - t0;
stepper.beginEpoch(0, 0);
const m = o.batch;
const x = new Float32Array(m * inputShape.reduce((a, b) => a * b, 1)).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const labels = new Float32Array(m).map((_, i) => i % head.classes);
const stepMs = [];
// CPU time per step (user + system, every thread of the process): on a shared machine the wall
// time follows the other jobs, the CPU time mostly the work (with --threads 1, exactly one core's).
const cpuMs = [];
let timedFrom = 0;
for (let i = 0; i < o.warmup + o.steps; i++) {
  if (i === o.warmup) {
    await stepper.flush();
    runMs = [];
    timedFrom = performance.now();
  }
  const s0 = performance.now();
  const c0 = process.cpuUsage();
  await stepper.step(x, labels, m);
  // One step per run, as before the steps were queued; --queue times a whole queue's run per step.
  if (!o.queue) await stepper.flush();
  const c = process.cpuUsage(c0);
  if (i >= o.warmup) {
    stepMs.push(performance.now() - s0);
    cpuMs.push((c.user + c.system) / 1000);
  }
}
await stepper.flush();
// Every timed step's share of the wall time, queued runs included (with --queue, the figure to read).
const meanStepMs = (performance.now() - timedFrom) / o.steps;
// Milliseconds to 3 decimals: an MLP step is a fraction of one.
const ms = (v) => +v.toFixed(3);
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
// The last session opened is the step's (graft may open small probe sessions first).
const { s, bytes } = sessions.at(-1);
const result = { model: o.model, dist: o.dist, batch: m, threads: o.threads || 'default', spin: o.spin, compileMs: Math.round(compileMs), queued: o.queue, meanStepMs: ms(meanStepMs), stepMs: ms(median(stepMs)), cpuMs: ms(median(cpuMs)), runMs: ms(median(runMs)), steps: stepMs.map(ms), graphBytes: bytes.length, convForms: stepper.current?.convForms, weightViews: stepper.current?.views?.list.length, weightViewFloats: stepper.current?.views?.list.reduce((a, v) => a + v.dims.reduce((p, d) => p * d, 1), 0), viewKernel: stepper.current?.views?.inWasm ?? (stepper.current?.views?.kernel !== undefined) };
// The step graph's nodes per op (GraphStepper's compiled graph; a private field, read for the record).
const nodes = stepper.current?.step?.graph?.nodes ?? [];
result.nodesByOp = Object.fromEntries(Object.entries(nodes.reduce((a, n) => ((a[n.op] = (a[n.op] ?? 0) + 1), a), {})).sort((p, q) => q[1] - p[1]));
if (o.profile) {
  s.endProfiling();
  // onnxruntime-node returns nothing: the file is the prefix plus a timestamp.
  const prefix = profilePrefix(sessions.length - 1);
  const file = path.join(os.tmpdir(), fs.readdirSync(os.tmpdir()).find((f) => f.startsWith(prefix)) ?? prefix);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Every session's profile goes, the earlier ones' too (written when they end).
  for (const { s: other } of sessions.slice(0, -1)) {
    try {
      other.endProfiling();
    } catch {
      // Released already: its file is written.
    }
  }
  for (const f of fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`graft-step-${process.pid}-`))) fs.rmSync(path.join(os.tmpdir(), f), { force: true });
  // Node kernel events of the timed steps only (the profile also holds the warm-up runs).
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const per = new Map();
  const runs = o.warmup + o.steps;
  for (const e of kernels) {
    const op = e.args?.op_name ?? '?';
    const r = per.get(op) ?? { us: 0, nodes: new Set() };
    r.us += e.dur;
    r.nodes.add(e.name);
    per.set(op, r);
  }
  const total = [...per.values()].reduce((a, r) => a + r.us, 0) / runs / 1000;
  result.kernelMsPerStep = ms(total);
  // The slowest nodes (--profile-nodes N): name, op, shapes, ms a step.
  const perNode = new Map();
  for (const e of kernels) {
    const r = perNode.get(e.name) ?? { node: e.name.replace(/_kernel_time$/, ''), op: e.args?.op_name, us: 0, in: e.args?.input_type_shape, out: e.args?.output_type_shape };
    r.us += e.dur;
    perNode.set(e.name, r);
  }
  result.slowestNodes = [...perNode.values()].sort((a, b) => b.us - a.us).slice(0, o.profileNodes).map((r) => ({ node: r.node, op: r.op, msPerStep: +(r.us / runs / 1000).toFixed(3), in: JSON.stringify(r.in), out: JSON.stringify(r.out) }));
  result.ops = [...per.entries()].map(([op, r]) => ({ op, msPerStep: +(r.us / runs / 1000).toFixed(4), nodes: r.nodes.size, share: +((r.us / runs / 1000 / total) * 100).toFixed(1) })).sort((a, b) => b.msPerStep - a.msPerStep);
}
console.log(JSON.stringify(result));
if (o.profile) for (const r of result.slowestNodes) console.log(`${r.op.padEnd(18)} ${String(r.msPerStep).padStart(8)} ms  ${r.node}  ${r.in} -> ${r.out}`);
if (o.profile) for (const r of result.ops.slice(0, 14)) console.log(`${r.op.padEnd(22)} ${String(r.msPerStep).padStart(8)} ms ${String(r.nodes).padStart(5)} nodes ${String(r.share).padStart(5)}%`);
if (o.json) fs.writeFileSync(o.json, JSON.stringify(result, null, 1));
if (o.saveGraph) fs.writeFileSync(o.saveGraph, bytes);
stepper.dispose();
