#!/usr/bin/env node
// Memory of training on a large image folder: the same `graft train --task folder:DIR` with the
// images held in memory and kept on disk (read from the decode cache a batch at a time), each with
// a cold cache (decoding) and a warm one. Prints wall time, peak RSS and the test accuracy (which
// must agree), beside the decoded size of the set.
//
//   node bench/scale.mjs --dir /data/cifar10/train [--input 32] [--epochs 1] [--repeats 1]
//
// The 50,000-image folder used in bench/RESULTS.md is CIFAR-10's training set as JPEG folders
// (../shared/data/cifar10-jpeg.tar, extracted outside the repo): cifar10/train/<class>/*.jpg.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dier, eachFlag, fmt, isDir, median, runOnce, table, timeAvailable, trapInterrupt } from './lib.mjs';

const die = dier('bench/scale');
const opts = { dir: '', input: 32, epochs: 1, repeats: 1 };
eachFlag(process.argv.slice(2), die, (flag, val) => {
  if (flag === '--dir') opts.dir = path.resolve(val());
  else if (flag === '--input') opts.input = Number(val());
  else if (flag === '--epochs') opts.epochs = Number(val());
  else if (flag === '--repeats') opts.repeats = Number(val());
  else die(`unknown flag ${flag} (--dir, --input, --epochs, --repeats)`);
});
if (!opts.dir || !isDir(opts.dir)) die('--dir DIR: a folder with one subfolder of images per class');

const bin = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../bin/graft.js');
const useTime = timeAvailable();
trapInterrupt();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'graft-scale-'));
const rows = [];
let images = 0;
for (const mode of ['memory', 'disk']) {
  for (const cache of ['cold', 'warm']) {
    const runs = [];
    for (let r = 0; r < opts.repeats; r++) {
      const cacheHome = path.join(work, `cache-${mode}-${r}`);
      // A cold run starts from an empty cache; the warm run after it reuses what the cold run wrote.
      if (cache === 'cold') fs.rmSync(cacheHome, { recursive: true, force: true });
      process.env.XDG_CACHE_HOME = cacheHome;
      process.env.GRAFT_STREAM_ABOVE_MB = mode === 'disk' ? '0' : '1000000';
      const out = path.join(work, `run-${mode}-${cache}-${r}`);
      const res = await runOnce(['node', bin, 'train', '--task', `folder:${opts.dir}`, '--input', String(opts.input), '--epochs', String(opts.epochs), '--out', out, '--json'], process.cwd(), 3600, useTime);
      if (res.code !== 0) die(`${mode}/${cache} failed (exit ${res.code}):\n${res.stderr.slice(-2000)}`);
      const json = JSON.parse(res.stdout.trim().split('\n').pop());
      const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
      images = (run.data?.sizes?.train ?? 0) + (run.data?.sizes?.test ?? 0) + (run.data?.sizes?.validation ?? 0);
      runs.push({ wall: res.wallSeconds, rss: res.peakRssMB, acc: json.testAccuracy });
    }
    rows.push([mode, cache, fmt(median(runs.map((x) => x.wall)), 1), fmt(median(runs.map((x) => x.rss)), 0), runs.map((x) => x.acc.toFixed(4)).join(' ')]);
  }
}
const decodedMB = (images * opts.input * opts.input * 3) / 1024 ** 2;
console.log(`\n${images} images at ${opts.input}×${opts.input}×3: ${fmt(decodedMB, 0)} MB decoded as bytes, ${fmt(4 * decodedMB, 0)} MB as float32\n`);
console.log(table(['images', 'cache', 'wall s', 'peak RSS MB', 'test accuracy'], rows));
fs.rmSync(work, { recursive: true, force: true });
