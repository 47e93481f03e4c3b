#!/usr/bin/env node
// Transfer learning on images, in one sitting: graft's cats-vs-dogs run (CIFAR-10 cat/dog, an
// ImageNet-pretrained MobileNetV2 α=0.35 at 64×64) with its frozen-base feature cache, the same
// frozen phase without the cache, the same run in Keras from the same backbone weights
// (bench/peers/keras_cats_dogs.py), and a random-init VGG16 frozen phase with and without the
// cache. Repeats are interleaved (order rotated each round), so the ratios printed at the end are
// the numbers to quote. Plain Node ESM, no dependencies. `node bench/cnn.mjs --help` for options.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closing, dier, eachFlag, failure, fmt, graftCommand, hostInfo, interleaved, isDir, isFile, lastJson, list, median, num, pythonHas, reportFailure,
  resultsFile as newResultsFile, runOnce, subset, table, timeAvailable, TIME_BIN, trapInterrupt,
} from './lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARMS = ['graft', 'graft-nocache', 'keras', 'torch', 'vgg16', 'vgg16-nocache'];
// Arms run by default (torch, the PyTorch peer, on request: --only …,torch).
const DEFAULT_ARMS = ['graft', 'graft-nocache', 'keras', 'vgg16', 'vgg16-nocache'];
const PEERS = { keras: 'bench/peers/keras_cats_dogs.py', torch: 'bench/peers/torch_mobilenetv2_cats_dogs.py' };
const LABEL = {
  graft: 'graft MobileNetV2, cache',
  'graft-nocache': 'graft MobileNetV2, no cache',
  keras: 'Keras MobileNetV2',
  torch: 'PyTorch MobileNetV2 (2 threads)',
  vgg16: 'graft VGG16 (random), cache',
  'vgg16-nocache': 'graft VGG16 (random), no cache',
};
const DEFAULT_SIZES = { perClass: 1000, testPerClass: 0, frozenEpochs: 10, epochs: 10, vggPerClass: 64, vggTestPerClass: 50, vggEpochs: 10 };
const SMOKE = { perClass: 20, testPerClass: 25, frozenEpochs: 2, epochs: 2, vggPerClass: 8, vggTestPerClass: 8, vggEpochs: 2 };

const HELP = `usage: node bench/cnn.mjs [options]

Arms (interleaved): ${ARMS.join(', ')}; all but torch (the PyTorch peer) run by default.

Sizes (defaults are the real sitting):
  --per-class N          training images per class for the MobileNetV2 runs (default 1000: 2000 images)
  --test-per-class N     test images per class, 0 = all 1000 (default 0: 2000 images)
  --frozen-epochs N      frozen-phase epochs (default 10)
  --epochs N             unfrozen-phase epochs (default 10)
  --vgg-per-class N      training images per class for the VGG16 arms (default 64: 128 images)
  --vgg-test-per-class N test images per class for the VGG16 arms (default 50: 100 images)
  --vgg-epochs N         frozen-phase epochs of the VGG16 arms (default 10)
  --nocache-unfrozen     also run the unfrozen phase in the no-cache arm (default: frozen phase only)
  --smoke                tiny sizes for checking the harness: --per-class ${SMOKE.perClass} --test-per-class ${SMOKE.testPerClass}
                         --frozen-epochs ${SMOKE.frozenEpochs} --epochs ${SMOKE.epochs} --vgg-per-class ${SMOKE.vggPerClass} --vgg-test-per-class ${SMOKE.vggTestPerClass} --vgg-epochs ${SMOKE.vggEpochs}
                         (size flags override it; the results file is marked smoke)

Runs:
  --repeats N            runs per arm, interleaved round-robin (default 1)
  --only LIST            comma-separated subset of the arms
  --cifar DIR            folder holding cifar10/{train,test}/{cat,dog} (default $CIFAR_DIR or /tmp/cifar);
                         extracted there from --cifar-tar when missing
  --cifar-tar FILE       the CIFAR-10 JPEG tar (default $CIFAR_TAR or <repo>/../shared/data/cifar10-jpeg.tar)
  --weights FILE         MobileNetV2 α=0.35 weights (default $GRAFT_TM_WEIGHTS or
                         <repo>/../shared/fixtures/teachable-machine/model.json)
  --backend NAME         graft's backend (default wasm)
  --seed N               seed of both graft's and Keras's runs (head initialisation, shuffling; default 0)
  --unfreeze-from LAYER  first MobileNetV2 layer trained in the unfrozen phase (default block_16_expand;
                         Conv1 trains the whole network)
  --python PATH          Python with tensorflow and keras (default $PEERS_PYTHON or /tmp/peers/bin/python)
  --graft-bin PATH       graft's CLI entry (default $GRAFT_BIN or <repo>/bin/graft.js)
  --timeout S            per-run limit in seconds (default 3600)
  --results DIR          where the JSON goes (default <repo>/bench/results)
  --work DIR             scratch folder for data trees, the exported backbone and run folders
                         (default: a new folder in the OS temp dir, removed at the end)
  --keep                 keep the scratch folder (graft's run folders included)
  --help                 this text`;

const die = dier('bench/cnn');

function parseArgs(argv) {
  const o = {
    ...DEFAULT_SIZES, nocacheUnfrozen: false, smoke: false,
    repeats: 1, only: DEFAULT_ARMS,
    cifar: process.env.CIFAR_DIR || '/tmp/cifar',
    cifarTar: process.env.CIFAR_TAR || path.resolve(REPO, '../shared/data/cifar10-jpeg.tar'),
    weights: process.env.GRAFT_TM_WEIGHTS || path.resolve(REPO, '../shared/fixtures/teachable-machine/model.json'),
    backend: 'wasm',
    seed: 0,
    unfreezeFrom: 'block_16_expand',
    python: process.env.PEERS_PYTHON || '/tmp/peers/bin/python',
    graftBin: process.env.GRAFT_BIN || path.join(REPO, 'bin/graft.js'),
    timeout: 3600,
    results: path.join(REPO, 'bench/results'),
    work: null, keep: false,
  };
  if (argv.includes('--smoke')) Object.assign(o, SMOKE, { smoke: true }); // any size flag overrides it
  const ints = { '--per-class': 'perClass', '--test-per-class': 'testPerClass', '--frozen-epochs': 'frozenEpochs', '--epochs': 'epochs', '--vgg-per-class': 'vggPerClass', '--vgg-test-per-class': 'vggTestPerClass', '--vgg-epochs': 'vggEpochs', '--repeats': 'repeats' };
  eachFlag(argv, die, (flag, val, a) => {
    if (flag in ints) {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 0) die(`${flag} takes a whole number ≥ 0`);
      o[ints[flag]] = v;
      return;
    }
    switch (flag) {
      case '--smoke': break; // applied before the loop
      case '--nocache-unfrozen': o.nocacheUnfrozen = true; break;
      case '--only': o.only = list(val()); break;
      case '--cifar': o.cifar = val(); break;
      case '--cifar-tar': o.cifarTar = val(); break;
      case '--weights': o.weights = val(); break;
      case '--backend': o.backend = val(); break;
      case '--seed': o.seed = Number(val()); break;
      case '--unfreeze-from': o.unfreezeFrom = val(); break;
      case '--python': o.python = val(); break;
      case '--graft-bin': o.graftBin = val(); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--results': o.results = val(); break;
      case '--work': o.work = val(); break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': console.log(HELP); process.exit(0);
      default: die(`unknown argument: ${a}\n\n${HELP}`);
    }
  });
  if (o.repeats < 1) die('--repeats must be at least 1');
  for (const k of ['perClass', 'frozenEpochs', 'vggPerClass', 'vggTestPerClass', 'vggEpochs']) if (o[k] < 1) die(`${k} must be at least 1`);
  if (!(o.timeout > 0)) die('--timeout must be a positive number of seconds');
  if (!Number.isInteger(o.seed) || o.seed < 0) die('--seed must be a whole number ≥ 0');
  o.only = subset(o.only, ARMS, die);
  return o;
}

// ---- data: the CIFAR-10 JPEG tree, and per-sitting subsets of it ----

const CLASSES = ['cat', 'dog'];
const SPLITS = ['train', 'test'];

function cifarRoot(dir) {
  for (const d of [path.join(dir, 'cifar10'), dir]) if (SPLITS.every(s => CLASSES.every(c => isDir(path.join(d, s, c))))) return d;
  return null;
}

function ensureCifar(o) {
  let root = cifarRoot(o.cifar);
  if (root) return { root };
  if (!isFile(o.cifarTar)) return { why: `no CIFAR-10 cat/dog tree under ${o.cifar} and no tar at ${o.cifarTar} (set --cifar / --cifar-tar)` };
  console.log(`extracting cat and dog from ${o.cifarTar} into ${o.cifar} ...`);
  fs.mkdirSync(o.cifar, { recursive: true });
  const members = SPLITS.flatMap(s => CLASSES.map(c => `cifar10/${s}/${c}`));
  const r = spawnSync('tar', ['-xf', o.cifarTar, '-C', o.cifar, ...members], { encoding: 'utf8' });
  if (r.status !== 0) return { why: `tar failed: ${(r.stderr || r.error?.message || '').trim()}` };
  root = cifarRoot(o.cifar);
  return root ? { root } : { why: `extracted, but found no cifar10/{train,test}/{cat,dog} under ${o.cifar}` };
}

// A tree <dest>/cifar10/{train,test}/{cat,dog} of symlinks: the first `perClass` training and
// `testPerClass` (0 = all) test images of each class, by file name. graft and Keras both read all
// of it, so they train and test on exactly the same images.
function makeSubset(root, dest, perClass, testPerClass) {
  const counts = {};
  for (const s of SPLITS) {
    for (const c of CLASSES) {
      const src = path.join(root, s, c);
      const names = fs.readdirSync(src).filter(f => /\.(jpe?g|png)$/i.test(f) && !f.startsWith('.')).sort();
      const n = s === 'train' ? perClass : testPerClass || names.length;
      if (names.length < n) die(`${src} holds ${names.length} images; ${n} asked for`);
      const out = path.join(dest, 'cifar10', s, c);
      fs.mkdirSync(out, { recursive: true });
      for (const f of names.slice(0, n)) fs.symlinkSync(path.join(src, f), path.join(out, f));
      counts[`${s}/${c}`] = n;
    }
  }
  return counts;
}

// ---- checks ----

function graftMissing(o) {
  if (!isFile(o.graftBin)) return `no graft CLI at ${o.graftBin}`;
  if (!isFile(path.join(REPO, 'dist/cli/main.js'))) return 'graft is not built (dist/cli/main.js missing): run `npm run build` first';
  return null;
}

// ---- the commands ----

function graftArgs(o, arm, dataDir, outDir) {
  const vgg = arm.startsWith('vgg16');
  const common = [
    '--input', '64', '--task', 'cifar10:binary=cat,dog', '--data-dir', dataDir, '--head-hidden', '256',
    '--frozen-optimizer', 'adam', '--frozen-lr', '0.001', '--optimizer', 'adam', '--lr', '0.0001',
    '--out', outDir, '--force', '--json', '--backend', o.backend, '--seed', String(o.seed),
  ];
  const args = vgg
    ? ['--backbone', 'vgg16', '--weights', 'none', '--frozen-epochs', String(o.vggEpochs), '--epochs', '0', ...common]
    : ['--backbone', 'mobilenetv2:0.35', '--weights', o.weights, '--head-pool', 'avg', '--frozen-epochs', String(o.frozenEpochs),
      // The peers train BatchNorm once unfrozen, and were matched against the write-up recipe's head.
      '--recipe', 'writeup', '--bn', 'train', '--unfreeze', `from:${o.unfreezeFrom}`, '--epochs', String(arm === 'graft-nocache' && !o.nocacheUnfrozen ? 0 : o.epochs), ...common];
  if (arm.endsWith('-nocache')) args.push('--no-feature-cache');
  return graftCommand(o.graftBin, ['transfer', ...args]);
}

function peerArgs(o, arm, dataDir, backbone) {
  return [o.python, path.join(REPO, PEERS[arm]), '--backbone', backbone, '--data-dir', dataDir,
    '--frozen-epochs', String(o.frozenEpochs), '--epochs', String(o.epochs), '--frozen-lr', '0.001', '--lr', '0.0001',
    '--batch-size', '32', '--head-hidden', '256', '--unfreeze-from', o.unfreezeFrom, '--seed', String(o.seed)];
}

// ---- one shape for every arm ----

const round = (v, d = 4) => (v == null ? null : +v.toFixed(d));

// From graft's run.json: phase seconds (the cache build included), the epochs' own seconds, and the
// feature cache (images run through the frozen base, and the seconds that took).
function fromGraft(run) {
  const phase = name => run.phases?.find(p => p.name === name);
  const pick = p => {
    if (!p) return {};
    const epochs = (p.history ?? []).map(h => num(h.seconds));
    const cache = p.featureCache ? { layer: p.featureCache.layer, images: p.featureCache.images, seconds: round(p.featureCache.seconds, 3) } : null;
    return {
      seconds: round(num(p.seconds), 3), epochs: epochs.length, epochSeconds: epochs.map(s => round(s, 3)),
      medianEpochSeconds: round(median(epochs), 4), cache,
      cacheImagesPerSecond: cache && cache.seconds > 0 ? round(cache.images / cache.seconds, 1) : null,
    };
  };
  const f = pick(phase('frozen')), u = pick(phase('unfrozen'));
  return {
    frozen: f, unfrozen: phase('unfrozen') ? u : null,
    frozenSeconds: f.seconds ?? null, unfrozenSeconds: phase('unfrozen') ? u.seconds : null,
    frozenTestAcc: num(run.metrics?.frozenTest?.accuracy) ?? num(run.metrics?.test?.accuracy),
    testAcc: phase('unfrozen') ? num(run.metrics?.test?.accuracy) : null,
    testImages: num(run.metrics?.test?.count),
    backend: run.backend, graftVersion: run.graftVersion,
  };
}

function fromKeras(j) {
  const phase = (s, e) => ({ seconds: num(s), epochs: e.length, epochSeconds: e, medianEpochSeconds: round(median(e), 4), cache: null, cacheImagesPerSecond: null });
  return {
    frozen: phase(j.frozen_seconds, j.frozen_epoch_seconds ?? []),
    unfrozen: j.epochs > 0 ? phase(j.unfrozen_seconds, j.unfrozen_epoch_seconds ?? []) : null,
    frozenSeconds: num(j.frozen_seconds), unfrozenSeconds: j.epochs > 0 ? num(j.unfrozen_seconds) : null,
    frozenTestAcc: num(j.frozen_test_acc), testAcc: j.epochs > 0 ? num(j.test_acc) : null, testImages: num(j.test_images),
    dataSeconds: num(j.data_seconds), version: j.torch ? `torch ${j.torch}, ${j.intra_op_threads} threads` : `keras ${j.keras} / tf ${j.tf}`,
  };
}

// ---- statistics and printing ----

function summarise(arms, runs) {
  const ok = a => runs.filter(r => r.arm === a && r.ok);
  const summary = {};
  for (const a of arms) {
    const rs = ok(a);
    if (!rs.length) continue;
    const total = r => (r.frozenSeconds ?? 0) + (r.unfrozenSeconds ?? 0);
    summary[a] = {
      runs: rs.length,
      frozenSeconds: median(rs.map(r => r.frozenSeconds)),
      frozenEpochSeconds: median(rs.map(r => r.frozen?.medianEpochSeconds)),
      unfrozenSeconds: median(rs.map(r => r.unfrozenSeconds)),
      unfrozenEpochSeconds: median(rs.map(r => r.unfrozen?.medianEpochSeconds)),
      totalSeconds: median(rs.map(total)),
      frozenCacheImagesPerSecond: median(rs.map(r => r.frozen?.cacheImagesPerSecond)),
      unfrozenCacheImagesPerSecond: median(rs.map(r => r.unfrozen?.cacheImagesPerSecond)),
      frozenTestAcc: median(rs.map(r => r.frozenTestAcc)),
      testAcc: median(rs.map(r => r.testAcc)),
      peakRssMB: median(rs.map(r => r.peakRssMB)),
      wallSeconds: median(rs.map(r => r.wallSeconds)),
    };
  }
  // a/b for one key: median over repeats of the ratio within each repeat (same round of the
  // sitting); the ratio of medians when no repeat has both.
  const ratio = (a, b, key, keyB = key) => {
    if (!summary[a] || !summary[b]) return null;
    const get = (r, k) => (k === 'total' ? (r.frozenSeconds ?? 0) + (r.unfrozenSeconds ?? 0) : k.split('.').reduce((x, p) => x?.[p], r));
    const paired = [];
    for (const x of ok(a)) {
      const y = ok(b).find(r => r.repeat === x.repeat);
      const u = y && get(x, key), v = y && get(y, keyB);
      if (num(u) != null && num(v)) paired.push(u / v);
    }
    if (paired.length) return round(median(paired), 3);
    const sk = { total: 'totalSeconds', 'frozen.medianEpochSeconds': 'frozenEpochSeconds', 'unfrozen.medianEpochSeconds': 'unfrozenEpochSeconds' };
    const u = summary[a][sk[key] ?? key], v = summary[b][sk[keyB] ?? keyB];
    return u != null && v ? round(u / v, 3) : null;
  };
  const ratios = {
    // no cache / cache: how much the feature cache speeds up the frozen phase.
    cacheSpeedupMobileNetV2: {
      frozenPhase: ratio('graft-nocache', 'graft', 'frozenSeconds'),
      perEpoch: ratio('graft-nocache', 'graft', 'frozen.medianEpochSeconds'),
    },
    cacheSpeedupVgg16: {
      frozenPhase: ratio('vgg16-nocache', 'vgg16', 'frozenSeconds'),
      perEpoch: ratio('vgg16-nocache', 'vgg16', 'frozen.medianEpochSeconds'),
    },
    // graft / Keras per phase; below 1: graft is faster.
    graftOverKeras: {
      frozenPhase: ratio('graft', 'keras', 'frozenSeconds'),
      unfrozenPhase: ratio('graft', 'keras', 'unfrozenSeconds'),
      total: ratio('graft', 'keras', 'total'),
      peakRss: ratio('graft', 'keras', 'peakRssMB'),
      frozenPhaseNoCache: ratio('graft-nocache', 'keras', 'frozenSeconds'),
    },
    graftOverTorch: {
      frozenPhase: ratio('graft', 'torch', 'frozenSeconds'),
      unfrozenPhase: ratio('graft', 'torch', 'unfrozenSeconds'),
      unfrozenEpoch: ratio('graft', 'torch', 'unfrozen.medianEpochSeconds'),
      peakRss: ratio('graft', 'torch', 'peakRssMB'),
    },
  };
  return { summary, ratios };
}

function report(o, arms, { summary, ratios }, skipped) {
  const s = summary;
  console.log(`\nMedians over repeats${o.smoke ? ' (SMOKE sizes: not numbers to quote)' : ''}. MobileNetV2 α=0.35 at 64×64: ${2 * o.perClass} training images, ` +
    `${o.testPerClass ? 2 * o.testPerClass : 'all 2000'} test images, ${o.frozenEpochs} frozen + ${o.epochs} unfrozen epochs (no-cache arm: ` +
    `${o.nocacheUnfrozen ? 'both phases' : 'frozen phase only'}). VGG16: ${2 * o.vggPerClass} training images, ${o.vggEpochs} frozen epochs. ` +
    'Phase seconds include building the feature cache; "s/epoch" is the median epoch without it.\n');
  const rows = arms.filter(a => s[a]).map(a => {
    const x = s[a];
    return [LABEL[a], fmt(x.frozenSeconds, 1), fmt(x.frozenEpochSeconds, 2), fmt(x.unfrozenSeconds, 1), fmt(x.unfrozenEpochSeconds, 2),
      fmt(x.frozenCacheImagesPerSecond, 0), fmt(x.frozenTestAcc, 4), fmt(x.testAcc, 4), fmt(x.peakRssMB, 0), `${x.runs}/${o.repeats}`];
  });
  if (rows.length) console.log(table(['arm', 'frozen s', 's/epoch', 'unfrozen s', 's/epoch', 'extract img/s', 'frozen acc', 'test acc', 'peak RSS MB', 'runs ok'], rows));
  else console.log('(no successful runs)');
  for (const [a, why] of Object.entries(skipped)) console.log(`skipped ${a}: ${why}`);
  const r = ratios;
  console.log('\nFeature cache (no cache / cache; the issue expects ≥ 5 for the frozen phase):');
  console.log(table(['backbone', 'frozen phase', 'per epoch', 'extraction img/s'], [
    ['MobileNetV2 α=0.35', fmt(r.cacheSpeedupMobileNetV2.frozenPhase, 2), fmt(r.cacheSpeedupMobileNetV2.perEpoch, 1), fmt(s.graft?.frozenCacheImagesPerSecond, 0)],
    ['VGG16', fmt(r.cacheSpeedupVgg16.frozenPhase, 2), fmt(r.cacheSpeedupVgg16.perEpoch, 1), fmt(s.vgg16?.frozenCacheImagesPerSecond, 0)],
  ]));
  console.log('\ngraft / Keras (below 1: graft is faster or smaller; median of per-repeat ratios):');
  const k = r.graftOverKeras;
  console.log(table(['ratio', 'frozen phase', 'unfrozen phase', 'total', 'peak RSS', 'frozen, graft without cache'],
    [['graft/Keras', fmt(k.frozenPhase, 2), fmt(k.unfrozenPhase, 2), fmt(k.total, 2), fmt(k.peakRss, 2), fmt(k.frozenPhaseNoCache, 2)]]));
  if (s.torch) {
    const t = r.graftOverTorch;
    console.log('\ngraft / PyTorch (2 threads):');
    console.log(table(['ratio', 'frozen phase', 'unfrozen phase', 'unfrozen epoch', 'peak RSS'], [['graft/PyTorch', fmt(t.frozenPhase, 2), fmt(t.unfrozenPhase, 2), fmt(t.unfrozenEpoch, 2), fmt(t.peakRss, 2)]]));
  }
}

// ---- main ----

const o = parseArgs(process.argv.slice(2));
const useTime = timeAvailable();

const skipped = {};
const skip = (arms, why) => { for (const a of arms) if (o.only.includes(a) && !skipped[a]) { skipped[a] = why; console.log(`skipping ${a}: ${why}`); } };
const graftWhy = graftMissing(o);
if (graftWhy) skip(ARMS, graftWhy); // Keras needs graft too: it exports the backbone
if (!isFile(o.weights)) skip(['graft', 'graft-nocache', 'keras'], `no MobileNetV2 weights at ${o.weights} (set --weights / GRAFT_TM_WEIGHTS)`);
if (!isFile(path.join(REPO, 'bench/peers/keras_cats_dogs.py'))) skip(['keras'], 'bench/peers/keras_cats_dogs.py is missing');
if (o.only.includes('keras') && !skipped.keras) { const why = pythonHas(o.python, ['tensorflow', 'keras', 'numpy']); if (why) skip(['keras'], why); }
// The PyTorch peer reads the backbone's weights with Keras (in a child process) and trains in torch.
if (o.only.includes('torch') && !skipped.torch) { const why = pythonHas(o.python, ['torch', 'keras', 'numpy', 'PIL']); if (why) skip(['torch'], why); }
const cifar = ensureCifar(o);
if (cifar.why) skip(ARMS, cifar.why);
const arms = o.only.filter(a => !skipped[a]);
if (!arms.length) { console.log('nothing to run.'); process.exit(1); }

const work = o.work ? path.resolve(o.work) : fs.mkdtempSync(path.join(os.tmpdir(), 'graft-bench-cnn-'));
fs.mkdirSync(work, { recursive: true });
const mnData = path.join(work, 'data-mobilenetv2');
const vggData = path.join(work, 'data-vgg16');
for (const d of [mnData, vggData]) fs.rmSync(d, { recursive: true, force: true });
const data = {};
if (arms.some(a => !a.startsWith('vgg16'))) data.mobilenetv2 = { dir: mnData, images: makeSubset(cifar.root, mnData, o.perClass, o.testPerClass) };
if (arms.some(a => a.startsWith('vgg16'))) data.vgg16 = { dir: vggData, images: makeSubset(cifar.root, vggData, o.vggPerClass, o.vggTestPerClass) };

// Keras starts from graft's own backbone: export it once per sitting (not timed in the table).
let backboneKeras = null, exportInfo = null;
const peerArms = arms.filter(a => PEERS[a]);
if (peerArms.length) {
  backboneKeras = path.join(work, 'mobilenetv2_0.35_64.keras');
  process.stdout.write('exporting graft\'s MobileNetV2 backbone for Keras ... ');
  const r = spawnSync(process.execPath, [path.join(REPO, 'bench/export-backbone.mjs'), '--backbone', 'mobilenetv2:0.35', '--input', '64',
    '--weights', o.weights, '--out', backboneKeras, '--backend', o.backend], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  exportInfo = r.status === 0 ? lastJson(r.stdout) : null;
  if (!exportInfo) {
    console.log('FAILED');
    console.log((r.stderr || r.error?.message || '').trim().split('\n').slice(-8).join('\n').replace(/^/gm, '    '));
    skip(peerArms, 'exporting the backbone failed');
    for (const a of peerArms) arms.splice(arms.indexOf(a), 1);
    if (!arms.length) process.exit(1);
  } else console.log(`${(exportInfo.bytes / 1e6).toFixed(1)} MB, ${exportInfo.seconds} s`);
}

const startedAt = new Date();
// Marked in the name when the sizes are not the real sitting's.
const tag = o.smoke ? '-smoke' : Object.entries(DEFAULT_SIZES).every(([k, v]) => o[k] === v) ? '' : '-custom';
const resultsFile = newResultsFile(o.results, startedAt, 'cnn-', tag);
const runs = [];
const meta = {
  benchmark: 'cnn', smoke: o.smoke,
  defaultSizes: Object.entries(DEFAULT_SIZES).every(([k, v]) => o[k] === v),
  startedAt: startedAt.toISOString(),
  host: hostInfo(),
  node: process.version,
  options: { ...o, work },
  data, backboneExport: exportInfo,
  peakRss: useTime ? `${TIME_BIN} -v (Maximum resident set size)` : null,
  skipped,
};
const save = (extra = {}) => {
  const body = { ...meta, finishedAt: new Date().toISOString(), loadavgNow: os.loadavg(), runs, ...summarise(arms, runs), ...extra };
  fs.writeFileSync(resultsFile, JSON.stringify(body, null, 2) + '\n');
};

const stop = trapInterrupt();

await interleaved(arms, o.repeats, stop, async (arm, rep) => {
  const isGraft = !PEERS[arm];
  const dataDir = arm.startsWith('vgg16') ? vggData : mnData;
  const outDir = isGraft ? path.join(work, `run-${arm}-${rep}`) : null;
  const argv = isGraft ? graftArgs(o, arm, dataDir, outDir) : peerArgs(o, arm, dataDir, backboneKeras);
  const r = await runOnce(argv, REPO, o.timeout, useTime);
  const json = lastJson(r.stdout);
  const rec = {
    arm, repeat: rep, command: argv, exitCode: r.code, signal: r.signal, timedOut: r.timedOut,
    wallSeconds: round(r.wallSeconds, 3), peakRssMB: r.peakRssMB == null ? null : round(r.peakRssMB, 1),
  };
  let why = failure(r, json, stop.interrupted, o.timeout);
  if (!why) {
    if (isGraft) {
      try {
        Object.assign(rec, fromGraft(JSON.parse(fs.readFileSync(path.join(outDir, 'run.json'), 'utf8'))));
        rec.raw = json;
      } catch (e) { why = `cannot read ${outDir}/run.json: ${e.message}`; }
    } else {
      Object.assign(rec, fromKeras(json));
      rec.raw = json;
    }
    if (!why && rec.frozenSeconds == null) why = 'no frozen-phase time in the output';
  }
  if (outDir && !o.keep) fs.rmSync(outDir, { recursive: true, force: true });
  rec.ok = !why;
  if (why) reportFailure(rec, why, r);
  else {
    const c = rec.frozen?.cacheImagesPerSecond;
    console.log(`frozen ${fmt(rec.frozenSeconds, 1)} s (${fmt(rec.frozen?.medianEpochSeconds, 2)} s/epoch${c ? `, cache ${c.toFixed(0)} img/s` : ''}), ` +
      `unfrozen ${fmt(rec.unfrozenSeconds, 1)} s, acc ${fmt(rec.frozenTestAcc, 4)}/${fmt(rec.testAcc, 4)}, ` +
      `RSS ${rec.peakRssMB == null ? 'n/a' : `${fmt(rec.peakRssMB, 0)} MB`}, wall ${r.wallSeconds.toFixed(1)} s`);
  }
  runs.push(rec);
  save({ complete: false });
});

const stats = summarise(arms, runs);
save({ complete: !stop.interrupted });
report(o, arms, stats, skipped);
if (!o.keep && !o.work) fs.rmSync(work, { recursive: true, force: true });
else console.log(`\nscratch folder kept: ${work}`);
closing(resultsFile);
process.exitCode = runs.some(r => r.ok) ? (stop.interrupted ? 130 : 0) : 1;
