#!/usr/bin/env node
// bench/browser-node.mjs — the same cats-vs-dogs transfer run in Node and in headless Chromium, in
// one sitting (issue 18: "the same run in the browser and in Node, time ratio stated").
//
// Source: the Teachable Machine export (MobileNetV2 α 0.35, rebuilt at --input with its weights
// copied by layer name: app/source.ts, which the page imports). Data: the first
// --per-class CIFAR-10 cats and dogs by file name, the first half of each class for training, the
// second half held out for testing; decoded and resized once here, and the same float32 pixels fed
// to every arm. Recipe: the app's
// (app/worker.ts train()): transfer (avg pool, dropout, softmax) → fineTune, Adam, frozen epochs
// then the last block unfrozen at a tenth of the rate; fixed seed; no validation split.
//
// Arms (ARM_SPECS): node (dist/index.js, default engine: onnxruntime-node where it applies, TF.js
// wasm elsewhere), node-tfjs (setDefaultEngine('tfjs')), and the page bundled by esbuild from
// bench/browser/transfer-page.ts (graft through src/browser.ts; TF.js wasm; onnxruntime-web for the
// auto engine) with and without cross-origin isolation. Each run is a fresh process (Node) or a
// fresh browser, its inputs read before the clock starts; rounds are interleaved with the order
// rotated. The Node half is browser/node-side.mjs, the page's driver browser/page-side.mjs, the
// tables browser/summary.mjs. See bench/README.md.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchError } from './browser/bench-error.mjs';
import { bundlePage, runBrowser, runPageDecode, startServer } from './browser/page-side.mjs';
import { printSummary, summarise } from './browser/summary.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
/**
 * The arms. Node: a child process on dist/index.js. Browser: the bench page in a fresh headless
 * Chromium, served as the app is (cross-origin isolated: TF.js wasm and onnxruntime-web may start
 * thread workers) or not isolated (one thread each, as Node's TF.js wasm runs).
 */
const ARM_SPECS = {
  node: { side: 'node', engine: 'auto' },
  'node-tfjs': { side: 'node', engine: 'tfjs' },
  browser: { side: 'browser', engine: 'auto', isolated: true },
  'browser-tfjs': { side: 'browser', engine: 'tfjs', isolated: true },
  'browser-1t': { side: 'browser', engine: 'auto', isolated: false },
  'browser-tfjs-1t': { side: 'browser', engine: 'tfjs', isolated: false },
};
const ARMS = Object.keys(ARM_SPECS);
const DEFAULTS = {
  perClass: 400, input: 96, frozenEpochs: 5, unfrozenEpochs: 5, batchSize: 16, learningRate: 0.001, unfrozenLrFactor: 0.1, dropout: 0.2, seed: 0,
  repeats: 3, timeout: 600,
  cifar: process.env.CIFAR_TRAIN_DIR ?? '/tmp/photos-src/cifar10/train',
  cifarTar: process.env.CIFAR_TAR ?? path.resolve(ROOT, '../shared/data/cifar10-jpeg.tar'),
  tm: process.env.GRAFT_TM_DIR ?? path.resolve(ROOT, '../shared/fixtures/teachable-machine'),
  dist: path.join(ROOT, 'dist'),
  chromium: '/usr/bin/chromium',
  results: path.join(HERE, 'results/browser-node.jsonl'),
};
const CLASSES = ['cat', 'dog'];
const SIZE_FLAGS = ['perClass', 'input', 'frozenEpochs', 'unfrozenEpochs'];

const HELP = `node bench/browser-node.mjs [options]
  --repeats N          rounds, every arm once per round, order rotated (${DEFAULTS.repeats})
  --only a,b           arms among ${ARMS.join(', ')} (all)
  --per-class N        cats and dogs each; half train, half test (${DEFAULTS.perClass})
  --input N            image side (${DEFAULTS.input})
  --frozen-epochs N    (${DEFAULTS.frozenEpochs})    --unfrozen-epochs N (${DEFAULTS.unfrozenEpochs})
  --batch N            (${DEFAULTS.batchSize})   --lr X (${DEFAULTS.learningRate})   --seed N (${DEFAULTS.seed})
  --cifar DIR          holds cat/ and dog/ JPEGs (env CIFAR_TRAIN_DIR; ${DEFAULTS.cifar}); when missing,
                       they are extracted from --cifar-tar (env CIFAR_TAR; ${DEFAULTS.cifarTar})
  --tm DIR             Teachable Machine export (env GRAFT_TM_DIR; ${DEFAULTS.tm})
  --dist DIR           graft's Node build (${DEFAULTS.dist}; npm run build)
  --results FILE       JSON line appended here (${path.relative(ROOT, DEFAULTS.results)}); --no-results: none
  --timeout S          per run (${DEFAULTS.timeout})
  --smoke              per-class 20, input 64, 1 + 1 epochs, 1 repeat, no results line (checks the harness)
arms: node = dist/index.js, default engine (onnxruntime-node); node-tfjs = TF.js wasm throughout;
  browser = the page, cross-origin isolated as the app (onnxruntime-web, wasm threads);
  browser-tfjs = the same page on TF.js wasm; browser-1t, browser-tfjs-1t = not isolated (1 thread)`;

function parseArgs(argv) {
  const o = { ...DEFAULTS, only: [...ARMS], writeResults: true, smoke: false };
  const given = new Set();
  const num = (flag, v, min = 0) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new BenchError(`${flag} takes a number ≥ ${min}; received ${JSON.stringify(v)}.`);
    return n;
  };
  const ints = { '--repeats': ['repeats', 1], '--per-class': ['perClass', 2], '--input': ['input', 32], '--frozen-epochs': ['frozenEpochs', 0], '--unfrozen-epochs': ['unfrozenEpochs', 0], '--batch': ['batchSize', 1], '--seed': ['seed', 0], '--timeout': ['timeout', 1] };
  const strings = { '--cifar': 'cifar', '--cifar-tar': 'cifarTar', '--tm': 'tm', '--dist': 'dist', '--results': 'results' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new BenchError(`${a} needs a value.\n${HELP}`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else if (Object.hasOwn(ints, a)) {
      const [key, min] = ints[a];
      o[key] = num(a, value(), min);
      if (!Number.isInteger(o[key])) throw new BenchError(`${a} takes a whole number; received ${o[key]}.`);
      given.add(key);
    } else if (a === '--lr') o.learningRate = num(a, value());
    else if (Object.hasOwn(strings, a)) o[strings[a]] = path.resolve(value());
    else if (a === '--only') {
      o.only = value().split(',').filter(Boolean);
      const bad = o.only.filter((x) => !ARMS.includes(x));
      if (bad.length > 0 || o.only.length === 0) throw new BenchError(`--only: unknown arm(s) ${bad.join(', ') || '(none given)'}; choose among ${ARMS.join(', ')}.`);
    } else if (a === '--no-results') o.writeResults = false;
    else if (a === '--smoke') o.smoke = true;
    else throw new BenchError(`Unknown option ${a}.\n${HELP}`);
  }
  if (o.smoke) {
    const smoke = { perClass: 20, input: 64, frozenEpochs: 1, unfrozenEpochs: 1 };
    for (const k of SIZE_FLAGS) if (!given.has(k)) o[k] = smoke[k];
    if (!given.has('repeats')) o.repeats = 1;
    o.writeResults = false;
  }
  if (o.perClass % 2 !== 0) throw new BenchError(`--per-class must be even (half train, half test); received ${o.perClass}.`);
  return o;
}

const settingsOf = (o) => ({
  input: o.input, classNames: CLASSES, batchSize: o.batchSize, frozenEpochs: o.frozenEpochs, unfrozenEpochs: o.unfrozenEpochs,
  learningRate: o.learningRate, unfrozenLrFactor: o.unfrozenLrFactor, dropout: o.dropout, seed: o.seed,
});

// ---------------------------------------------------------------------------------------------
// Data: decoded and resized once, in Node, with graft's own decoder; both sides read these bytes.

async function cifarDir(o, scratch) {
  if (CLASSES.every((c) => existsSync(path.join(o.cifar, c)))) return o.cifar;
  if (!existsSync(o.cifarTar)) throw new BenchError(`No CIFAR-10 images: ${o.cifar} has no ${CLASSES.join('/ and ')}/ folders and ${o.cifarTar} does not exist. Pass --cifar DIR (holding cat/ and dog/) or --cifar-tar FILE.`);
  const list = await run('tar', ['-tf', o.cifarTar], { capture: true });
  const wanted = list.stdout.split('\n').filter((p) => CLASSES.some((c) => new RegExp(`(^|/)train/${c}/$`).test(p)));
  if (wanted.length !== CLASSES.length) throw new BenchError(`${o.cifarTar} holds no train/{${CLASSES.join(',')}}/ folders (found ${wanted.length}). Pass --cifar DIR instead.`);
  const out = path.join(scratch, 'cifar');
  await mkdir(out, { recursive: true });
  await run('tar', ['-xf', o.cifarTar, '-C', out, ...wanted]);
  return path.join(out, path.dirname(wanted[0].replace(/\/$/, '')));
}

async function prepareData(o, graft, dir, out) {
  const started = performance.now();
  const half = o.perClass / 2;
  const parts = { train: { x: [], y: [], files: [] }, test: { x: [], y: [], files: [] } };
  for (const [label, c] of CLASSES.entries()) {
    const names = (await readdir(path.join(dir, c))).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort().slice(0, o.perClass);
    if (names.length < o.perClass) throw new BenchError(`${path.join(dir, c)} holds ${names.length} images; --per-class ${o.perClass} needs that many. Lower --per-class.`);
    for (const [i, name] of names.entries()) {
      const file = path.join(dir, c, name);
      const img = graft.fitImage(graft.decodeImage(new Uint8Array(await readFile(file)), file), o.input, o.input, 3);
      const part = i < half ? parts.train : parts.test;
      part.x.push(Float32Array.from(img.data, (v) => v / 255));
      part.y.push(label);
      part.files.push(file);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const [name, p] of Object.entries(parts)) {
    const x = new Float32Array(p.x.length * o.input * o.input * 3);
    p.x.forEach((row, i) => x.set(row, i * row.length));
    await writeFile(path.join(out, `${name}-x.f32`), x);
    await writeFile(path.join(out, `${name}-y.i32`), Int32Array.from(p.y));
  }
  // Row order of the pixel files: the page's decode check compares row for row.
  return { decodeSeconds: seconds, train: parts.train.y.length, test: parts.test.y.length, files: [...parts.train.files, ...parts.test.files] };
}

/** One Node run: bench/browser/node-side.mjs in a child process. */
async function runNode(o, dataDir, engine) {
  const r = await run(process.execPath, [path.join(HERE, 'browser/node-side.mjs'), o.dist, dataDir, o.tm, engine, JSON.stringify(settingsOf(o))], { capture: true, timeout: o.timeout });
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (r.code !== 0 || !line) throw new BenchError(`the Node run (engine ${engine}) failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length));
}

// ---------------------------------------------------------------------------------------------

function run(cmd, args, { capture = false, timeout } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = timeout ? setTimeout(() => child.kill('SIGKILL'), timeout * 1000) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function versions(dist) {
  const pkg = async (name) => JSON.parse(await readFile(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8').catch(() => '{}')).version ?? null;
  const git = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { capture: true }).catch(() => ({ stdout: '' }));
  return {
    graft: JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version, commit: git.stdout.trim() || null, node: process.version,
    // The Node side runs this build, which may hold uncommitted changes or predate the commit.
    distBuilt: (await stat(path.join(dist, 'index.js'))).mtime.toISOString(),
    tfjs: await pkg('@tensorflow/tfjs-core'), 'tfjs-backend-wasm': await pkg('@tensorflow/tfjs-backend-wasm'), 'onnxruntime-node': await pkg('onnxruntime-node'),
    'onnxruntime-web': await pkg('onnxruntime-web'), 'playwright-core': await pkg('playwright-core'), esbuild: await pkg('esbuild'),
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(o.dist, 'index.js'))) throw new BenchError(`${o.dist}/index.js is missing: graft is not built. Run npm run build, or pass --dist.`);
  if (!existsSync(path.join(o.tm, 'model.json')) || !existsSync(path.join(o.tm, 'weights.bin'))) throw new BenchError(`${o.tm} lacks model.json and weights.bin (the Teachable Machine export). Pass --tm DIR.`);
  const skipped = {};
  if (!existsSync(o.chromium)) {
    for (const a of o.only.filter((x) => ARM_SPECS[x].side === 'browser')) skipped[a] = `${o.chromium} not found (apt-get install chromium)`;
    o.only = o.only.filter((x) => ARM_SPECS[x].side !== 'browser');
  }
  for (const [a, why] of Object.entries(skipped)) console.log(`${a} skipped: ${why}`);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'graft-bench-browser-node-'));
  const sitting = { started: new Date().toISOString(), loadavgStart: os.loadavg() };
  try {
    const graft = await import(pathToFileURL(path.join(o.dist, 'index.js')).href);
    const dataDir = path.join(scratch, 'data');
    await mkdir(dataDir);
    const dir = await cifarDir(o, scratch);
    const data = await prepareData(o, graft, dir, dataDir);
    console.log(`data: ${data.train} train + ${data.test} test images from ${dir}, ${o.input}×${o.input}, decoded and resized in Node in ${data.decodeSeconds.toFixed(1)} s (not part of any arm's time)`);
    const servers = {};
    const browserArms = o.only.filter((a) => ARM_SPECS[a].side === 'browser');
    if (browserArms.length > 0) {
      const pageJs = await bundlePage();
      for (const isolated of new Set([...browserArms.map((a) => ARM_SPECS[a].isolated), false])) servers[isolated] = await startServer(o.tm, dataDir, pageJs, isolated, data.files);
    }
    const runs = [];
    let pageDecode;
    try {
      if (browserArms.length > 0) {
        // The app's own decoding (createImageBitmap + canvas), once, on the same files: how long it takes and how far its pixels are from Node's.
        try {
          pageDecode = await runPageDecode({ chromium: o.chromium, timeout: o.timeout }, servers.false.origin, { urls: data.files.map((_, i) => `/jpeg/${i}`), side: o.input });
          console.log(`the app's decoding (app/decode.ts) in a page: ${pageDecode.seconds.toFixed(1)} s for ${pageDecode.images} images; its pixels differ from Node's by ${pageDecode.meanAbsDiff.toFixed(4)} on average, ${pageDecode.maxAbsDiff.toFixed(3)} at most (0..1 scale)`);
        } catch (err) {
          pageDecode = { error: err instanceof Error ? err.message : String(err) };
          console.log(`the page's decode check failed: ${pageDecode.error}`);
        }
      }
      for (let round = 0; round < o.repeats; round++) {
        const order = o.only.map((_, i) => o.only[(i + round) % o.only.length]);
        for (const arm of order) {
          const loadavg = os.loadavg();
          process.stdout.write(`round ${round + 1}/${o.repeats} ${arm} … `);
          try {
            const spec = ARM_SPECS[arm];
            const result = spec.side === 'node' ? await runNode(o, dataDir, spec.engine) : await runBrowser({ chromium: o.chromium, timeout: o.timeout, settings: settingsOf(o) }, servers[spec.isolated].origin, spec.engine);
            runs.push({ round, arm, loadavg, result });
            const e = result.engines.map((x) => `${x.phase} ${x.engine}${x.features ? ` (features ${x.features})` : ''}`).join(', ');
            const where = result.side === 'browser' ? `${result.crossOriginIsolated ? 'isolated' : 'not isolated'}, ` : '';
            console.log(`${result.times.total.toFixed(1)} s, accuracy ${result.accuracy.toFixed(4)}; ${where}TF.js ${result.backend}; ${e}${result.onnx ? `; ${result.onnx}` : ''}`);
          } catch (err) {
            runs.push({ round, arm, loadavg, error: err instanceof Error ? err.message : String(err) });
            console.log(`failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    } finally {
      for (const s of Object.values(servers)) await new Promise((resolve) => s.server.close(resolve));
    }
    const summary = summarise(runs, o.only, ARM_SPECS);
    printSummary(summary);
    const line = {
      bench: 'browser-node', ...sitting, finished: new Date().toISOString(), loadavgEnd: os.loadavg(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null,
      versions: await versions(o.dist), settings: { ...settingsOf(o), perClass: o.perClass, trainImages: data.train, testImages: data.test, repeats: o.repeats, arms: o.only, smoke: o.smoke },
      skipped, decodeSeconds: data.decodeSeconds, ...(pageDecode && { pageDecode }), summary, runs,
    };
    if (o.writeResults) {
      await mkdir(path.dirname(o.results), { recursive: true });
      await appendFile(o.results, `${JSON.stringify(line)}\n`);
      console.log(`\nappended to ${path.relative(process.cwd(), o.results)}`);
    }
    if (runs.some((r) => r.error)) process.exitCode = 1;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  if (!(e instanceof BenchError)) throw e;
  console.error(`bench/browser-node.mjs: ${e.message}`);
  process.exitCode = 2;
}
