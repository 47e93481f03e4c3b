#!/usr/bin/env node
// Whole-network fine-tuning of an ONNX model, in one sitting: ResNet-18 at 64×64 on CIFAR-10 cats
// vs dogs, graft (`graft transfer --from resnet18-64.onnx`, every block trainable, onnxruntime
// through graft's training compiler) next to PyTorch on 2 threads (bench/peers/torch_resnet18_cats_dogs.py)
// — the same initial weights (one ONNX file), the same images (the first N per class by name, as
// symlinks in one folder both read), Adam 1e-3, batch 32, BatchNorm training, a fresh order each
// epoch. Only epochs are timed; the first apart (sessions, allocation). Plain Node ESM.
// `node bench/resnet18.mjs --help` for options.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closing, dier, eachFlag, failure, fmt, graftCommand, hostInfo, interleaved, isDir, isFile, lastJson, list, median, num, pythonHas, reportFailure, resultsFile, runOnce, subset, table, timeAvailable, trapInterrupt } from './lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARMS = ['graft', 'torch'];
const HELP = `usage: node bench/resnet18.mjs [options]

  --per-class N       training images per class, the first N by name (default 1000)
  --test-per-class N  test images per class (default 0: all 1000)
  --epochs N          epochs (default 5)
  --repeats N         runs per arm, interleaved (default 1)
  --only LIST         graft,torch
  --cifar DIR         folder holding cifar10/{train,test}/{cat,dog} JPEGs (default $CIFAR_DIR or /tmp/photos-src)
  --init FILE         the initial weights as ONNX (default ~/.cache/graft/onnx-fixtures/resnet18-64.onnx;
                      the PyTorch peer makes it when absent)
  --python PATH       Python with torch and onnx (default $PEERS_PYTHON or /tmp/peers/bin/python)
  --graft-bin PATH    graft's CLI entry (default $GRAFT_BIN or <repo>/bin/graft.js): a build of another
                      commit, to compare two in one sitting
  --torch-head H      the PyTorch arm's head: softmax (the init file's 2-class fc, default) or sigmoid
                      (a fresh 1-unit Glorot-uniform fc with sigmoid cross-entropy, graft's 2-class head)
  --seed N            seed of both arms' runs (data order, head; default 0); the initial weights stay --init's
  --timeout S         per-run limit (default 3600)
  --results DIR       where the JSON goes (default <repo>/bench/results)
  --help              this text`;
const die = dier('bench/resnet18');

const o = {
  perClass: 1000, testPerClass: 0, epochs: 5, repeats: 1, only: ARMS,
  cifar: process.env.CIFAR_DIR || '/tmp/photos-src',
  init: path.join(os.homedir(), '.cache/graft/onnx-fixtures/resnet18-64.onnx'),
  python: process.env.PEERS_PYTHON || '/tmp/peers/bin/python',
  graftBin: process.env.GRAFT_BIN || path.join(REPO, 'bin/graft.js'),
  torchHead: 'softmax', seed: 0, timeout: 3600, results: path.join(REPO, 'bench/results'),
};
eachFlag(process.argv.slice(2), die, (flag, val) => {
  const int = (min) => { const v = Number(val()); if (!Number.isInteger(v) || v < min) die(`${flag} takes a whole number ≥ ${min}`); return v; };
  if (flag === '--help') { console.log(HELP); process.exit(0); }
  else if (flag === '--per-class') o.perClass = int(1);
  else if (flag === '--test-per-class') o.testPerClass = int(0);
  else if (flag === '--epochs') o.epochs = int(2);
  else if (flag === '--repeats') o.repeats = int(1);
  else if (flag === '--only') o.only = subset(list(val()), ARMS, die);
  else if (flag === '--cifar') o.cifar = val();
  else if (flag === '--init') o.init = val();
  else if (flag === '--python') o.python = val();
  else if (flag === '--graft-bin') o.graftBin = val();
  else if (flag === '--seed') o.seed = int(0);
  else if (flag === '--torch-head') { o.torchHead = val(); if (!['softmax', 'sigmoid'].includes(o.torchHead)) die(`--torch-head takes softmax or sigmoid; received ${JSON.stringify(o.torchHead)}`); }
  else if (flag === '--timeout') o.timeout = int(1);
  else if (flag === '--results') o.results = val();
  else die(`unknown option ${flag} (see --help)`);
});
const source = isDir(path.join(o.cifar, 'cifar10')) ? path.join(o.cifar, 'cifar10') : o.cifar;
if (!isDir(path.join(source, 'train', 'cat'))) die(`no CIFAR-10 JPEG tree at ${source} (train/cat, train/dog, test/…); extract ../shared/data/cifar10-jpeg.tar and pass --cifar`);
const whyNot = pythonHas(o.python, ['torch', 'onnx', 'numpy', 'PIL']);
if (whyNot) die(whyNot);

// One image set both read: the first N training files per class by name, every test file (or N).
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-resnet18-'));
for (const [part, n] of [['train', o.perClass], ['test', o.testPerClass]]) {
  for (const cls of ['cat', 'dog']) {
    const from = path.join(source, part, cls);
    const to = path.join(work, 'data', part, cls);
    fs.mkdirSync(to, { recursive: true });
    const files = fs.readdirSync(from).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    for (const f of n > 0 ? files.slice(0, n) : files) fs.symlinkSync(path.join(from, f), path.join(to, f));
  }
}

const useTime = timeAvailable();
const stop = trapInterrupt();
const started = new Date();
const runs = [];
// The peer first makes the initial weights when they are missing: graft must start from the same file.
if (!isFile(o.init) && o.only.includes('torch')) console.log(`note: ${o.init} is made by the first PyTorch run`);

await interleaved([...o.only].sort((a, b) => (a === 'torch' ? -1 : b === 'torch' ? 1 : 0)), o.repeats, stop, async (arm, rep) => {
  const rec = { arm, repeat: rep };
  let argv;
  const out = path.join(work, `run-${arm}-${rep}`);
  if (arm === 'torch') {
    argv = [o.python, path.join(REPO, 'bench/peers/torch_resnet18_cats_dogs.py'), '--data-dir', path.join(work, 'data'), '--per-class', '0', '--epochs', String(o.epochs), '--init', o.init, '--seed', String(o.seed), '--head', o.torchHead];
  } else {
    if (!isFile(o.init)) { rec.error = `no initial weights at ${o.init}`; console.log('SKIPPED (no initial weights; run the torch arm first)'); runs.push(rec); return; }
    argv = graftCommand(o.graftBin, ['transfer', '--from', o.init, '--preprocess', 'imagenet', '--task', `folder:${path.join(work, 'data')}`,
      '--recipe', 'writeup', '--bn', 'train', '--freeze', 'none', '--frozen-epochs', '0', '--epochs', String(o.epochs), '--optimizer', 'adam', '--lr', '0.001', '--batch-size', '32', '--val-split', '0', '--seed', String(o.seed), '--json', '--out', out]);
  }
  const r = await runOnce(argv, REPO, o.timeout, useTime);
  const json = lastJson(r.stdout);
  const why = failure(r, json, stop.interrupted, o.timeout);
  rec.wallSeconds = r.wallSeconds;
  rec.peakRssMB = r.peakRssMB;
  if (why) { reportFailure(rec, why, r); runs.push(rec); return; }
  if (arm === 'torch') {
    rec.firstEpochSeconds = num(json.first_epoch_seconds ?? json.firstEpochSeconds);
    rec.steadyEpochSeconds = num(json.steady_epoch_seconds ?? json.steadyEpochSeconds);
    rec.testAccuracy = num(json.test_acc ?? json.test_accuracy);
    rec.raw = json;
  } else {
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    const phase = run.phases.find((p) => p.name === 'unfrozen');
    const secs = phase.history.map((h) => h.seconds);
    rec.firstEpochSeconds = secs[0];
    rec.steadyEpochSeconds = median(secs.slice(1));
    rec.testAccuracy = json.testAccuracy;
    rec.engine = phase.engine;
    rec.trainImages = run.data?.counts ?? null;
  }
  console.log(`first epoch ${fmt(rec.firstEpochSeconds, 1)} s, steady ${fmt(rec.steadyEpochSeconds, 1)} s, accuracy ${fmt(rec.testAccuracy, 4)}, peak RSS ${fmt(rec.peakRssMB, 0)} MB`);
  runs.push(rec);
});

const by = (arm, key) => median(runs.filter((r) => r.arm === arm && !r.error).map((r) => r[key]));
const rows = o.only.map((arm) => [arm, fmt(by(arm, 'firstEpochSeconds'), 1), fmt(by(arm, 'steadyEpochSeconds'), 1), fmt(by(arm, 'testAccuracy'), 4), fmt(by(arm, 'peakRssMB'), 0)]);
console.log(`\nResNet-18 whole network, 64×64, cats vs dogs, ${o.perClass}/class, ${o.epochs} epochs (medians of ${o.repeats})`);
console.log(table(['arm', 'first epoch s', 'steady epoch s', 'test accuracy', 'peak RSS MB'], rows));
const ratio = by('graft', 'steadyEpochSeconds') != null && by('torch', 'steadyEpochSeconds') != null ? by('graft', 'steadyEpochSeconds') / by('torch', 'steadyEpochSeconds') : null;
if (ratio != null) console.log(`graft/PyTorch (2 threads), steady epoch: ${ratio.toFixed(2)}; graft's first epoch = ${fmt(by('graft', 'firstEpochSeconds') / by('graft', 'steadyEpochSeconds'), 2)} steady epochs`);
const file = resultsFile(o.results, started, 'resnet18-');
fs.writeFileSync(file, `${JSON.stringify({ bench: 'resnet18', options: o, host: hostInfo(), startedAt: started.toISOString(), runs, ratio }, null, 2)}\n`);
fs.rmSync(work, { recursive: true, force: true });
closing(file);
