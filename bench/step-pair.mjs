#!/usr/bin/env node
// graft against a peer (PyTorch or Keras), step for step: one whole-network training step of each
// in turn, never both at once, so that the machine's load falls on both alike. The peer runs in a
// Python child (bench/peers/step_server.py) that steps when told; graft steps in this process
// (GraphStepper, as bench/step-ab.mjs). Order alternates (graft first, then the peer first), with
// a pause between steps so that neither side's idle threads still spin when the other starts.
// Prints each side's p10, p25 and median step, and the median of the paired ratios graft/peer
// (step i of graft over step i of the peer), with its p25–p75: on a shared 2-core machine where a
// step moves by ±20% within a minute, whole epochs in separate processes cannot resolve 10%.
//
//   node bench/step-pair.mjs [--model resnet18|mobilenetv2] [--peer torch|keras] [--steps 60]
//                            [--warmup 3] [--gap 20 (ms)] [--python PATH] [--dist DIR] [--json FILE]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dier, eachFlag } from './lib.mjs';
import { stepModel } from './step-models.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const die = dier('step-pair');
const o = { model: 'resnet18', peer: 'torch', steps: 60, warmup: 3, gap: 20, python: process.env.PEERS_PYTHON || '/tmp/peers/bin/python', dist: path.join(REPO, 'dist'), json: undefined };
eachFlag(process.argv.slice(2), die, (flag, val) => {
  if (flag === '--model') o.model = val();
  else if (flag === '--peer') o.peer = val();
  else if (['--steps', '--warmup', '--gap'].includes(flag)) {
    const v = Number(val());
    if (!Number.isInteger(v) || v < 0) die(`${flag} takes a whole number ≥ 0, received ${v}`);
    o[flag.slice(2)] = v;
  } else if (flag === '--python') o.python = val();
  else if (flag === '--dist') o.dist = path.resolve(val());
  else if (flag === '--json') o.json = val();
  else if (flag === '--help') {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 13).join('\n').replace(/^\/\/ ?/gm, ''));
    process.exit(0);
  } else die(`unknown option ${flag} (see --help)`);
});
if (!['resnet18', 'mobilenetv2'].includes(o.model)) die(`--model takes resnet18 or mobilenetv2, received ${o.model}`);
if (!['torch', 'keras'].includes(o.peer)) die(`--peer takes torch or keras, received ${o.peer}`);
if (o.peer === 'keras' && o.model === 'resnet18') die('Keras has no ResNet-18 peer here (keras.applications has none); use --peer torch');
if (o.steps < 1) die('--steps takes at least 1');
if (!fs.existsSync(path.join(o.dist, 'index.js'))) die(`no graft build in ${o.dist}: run \`npx tsc -p tsconfig.build.json\` first`);

// The peer, built and warmed up before graft's session opens (their memory does not overlap in time).
const peer = spawn(o.python, [path.join(REPO, 'bench/peers/step_server.py'), '--framework', o.peer, '--model', o.model, '--warmup', String(o.warmup)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
const peerLine = async () => {
  const { value, done } = await lines.next();
  if (done) die(`the ${o.peer} peer ended early (exit ${peer.exitCode ?? 'pending'}); its error is above`);
  return value;
};
if ((await peerLine()) !== 'ready') die(`the ${o.peer} peer did not start`);
const peerStep = async () => {
  peer.stdin.write('step\n');
  return Number(await peerLine());
};

const tfl = await import('@tensorflow/tfjs-layers');
const dist = (p) => import(path.join(o.dist, p));
const index = await dist('index.js');
await index.initBackend('cpu');
const ort = await (await dist('engine/onnx/runtime.js')).loadOnnxRuntime();
if (typeof ort === 'string') die(ort);
const { GraphStepper } = await dist('train/onnx/graph-stepper.js');
const { resolveOptimizer } = await dist('train/optimizer.js');
const model = await stepModel(tfl, index, o.model);
const stepper = new GraphStepper(ort, model, { activation: 'sigmoid', units: 1, classes: 2 }, resolveOptimizer({ name: 'adam', learningRate: 1e-3 }), undefined);
await stepper.refresh();
stepper.beginEpoch(0, 0);
const m = 32;
const x = new Float32Array(m * 64 * 64 * 3).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const labels = new Float32Array(m).map((_, i) => i % 2);
const graftStep = async () => {
  const t = performance.now();
  await stepper.step(x, labels, m);
  await stepper.flush();
  return performance.now() - t;
};
const pause = () => new Promise((r) => setTimeout(r, o.gap));
for (let i = 0; i < o.warmup; i++) await graftStep();

const load = [os.loadavg()[0]];
const times = { graft: [], peer: [] };
for (let i = 0; i < o.steps; i++) {
  const order = i % 2 === 0 ? ['graft', 'peer'] : ['peer', 'graft'];
  for (const side of order) {
    await pause();
    times[side].push(side === 'graft' ? await graftStep() : await peerStep());
  }
}
load.push(os.loadavg()[0]);
peer.stdin.end('quit\n');
stepper.dispose();

const q = (xs, p) => [...xs].sort((u, v) => u - v)[Math.floor(p * (xs.length - 1))];
const summary = (xs) => ({ p10: +q(xs, 0.1).toFixed(1), p25: +q(xs, 0.25).toFixed(1), median: +q(xs, 0.5).toFixed(1) });
const ratios = times.graft.map((t, i) => t / times.peer[i]);
const result = {
  model: o.model,
  peer: o.peer,
  steps: o.steps,
  gapMs: o.gap,
  loadAverage: load.map((v) => +v.toFixed(2)),
  graft: summary(times.graft),
  [o.peer]: summary(times.peer),
  pairedRatio: { median: +q(ratios, 0.5).toFixed(3), p25: +q(ratios, 0.25).toFixed(3), p75: +q(ratios, 0.75).toFixed(3) },
};
if (o.json) fs.writeFileSync(o.json, `${JSON.stringify({ ...result, times }, null, 1)}\n`);
console.log(`${o.model}, ${o.steps} step pairs: graft median ${result.graft.median} ms, ${o.peer} ${result[o.peer].median} ms; graft/${o.peer} paired ${result.pairedRatio.median} (p25–p75 ${result.pairedRatio.p25}–${result.pairedRatio.p75})`);
console.log(JSON.stringify(result));
