#!/usr/bin/env node
// The web app's memory (issue 18, item 3): 4 classes × 2,000 JPEGs at 224×224 chosen through the
// page's folder inputs, trained in headless Chromium with the Teachable Machine MobileNetV2 as the
// source. Samples every Chromium process's memory (/proc/<pid>/status VmRSS, summed and largest
// single process; /proc/<pid>/smaps_rollup Pss summed, which counts shared pages once) every
// ~200 ms, plus performance.measureUserAgentSpecificMemory() when the page is cross-origin
// isolated. Records the peak, the phase it happened in (decode, features, training, scoring), the
// times and the test accuracy, one JSON line per run, to bench/results/browser-memory.jsonl.
//
//   node bench/browser-memory.mjs [--per-class 2000] [--input 224] [--seeds 1] [--frozen 1] [--unfrozen 1]
//                                 [--app DIR] [--label NAME] [--classes airplane,cat,dog,ship] [--until-split]
//
// --app serves an already built app folder (e.g. an older commit's, built with
// `node app/build.mjs DIR` in a `git archive` of it) instead of building this checkout's.
// --until-split stops once the images are decoded and split (the old app's peak is there).
// Images: CIFAR-10 training photos (/tmp/photos-src/cifar10/train/<class>, or CIFAR_TREE=DIR)
// upscaled to the input size and written as JPEG (quality 90) by Python PIL
// (PYTHON=/tmp/peers/bin/python by default; bench only), cached in $TMPDIR between runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dier, eachFlag } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TM = path.resolve(ROOT, '../shared/fixtures/teachable-machine');
const CIFAR = process.env.CIFAR_TREE ?? '/tmp/photos-src/cifar10/train';
const PYTHON = process.env.PYTHON ?? '/tmp/peers/bin/python';
const CHROMIUM = '/usr/bin/chromium';
const SAMPLE_MS = 200;
const die = dier('bench/browser-memory');

const opts = { perClass: 2000, input: 224, seeds: 1, frozen: 1, unfrozen: 1, app: '', label: '', classes: ['airplane', 'cat', 'dog', 'ship'], untilSplit: false };
eachFlag(process.argv.slice(2), die, (flag, val) => {
  if (flag === '--per-class') opts.perClass = Number(val());
  else if (flag === '--input') opts.input = Number(val());
  else if (flag === '--seeds') opts.seeds = Number(val());
  else if (flag === '--frozen') opts.frozen = Number(val());
  else if (flag === '--unfrozen') opts.unfrozen = Number(val());
  else if (flag === '--app') opts.app = path.resolve(val());
  else if (flag === '--label') opts.label = val();
  else if (flag === '--classes') opts.classes = val().split(',');
  else if (flag === '--until-split') opts.untilSplit = true;
  else die(`unknown flag ${flag} (--per-class, --input, --seeds, --frozen, --unfrozen, --app, --label, --classes, --until-split)`);
});
for (const need of [CHROMIUM, path.join(TM, 'model.json'), PYTHON, ...opts.classes.map((c) => path.join(CIFAR, c))]) {
  if (!fs.existsSync(need)) die(`${need} does not exist (needed: Chromium, the Teachable Machine fixture, Python with PIL, CIFAR-10 JPEG folders)`);
}

// ---- images: CIFAR photos upscaled to the input size, as JPEG files, one folder per class
const images = path.join(os.tmpdir(), `graft-browser-memory-${opts.input}-${opts.classes.join('-')}-${opts.perClass}`);
if (!fs.existsSync(path.join(images, 'done'))) {
  fs.rmSync(images, { recursive: true, force: true });
  const script = `
import os, sys
from PIL import Image
src, dst, side, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for c in sys.argv[5].split(','):
    os.makedirs(os.path.join(dst, c))
    for name in sorted(f for f in os.listdir(os.path.join(src, c)) if f.endswith('.jpg'))[:n]:
        Image.open(os.path.join(src, c, name)).convert('RGB').resize((side, side), Image.BILINEAR).save(os.path.join(dst, c, name), quality=90)
`;
  const started = performance.now();
  execFileSync(PYTHON, ['-c', script, CIFAR, images, String(opts.input), String(opts.perClass), opts.classes.join(',')], { stdio: 'inherit' });
  fs.writeFileSync(path.join(images, 'done'), '');
  console.log(`wrote ${opts.classes.length} × ${opts.perClass} JPEGs at ${opts.input}×${opts.input} in ${((performance.now() - started) / 1000).toFixed(0)} s to ${images}`);
}
const counts = opts.classes.map((c) => fs.readdirSync(path.join(images, c)).length);
const jpegMB = opts.classes.reduce((n, c) => n + fs.readdirSync(path.join(images, c)).reduce((m, f) => m + fs.statSync(path.join(images, c, f)).size, 0), 0) / 2 ** 20;

// ---- the app: this checkout's, built now, unless --app names a built folder
let appDir = opts.app;
let commit = 'given --app';
if (!appDir) {
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'graft-browser-memory-app-'));
  execFileSync(process.execPath, [path.join(ROOT, 'app/build.mjs'), appDir], { stdio: 'inherit' });
  commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim() + (execFileSync('git', ['-C', ROOT, 'status', '--porcelain', 'app', 'src']).toString().trim() ? '+uncommitted' : '');
}
// Cross-origin isolated, as graft app serves it: measureUserAgentSpecificMemory needs it.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
  const file = path.resolve(appDir, rel);
  if (!file.startsWith(appDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

// ---- memory of every process below this one (Chromium's browser, renderer, GPU and utility processes)
function descendants() {
  const children = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const todo = [...(children.get(process.pid) ?? [])];
  while (todo.length) {
    const pid = todo.pop();
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}
const kB = (text, field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
let phase = 'start';
let tick = 0;
const peak = { rssSumMB: 0, pssSumMB: 0, largestMB: 0, phase: '', pssPhase: '', atSeconds: 0, processes: 0 };
const byPhase = {};
const t0 = performance.now();
function sample() {
  const pids = descendants();
  const withPss = tick++ % 5 === 0;
  let rss = 0;
  let pss = 0;
  let largest = 0;
  for (const pid of pids) {
    try {
      const r = kB(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') / 1024;
      rss += r;
      largest = Math.max(largest, r);
      if (withPss) pss += kB(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss') / 1024;
    } catch {
      // gone meanwhile
    }
  }
  const p = (byPhase[phase] ??= { rssSumMB: 0, largestMB: 0 });
  p.rssSumMB = Math.max(p.rssSumMB, rss);
  p.largestMB = Math.max(p.largestMB, largest);
  // Pss is read every fifth sample (smaps_rollup walks the page tables): a short phase may have none.
  if (withPss) p.pssSumMB = Math.max(p.pssSumMB ?? 0, pss);
  if (rss > peak.rssSumMB) Object.assign(peak, { rssSumMB: rss, phase, atSeconds: (performance.now() - t0) / 1000, processes: pids.length });
  peak.largestMB = Math.max(peak.largestMB, largest);
  if (withPss && pss > peak.pssSumMB) Object.assign(peak, { pssSumMB: pss, pssPhase: phase });
}
const sampler = setInterval(sample, SAMPLE_MS);

/** The phase a page text names (worker.ts's status and progress texts). */
function phaseOf(text, before) {
  if (/computing features/.test(text)) return 'features';
  if (/feature cache: ran/.test(text)) return 'training';
  if (/^(transfer|scratch), seed \d+, \w+ epoch/.test(text)) return 'training';
  if (/scoring the test set/.test(text)) return 'scoring';
  if (/Exporting/.test(text)) return 'export';
  return before;
}

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const errors = [];
const ua = { maxBytes: 0, samples: 0, reason: '' };
const record = { date: new Date().toISOString(), label: opts.label || (opts.app ? path.basename(opts.app) : 'checkout'), commit, classes: opts.classes, perClass: counts, images: counts.reduce((a, b) => a + b, 0), input: opts.input, jpegMB: Math.round(jpegMB), settings: { seeds: opts.seeds, frozenEpochs: opts.frozen, unfrozenEpochs: opts.unfrozen, batchSize: 16, testFraction: 0.2, validationFraction: 0.15 }, host: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB` };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  let crashed = false;
  page.on('crash', () => {
    crashed = true;
    errors.push(`page crashed during ${phase}`);
  });
  await page.goto(url);
  record.crossOriginIsolated = await page.evaluate('globalThis.crossOriginIsolated === true');
  record.chromium = browser.version();
  const measureUa = async () => {
    // One call at a time; it waits for a garbage collection, so it can take seconds.
    const bytes = await page.evaluate('typeof performance.measureUserAgentSpecificMemory === "function" ? performance.measureUserAgentSpecificMemory().then((m) => m.bytes) : -1').catch((e) => (ua.reason = String(e).slice(0, 200), -1));
    if (bytes < 0) ua.reason ||= 'measureUserAgentSpecificMemory unavailable';
    else {
      ua.samples++;
      ua.maxBytes = Math.max(ua.maxBytes, bytes);
    }
  };
  // The page shows worker errors in #error (e.g. an allocation the tab cannot make): stop there, not at the timeout.
  const shown = async (id, timeout) => {
    const failed = page.waitForFunction("(document.getElementById('error')?.textContent ?? '') !== ''", undefined, { timeout, polling: 1000 }).then(async () => {
      throw new Error(`the page says: ${await page.locator('#error').textContent()}`);
    });
    failed.catch(() => undefined);
    await Promise.race([page.locator(id).waitFor({ state: 'visible', timeout }), failed]);
  };
  await page.locator('details').evaluate((d) => (d.open = true)).catch(() => undefined);
  for (const [id, value] of Object.entries({ input: opts.input, seeds: opts.seeds, 'frozen-epochs': opts.frozen, 'unfrozen-epochs': opts.unfrozen })) await page.fill(`#${id}`, String(value));
  await page.setInputFiles('#source-files', [path.join(TM, 'model.json'), path.join(TM, 'weights.bin')]);
  while ((await page.locator('.class-row').count()) < opts.classes.length) await page.click('#add-class');
  for (const [k, c] of opts.classes.entries()) await page.locator('.class-row').nth(k).locator('.class-folder').setInputFiles(path.join(images, c));
  sample();
  record.idleMB = Math.round(peak.rssSumMB);

  const poll = setInterval(() => {
    void page.evaluate("(document.getElementById('progress-text')?.textContent ?? '')").then((t) => {
      const next = phaseOf(t, phase);
      if (next !== phase) console.log(`${((performance.now() - t0) / 1000).toFixed(0)} s: ${next} (peak so far ${Math.round(peak.rssSumMB)} MB RSS summed) — ${t.slice(0, 100)}`);
      phase = next;
    }, () => undefined);
  }, 500);
  const uaTimer = setInterval(() => void measureUa(), 15_000);
  try {
    phase = 'decode';
    const loadStart = performance.now();
    await page.click('#load');
    await shown('#split', 3_600_000);
    record.decodeSeconds = Math.round((performance.now() - loadStart) / 100) / 10;
    record.split = await page.evaluate('globalThis.graftApp.split.counts');
    await measureUa();
    if (opts.untilSplit) throw new Error('stopped after the split (--until-split)');
    phase = 'features';
    const trainStart = performance.now();
    await page.click('#train');
    await shown('#step-results', 4 * 3_600_000);
    record.trainSeconds = Math.round((performance.now() - trainStart) / 100) / 10;
    phase = 'done';
    await measureUa();
    record.testAccuracy = Number(await page.locator('#test-accuracy').getAttribute('data-value'));
    record.timing = await page.locator('#timing').textContent();
    record.verdict = await page.locator('#verdict').textContent();
  } catch (e) {
    if (!opts.untilSplit || crashed || record.decodeSeconds === undefined) record.failure = `${crashed ? 'page crashed' : 'failed'} during ${phase}: ${String(e).split('\n')[0]}`;
    else record.stoppedAfterSplit = true;
  } finally {
    clearInterval(poll);
    clearInterval(uaTimer);
  }
} finally {
  clearInterval(sampler);
  await browser.close();
  server.close();
  if (!opts.app) fs.rmSync(appDir, { recursive: true, force: true });
}
const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v]));
Object.assign(record, {
  peak: round(peak),
  peakByPhase: Object.fromEntries(Object.entries(byPhase).map(([k, v]) => [k, round(v)])),
  uaMemoryMaxMB: ua.samples ? Math.round(ua.maxBytes / 2 ** 20) : null,
  ...(ua.reason && !ua.samples && { uaMemoryReason: ua.reason }),
  errors,
});
const out = path.join(ROOT, 'bench/results/browser-memory.jsonl');
fs.appendFileSync(out, `${JSON.stringify(record)}\n`);
console.log(JSON.stringify(record, null, 2));
console.log(`appended to ${path.relative(ROOT, out)}`);
