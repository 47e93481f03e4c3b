#!/usr/bin/env node
// Test accuracy of graft against each peer, paired by seed, from results files of bench/cnn.mjs
// and bench/resnet18.mjs run with `--seed S` for several S: the per-seed table and the mean
// difference with its 95% t-interval. One seed cannot tell a 1-point gap from the spread of data
// order and summation order; the "same accuracy ±0.5 points" is a statement about the mean.
// `node bench/paired-accuracy.mjs FILE...` (JSON files from bench/results/). Plain Node ESM.
import fs from 'node:fs';
import { dier, fmt, table } from './lib.mjs';

const die = dier('bench/paired-accuracy');
const files = process.argv.slice(2);
if (files.length === 0 || files.includes('--help')) {
  console.log('usage: node bench/paired-accuracy.mjs RESULTS.json...  (cnn.mjs or resnet18.mjs runs, one seed or more each)');
  process.exit(files.length === 0 ? 2 : 0);
}

// Two-sided 95% quantiles of Student's t, by degrees of freedom (1–30; the normal's beyond).
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
const t975 = (df) => T975[df - 1] ?? 1.96;

/** { bench, seed, arm → { test, frozen } } from one results file (medians when it holds repeats). */
function read(file) {
  let j;
  try { j = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { die(`cannot read ${file}: ${e.message}`); }
  const bench = j.bench ?? j.benchmark;
  const seed = j.options?.seed ?? 0;
  const arms = {};
  for (const r of j.runs ?? []) {
    const test = r.testAccuracy ?? r.testAcc;
    if (r.error || r.ok === false || typeof test !== 'number') continue;
    // A resnet18.mjs PyTorch arm with graft's 1-unit sigmoid head is a peer of its own.
    const arm = r.arm === 'torch' && j.options?.torchHead === 'sigmoid' ? 'torch-sigmoid' : r.arm;
    (arms[arm] ??= []).push({ test, frozen: typeof r.frozenTestAcc === 'number' ? r.frozenTestAcc : null });
  }
  if (!bench || Object.keys(arms).length === 0) die(`${file} holds no finished runs of bench/cnn.mjs or bench/resnet18.mjs`);
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const per = {};
  for (const [arm, rs] of Object.entries(arms)) per[arm] = { test: mean(rs.map((r) => r.test)), frozen: mean(rs.map((r) => r.frozen).filter((v) => v != null)) };
  return { bench, seed, arms: per };
}

const byBench = new Map();
for (const f of files) {
  const r = read(f);
  const seeds = byBench.get(r.bench) ?? new Map();
  // One seed's arms may come from several files (a peer run on its own later), each arm once.
  const have = seeds.get(r.seed) ?? {};
  const twice = Object.keys(r.arms).find((a) => a in have);
  if (twice) die(`${f}: seed ${r.seed}'s ${twice} arm of ${r.bench} appears in two files; pass one run per seed and arm`);
  seeds.set(r.seed, { ...have, ...r.arms });
  byBench.set(r.bench, seeds);
}

for (const [bench, seeds] of byBench) {
  const peers = [...new Set([...seeds.values()].flatMap((a) => Object.keys(a)))].filter((a) => a !== 'graft');
  const keys = [...seeds.keys()].sort((a, b) => a - b);
  const phases = [...seeds.values()].some((a) => a.graft?.frozen != null) ? ['frozen', 'test'] : ['test'];
  const arms = ['graft', ...peers];
  console.log(`\n${bench}: test accuracy by seed${phases.length > 1 ? ' (after the frozen phase / after fine-tuning)' : ''}`);
  const rows = keys.map((s) => [String(s), ...arms.map((a) => phases.map((p) => fmt(seeds.get(s)[a]?.[p] ?? null, 4)).join(' / '))]);
  console.log(table(['seed', ...arms], rows));
  for (const peer of peers) {
    for (const p of phases) {
      const d = keys.map((s) => seeds.get(s)).filter((a) => a.graft?.[p] != null && a[peer]?.[p] != null).map((a) => 100 * (a.graft[p] - a[peer][p]));
      if (d.length < 2) { console.log(`graft − ${peer} (${p}): ${d.length} paired seed(s); an interval needs 2 or more`); continue; }
      const m = d.reduce((a, b) => a + b, 0) / d.length;
      const sd = Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1));
      const half = t975(d.length - 1) * sd / Math.sqrt(d.length);
      console.log(`graft − ${peer} (${p === 'test' ? 'after fine-tuning' : 'after the frozen phase'}), ${d.length} seeds: ${m >= 0 ? '+' : ''}${m.toFixed(2)} ± ${half.toFixed(2)} points (95% t-interval; per seed ${fmt(Math.min(...d), 1)} to ${fmt(Math.max(...d), 1)})`);
    }
  }
}
