#!/usr/bin/env node
// Measures graft transfer's recipes and BatchNorm modes over paired seeds (issue 16): the figures
// behind the default for pretrained backbones and behind `--bn auto`. Each arm × seed is one
// `graft transfer --json` process, run one at a time; results are appended to a JSONL file so an
// interrupted sitting continues where it stopped, and the tables are printed from that file.
//
//   node bench/recipes.mjs --data-dir /tmp/photos-src [--seeds 0,1,2,3,4] [--only tm-default,…]
//   node bench/recipes.mjs --table            (tables from the results file only)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dier, eachFlag, graftCommand, isFile, list } from './lib.mjs';
import { RECIPE_FLAGS } from './recipe-flags.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const die = dier('bench/recipes');
const o = {
  graft: process.env.GRAFT_BIN || path.join(here, '..', 'bin', 'graft.js'),
  dataDir: process.env.GRAFT_DATA_DIR || '',
  tm: path.join(here, '..', '..', 'shared', 'fixtures', 'teachable-machine', 'model.json'),
  seeds: [0, 1, 2, 3, 4],
  only: undefined,
  results: path.join(here, 'results', 'recipes.jsonl'),
  work: path.join(process.env.TMPDIR || '/tmp', 'graft-bench-recipes'),
  table: false,
};
eachFlag(process.argv.slice(2), die, (flag, val) => {
  if (flag === '--graft') o.graft = val();
  else if (flag === '--data-dir') o.dataDir = val();
  else if (flag === '--tm') o.tm = val();
  else if (flag === '--seeds') o.seeds = val().split(',').map(Number);
  else if (flag === '--only') o.only = list(val());
  else if (flag === '--results') o.results = val();
  else if (flag === '--work') o.work = val();
  else if (flag === '--table') o.table = true;
  else die(`unknown flag ${flag}; see the comment at the top of bench/recipes.mjs`);
});

// The Teachable Machine MobileNetV2 α0.35 at 96×96 on CIFAR-10 cats vs dogs, 300 per class (the
// issue's acceptance task); test: all 2,000 cat and dog test photos.
const TM = ['--backbone', 'mobilenetv2:0.35', '--weights', o.tm, '--input', '96', '--task', 'cifar10:binary=cat,dog', '--per-class', '300'];
// A VGG-style small CNN with BatchNorm (graft's `--arch cnn`), pretrained here on the 8 other classes.
const CNN_SOURCE = path.join(o.work, 'cnn8');
const CNN_PRETRAIN = ['train', '--task', 'cifar10:exclude=cat,dog', '--arch', 'cnn', '--per-class', '1500', '--epochs', '6', '--optimizer', 'adam', '--lr', '0.001', '--seed', '0'];
const CNN = ['--from', CNN_SOURCE, '--task', 'cifar10:binary=cat,dog', '--per-class', '300'];
/** A recipe's flags with one flag's value replaced. */
const withFlag = (flags, flag, value) => flags.map((f, i) => (flags[i - 1] === flag ? value : f));
/** With --bn set: arms name the mode that ran, not 'auto' (whose meaning this issue changed). */
const withBn = (flags, mode) => withFlag(flags, '--bn', mode);

// Candidates for the backbone default, each flag spelled out (a recipe's values may change with what these measure).
const ADAM_1E4 = ['--head-pool', 'flatten', '--frozen-optimizer', 'adam', '--frozen-lr', '0.001', '--frozen-epochs', '10', '--unfreeze', 'all', '--optimizer', 'adam', '--lr', '0.0001', '--epochs', '3'];

/** Each arm: the transfer flags after the common ones. */
const ARMS = {
  'tm-default': [...TM],
  // Flatten head, Adam 0.001 × 10 frozen, Adam 1e-4 × 3 unfrozen, with each BatchNorm mode: the --bn auto comparison.
  'tm-adam-bn-frozen': [...TM, ...ADAM_1E4, '--bn', 'frozen'],
  'tm-adam-bn-train': [...TM, ...ADAM_1E4, '--bn', 'train'],
  // The same at keras-guide's unfrozen rate, 1e-5.
  'tm-adam-lr1e-5': [...TM, ...withFlag(ADAM_1E4, '--lr', '0.00001'), '--bn', 'frozen'],
  'tm-keras-guide': [...TM, ...RECIPE_FLAGS['keras-guide']],
  'tm-fastai': [...TM, ...RECIPE_FLAGS.fastai],
  'tm-writeup': [...TM, ...withBn(RECIPE_FLAGS.writeup, 'frozen')],
  'cnn-bn-frozen': [...CNN, ...ADAM_1E4, '--bn', 'frozen'],
  'cnn-bn-train': [...CNN, ...ADAM_1E4, '--bn', 'train'],
};
const arms = o.only ?? Object.keys(ARMS);
for (const a of arms) if (!ARMS[a]) die(`--only names ${a}; choose from ${Object.keys(ARMS).join(', ')}`);

const done = readResults();
if (!o.table) {
  if (!isFile(o.graft)) die(`no graft at ${o.graft} (npm run build, or pass --graft FILE)`);
  if (!o.dataDir) die('pass --data-dir DIR (CIFAR-10: binary batches or the JPEG tree cifar10/{train,test}/<class>)');
  fs.mkdirSync(path.dirname(o.results), { recursive: true });
  fs.mkdirSync(o.work, { recursive: true });
  if (arms.some((a) => a.startsWith('cnn-')) && !isFile(path.join(CNN_SOURCE, 'run.json'))) {
    console.log(`pretraining the small CNN source: graft ${CNN_PRETRAIN.join(' ')}`);
    graft([...CNN_PRETRAIN, '--data-dir', o.dataDir, '--out', CNN_SOURCE, '--force', '--json']);
  }
  // Seed-major, so that a stopped sitting leaves whole pairs.
  for (const seed of o.seeds) {
    for (const arm of arms) {
      if (done.some((r) => r.arm === arm && r.seed === seed)) continue;
      const out = path.join(o.work, `${arm}-${seed}`);
      const args = ['transfer', ...ARMS[arm], '--seed', String(seed), '--data-dir', o.dataDir, '--out', out, '--force', '--json'];
      const started = Date.now();
      const r = graft(args);
      const row = { arm, seed, frozen: r.frozenTestAccuracy, test: r.testAccuracy, seconds: (Date.now() - started) / 1000, args: args.join(' ') };
      fs.appendFileSync(o.results, `${JSON.stringify(row)}\n`);
      done.push(row);
      console.log(`${arm} seed ${seed}: frozen ${row.frozen.toFixed(4)} → end ${row.test.toFixed(4)} (${row.seconds.toFixed(0)} s)`);
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
}
await printTables(done);

function graft(args) {
  const [node, ...rest] = graftCommand(o.graft, args);
  const r = spawnSync(node, rest, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) die(`graft ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function readResults() {
  if (!isFile(o.results)) return [];
  return fs.readFileSync(o.results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function printTables(rows) {
  const { confidenceInterval, pairedDifference } = await import(path.join(path.dirname(o.graft), '..', 'dist', 'index.js')).catch(() => import('../dist/index.js'));
  const by = (arm) => new Map(rows.filter((r) => r.arm === arm).map((r) => [r.seed, r]));
  const f = (x) => x.toFixed(3);
  const ci = (i) => `${i.mean >= 0 ? '+' : ''}${f(i.mean)} [${f(i.low)}, ${f(i.high)}]`;
  console.log('\n| arm | seeds | after frozen phase | end | end − frozen (paired, 95% CI) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const arm of Object.keys(ARMS)) {
    const r = [...by(arm).values()];
    if (r.length === 0) continue;
    const fr = r.map((x) => x.frozen);
    const en = r.map((x) => x.test);
    console.log(`| ${arm} | ${r.length} | ${f(confidenceInterval(fr).mean)} | ${f(confidenceInterval(en).mean)} | ${ci(pairedDifference(en, fr))} |`);
  }
  const pairs = [
    ['tm-default', 'tm-writeup'],
    ['tm-default', 'tm-keras-guide'],
    ['tm-default', 'tm-fastai'],
    ['tm-adam-bn-frozen', 'tm-keras-guide'],
    ['tm-adam-lr1e-5', 'tm-adam-bn-frozen'],
    ['tm-adam-lr1e-5', 'tm-keras-guide'],
    ['tm-adam-bn-frozen', 'tm-adam-bn-train'],
    ['cnn-bn-frozen', 'cnn-bn-train'],
  ];
  console.log('\n| a − b, end test accuracy | paired seeds | mean [95% CI] |');
  console.log('| --- | --- | --- |');
  for (const [a, b] of pairs) {
    const A = by(a);
    const B = by(b);
    const seeds = [...A.keys()].filter((s) => B.has(s)).sort((x, y) => x - y);
    if (seeds.length < 2) continue;
    const d = pairedDifference(seeds.map((s) => A.get(s).test), seeds.map((s) => B.get(s).test));
    console.log(`| ${a} − ${b} | ${seeds.join(',')} | ${ci(d)} |`);
  }
}
