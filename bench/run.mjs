#!/usr/bin/env node
// Side-by-side benchmark: graft's `seed` workflow against the same Model A -> Model B workflow in
// Keras, PyTorch and hand-written TF.js (the peer scripts in ../shared/peers). Everything runs in
// one sitting, repeats interleaved, so the ratios printed at the end are the numbers to quote.
// Plain Node ESM, no dependencies. `node bench/run.mjs --help` for the options.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closing, dier, eachFlag, failure, fmt, graftCommand, hostInfo, interleaved, isFile, lastJson, list, median, num, pythonHas, reportFailure,
  resultsFile as newResultsFile, runOnce, subset, table, timeAvailable, TIME_BIN, trapInterrupt,
} from './lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// graft-tfjs: graft with --engine tfjs (TF.js's wasm backend only), to show what the onnxruntime engine adds.
const SYSTEMS = ['graft', 'graft-tfjs', 'keras', 'torch', 'tfjs'];
const PEERS = ['graft-tfjs', 'keras', 'torch', 'tfjs'];
const LABEL = { graft: 'graft', 'graft-tfjs': 'graft-tfjs (--engine tfjs)', keras: 'Keras', torch: 'PyTorch (1 thread)', tfjs: 'TF.js wasm (by hand)' };

const HELP = `usage: node bench/run.mjs [options]

  --repeats N       runs per system, interleaved round-robin (default 1)
  --only LIST       comma-separated subset of ${SYSTEMS.join(',')} (default: all)
  --python PATH     Python with tensorflow, keras, torch (default $PEERS_PYTHON or /tmp/peers/bin/python)
  --tfjs-dir DIR    folder with @tensorflow/tfjs and -backend-wasm installed
                    (default $TFJS_PEER_DIR or /tmp/tfjs-peer)
  --peers-dir DIR   peer scripts (default $PEERS_DIR or <repo>/../shared/peers)
  --graft-bin PATH  graft's CLI entry (default $GRAFT_BIN or <repo>/bin/graft.js)
  --torch-threads N PyTorch's threads (default 1; issue 17's Model A target is against 2)
  --timeout S       per-run limit in seconds (default 1800)
  --results DIR     where the JSON goes (default <repo>/bench/results)
  --keep            keep graft's --out folders instead of deleting them
  --help            this text`;

const die = dier('bench');

function parseArgs(argv) {
  const o = {
    repeats: 1,
    only: SYSTEMS,
    python: process.env.PEERS_PYTHON || '/tmp/peers/bin/python',
    tfjsDir: process.env.TFJS_PEER_DIR || '/tmp/tfjs-peer',
    peersDir: process.env.PEERS_DIR || path.resolve(REPO, '../shared/peers'),
    graftBin: process.env.GRAFT_BIN || path.join(REPO, 'bin/graft.js'),
    timeout: 1800,
    torchThreads: 1,
    results: path.join(REPO, 'bench/results'),
    keep: false,
  };
  eachFlag(argv, die, (flag, val, a) => {
    switch (flag) {
      case '--repeats': o.repeats = Number(val()); break;
      case '--only': o.only = list(val()); break;
      case '--python': o.python = val(); break;
      case '--tfjs-dir': o.tfjsDir = val(); break;
      case '--peers-dir': o.peersDir = val(); break;
      case '--graft-bin': o.graftBin = val(); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--torch-threads': o.torchThreads = Number(val()); break;
      case '--results': o.results = val(); break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': console.log(HELP); process.exit(0);
      default: die(`unknown argument: ${a}\n\n${HELP}`);
    }
  });
  if (!Number.isInteger(o.repeats) || o.repeats < 1) die('--repeats must be a positive integer');
  if (!(o.timeout > 0)) die('--timeout must be a positive number of seconds');
  if (!Number.isInteger(o.torchThreads) || o.torchThreads < 1) die('--torch-threads must be a positive integer');
  LABEL.torch = `PyTorch (${o.torchThreads} thread${o.torchThreads > 1 ? 's' : ''})`;
  o.only = subset(o.only, SYSTEMS, die); // canonical order, no duplicates
  return o;
}

// ---- availability: each check returns null (ok) or the reason the system is skipped ----

function prepare(sys, o) {
  const script = f => path.join(o.peersDir, f);
  switch (sys) {
    case 'graft':
    case 'graft-tfjs': {
      if (!isFile(o.graftBin)) return { why: `no graft CLI at ${o.graftBin}` };
      if (o.graftBin === path.join(REPO, 'bin/graft.js') && !isFile(path.join(REPO, 'dist/cli/main.js')))
        return { why: 'graft is not built (dist/cli/main.js missing): run `npm run build` first' };
      const engine = sys === 'graft' ? [] : ['--engine', 'tfjs'];
      return {
        cmd: (outDir) => graftCommand(o.graftBin, ['seed', '--json', '--out', outDir, '--force', ...engine]),
        cwd: REPO,
        needsOut: true,
      };
    }
    case 'keras': {
      if (!isFile(script('seed_workflow_keras.py'))) return { why: `no ${script('seed_workflow_keras.py')} (set --peers-dir / PEERS_DIR)` };
      const why = pythonHas(o.python, ['tensorflow', 'keras']);
      if (why) return { why };
      return { cmd: () => [o.python, script('seed_workflow_keras.py')], cwd: o.peersDir };
    }
    case 'torch': {
      if (!isFile(script('seed_workflow_torch.py'))) return { why: `no ${script('seed_workflow_torch.py')} (set --peers-dir / PEERS_DIR)` };
      const why = pythonHas(o.python, ['torch', 'numpy']);
      if (why) return { why };
      return { cmd: () => [o.python, script('seed_workflow_torch.py'), String(o.torchThreads)], cwd: o.peersDir };
    }
    case 'tfjs': {
      const src = script('seed_workflow_tfjs.js');
      if (!isFile(src)) return { why: `no ${src} (set --peers-dir / PEERS_DIR)` };
      for (const m of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'])
        if (!isFile(path.join(o.tfjsDir, 'node_modules', m, 'package.json')))
          return { why: `${m} not installed in ${o.tfjsDir} (see bench/README.md, or pass --tfjs-dir / TFJS_PEER_DIR)` };
      // The peer script is CommonJS and require()s tfjs: run a fresh copy from inside the peer folder
      // (.cjs, so the folder's package.json "type" cannot change how it loads).
      const dst = path.join(o.tfjsDir, 'seed_workflow_tfjs.cjs');
      try { fs.copyFileSync(src, dst); } catch (e) { return { why: `cannot copy the peer script into ${o.tfjsDir}: ${e.message}` }; }
      return { cmd: () => [process.execPath, dst, 'wasm'], cwd: o.tfjsDir };
    }
  }
}

// Map each system's own JSON onto one shape.
function normalise(sys, j) {
  if (sys === 'graft' || sys === 'graft-tfjs') {
    return {
      aSeconds: num(j.modelA?.seconds), aAcc: num(j.modelA?.testAccuracy),
      bSeconds: num(j.modelB?.seconds), bFrozenAcc: num(j.modelB?.frozenTestAccuracy), bAcc: num(j.modelB?.testAccuracy),
      scratchSeconds: num(j.scratchB?.seconds), scratchAcc: num(j.scratchB?.testAccuracy),
      version: j.backend ? `backend ${j.backend}` : undefined,
    };
  }
  const version = sys === 'keras' ? `keras ${j.keras} / tf ${j.tf}` : sys === 'torch' ? `torch ${j.torch}, ${j.threads} thread(s)` : `tfjs ${j.backend}`;
  return {
    aSeconds: num(j.A_train_s), aAcc: num(j.A_test_acc),
    bSeconds: num(j.B_train_s), bFrozenAcc: num(j.B_frozen_acc), bAcc: num(j.B_test_acc),
    scratchSeconds: num(j.scratch_B_s), scratchAcc: num(j.scratch_B_test_acc),
    version,
  };
}

// ---- statistics and printing ----

function summarise(systems, runs) {
  const ok = s => runs.filter(r => r.system === s && r.ok);
  const summary = {};
  for (const s of systems) {
    const rs = ok(s);
    if (!rs.length) continue;
    summary[s] = {
      runs: rs.length,
      aSeconds: median(rs.map(r => r.aSeconds)), bSeconds: median(rs.map(r => r.bSeconds)),
      aAcc: median(rs.map(r => r.aAcc)), bAcc: median(rs.map(r => r.bAcc)), bFrozenAcc: median(rs.map(r => r.bFrozenAcc)),
      peakRssMB: median(rs.map(r => r.peakRssMB)), wallSeconds: median(rs.map(r => r.wallSeconds)),
    };
  }
  // graft / peer per phase: median over repeats of the ratio within each repeat (paired runs of the
  // same sitting); falls back to the ratio of medians if no repeat has both.
  const ratios = {};
  if (summary.graft) {
    for (const p of PEERS) {
      if (!summary[p]) continue;
      const ratio = key => {
        const paired = [];
        for (const g of ok('graft')) {
          const q = ok(p).find(r => r.repeat === g.repeat);
          if (q && g[key] != null && q[key]) paired.push(g[key] / q[key]);
        }
        if (paired.length) return median(paired);
        return summary.graft[key] != null && summary[p][key] ? summary.graft[key] / summary[p][key] : null;
      };
      ratios[p] = { aSeconds: ratio('aSeconds'), bSeconds: ratio('bSeconds'), peakRssMB: ratio('peakRssMB') };
    }
  }
  return { summary, ratios };
}

function report(systems, { summary, ratios }, skipped, repeats) {
  const rows = systems.filter(s => summary[s]).map(s => {
    const x = summary[s];
    return [LABEL[s], fmt(x.aSeconds, 1), fmt(x.bSeconds, 1), fmt(x.aAcc, 4), fmt(x.bAcc, 4), fmt(x.peakRssMB, 0), `${x.runs}/${repeats}`];
  });
  console.log(`\nMedians over repeats (Model A: 10 epochs on 48k images; Model B: 4 frozen + 16 unfrozen epochs on 12k images)\n`);
  if (rows.length) console.log(table(['system', 'A s', 'B s', 'A acc', 'B acc', 'peak RSS MB', 'runs ok'], rows));
  else console.log('(no successful runs)');
  for (const [s, why] of Object.entries(skipped)) console.log(`skipped ${s}: ${why}`);
  console.log('');
  if (!summary.graft) {
    console.log('no graft results, so no ratios.');
  } else if (!Object.keys(ratios).length) {
    console.log('no peer results, so no ratios.');
  } else {
    console.log('graft / peer (below 1: graft is faster or smaller; median of per-repeat ratios)\n');
    console.log(table(['ratio', 'Model A time', 'Model B time', 'peak RSS'],
      Object.entries(ratios).map(([p, r]) => [`graft/${LABEL[p].split(' ')[0].replace(/^graft-tfjs$/, 'graft --engine tfjs')}`, fmt(r.aSeconds, 2), fmt(r.bSeconds, 2), fmt(r.peakRssMB, 2)])));
  }
}

// ---- main ----

const o = parseArgs(process.argv.slice(2));
const useTime = timeAvailable();

const plan = {}, skipped = {};
for (const s of o.only) {
  const p = prepare(s, o);
  if (p.why) { skipped[s] = p.why; console.log(`skipping ${s}: ${p.why}`); } else plan[s] = p;
}
const systems = Object.keys(plan);
if (!systems.length) { console.log('nothing to run.'); process.exit(1); }

const startedAt = new Date();
const resultsFile = newResultsFile(o.results, startedAt);
const runs = [];
const meta = {
  startedAt: startedAt.toISOString(),
  host: hostInfo(),
  node: process.version,
  options: { ...o, only: o.only },
  peakRss: useTime ? `${TIME_BIN} -v (Maximum resident set size)` : null,
  skipped,
};
const save = (extra = {}) => {
  const body = { ...meta, finishedAt: new Date().toISOString(), runs, ...summarise(systems, runs), ...extra };
  fs.writeFileSync(resultsFile, JSON.stringify(body, null, 2) + '\n');
};

const stop = trapInterrupt();

await interleaved(systems, o.repeats, stop, async (s, rep) => {
  const p = plan[s];
  const outDir = p.needsOut ? fs.mkdtempSync(path.join(os.tmpdir(), 'graft-bench-')) : null;
  const argv = p.cmd(outDir);
  const r = await runOnce(argv, p.cwd, o.timeout, useTime);
  if (outDir && !o.keep) fs.rmSync(outDir, { recursive: true, force: true });
  const json = lastJson(r.stdout);
  const rec = {
    system: s, repeat: rep, command: argv, cwd: p.cwd, exitCode: r.code, signal: r.signal, timedOut: r.timedOut,
    wallSeconds: +r.wallSeconds.toFixed(3), peakRssMB: r.peakRssMB == null ? null : +r.peakRssMB.toFixed(1),
    ...(outDir && o.keep ? { outDir } : {}),
    raw: json,
  };
  let why = failure(r, json, stop.interrupted, o.timeout);
  if (!why) {
    Object.assign(rec, normalise(s, json));
    if (rec.aSeconds == null || rec.bSeconds == null) why = 'JSON lacks the phase times';
  }
  rec.ok = !why;
  if (why) reportFailure(rec, why, r);
  else {
    console.log(`A ${fmt(rec.aSeconds, 1)} s, B ${fmt(rec.bSeconds, 1)} s, acc ${fmt(rec.aAcc, 4)}/${fmt(rec.bAcc, 4)}, ` +
      `RSS ${rec.peakRssMB == null ? 'n/a' : `${fmt(rec.peakRssMB, 0)} MB`}, wall ${r.wallSeconds.toFixed(1)} s`);
  }
  runs.push(rec);
  save({ complete: false });
});

const stats = summarise(systems, runs);
save({ complete: !stop.interrupted });
report(systems, stats, skipped, o.repeats);
closing(resultsFile);
process.exitCode = runs.some(r => r.ok) ? (stop.interrupted ? 130 : 0) : 1;
