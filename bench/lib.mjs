// What bench/run.mjs and bench/cnn.mjs share: running one timed process (peak RSS from
// /usr/bin/time -v, its process group killed on timeout or Ctrl-C), reading its JSON, arguments,
// medians, tables and the results file. Plain Node ESM, no dependencies.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TIME_BIN = process.env.BENCH_TIME_BIN || '/usr/bin/time';

export const isExec = p => { try { fs.accessSync(p, fs.constants.X_OK); return fs.statSync(p).isFile(); } catch { return false; } };
export const isFile = p => { try { return fs.statSync(p).isFile(); } catch { return false; } };
export const isDir = p => { try { return fs.statSync(p).isDirectory(); } catch { return false; } };

/** A die(msg) that prints `prefix: msg` and exits 2 (a usage error). */
export const dier = prefix => msg => {
  console.error(`${prefix}: ${msg}`);
  process.exit(2);
};

/**
 * How the shell runs graft's CLI: Node with the flags of the bin's shebang (`env -S node FLAGS`),
 * so a bench run with process.execPath times what `graft` and `npx graft` run.
 */
export function graftCommand(bin, args) {
  const first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0];
  const flags = /^#!\S*env -S node(.*)$/.exec(first)?.[1].trim().split(/\s+/).filter(Boolean) ?? [];
  return [process.execPath, ...flags, bin, ...args];
}

/** Calls on(flag, val, arg) for each argument; val() reads `--flag=v` or the next argument. */
export function eachFlag(argv, die, on) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const val = () => {
      if (eq > 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) die(`${flag} needs a value`);
      return argv[++i];
    };
    on(flag, val, a);
  }
}

/** --only's value: lower-cased names, in `all`'s order, or die naming the choices. */
export function subset(only, all, die) {
  const bad = only.filter(s => !all.includes(s));
  if (bad.length || !only.length) die(`--only takes a comma-separated subset of ${all.join(',')}; got "${only.join(',')}"`);
  return all.filter(s => only.includes(s));
}
export const list = v => v.split(',').map(s => s.trim().toLowerCase()).filter(Boolean);

/** null, or why `python` cannot run a peer that imports `modules`. */
export function pythonHas(python, modules) {
  if (!isExec(python)) return `no Python at ${python} (make the venv, or pass --python / PEERS_PYTHON)`;
  const code = 'import importlib.util as u, sys\nm=[n for n in sys.argv[1:] if u.find_spec(n) is None]\nprint(",".join(m)); sys.exit(1 if m else 0)';
  const r = spawnSync(python, ['-c', code, ...modules], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${python} failed to start: ${r.error.message}`;
  if (r.status !== 0) return `${python} lacks module(s): ${(r.stdout || '').trim() || r.stderr.trim()}`;
  return null;
}

/** Whether peak RSS can be measured; says so once when not. */
export function timeAvailable() {
  const ok = isExec(TIME_BIN);
  if (!ok) console.log(`note: ${TIME_BIN} not found (apt-get install -y time): peak RSS will not be measured.`);
  return ok;
}

// ---- running one process ----

let current = null;
function killGroup(child) {
  try { process.kill(-child.pid, 'SIGKILL'); } catch { try { child.kill('SIGKILL'); } catch { /* gone */ } }
}

/** Runs argv in its own process group: exit, timeout, wall seconds, peak RSS (MB, or null), output. */
export function runOnce(argv, cwd, timeoutS, useTime) {
  return new Promise(resolve => {
    const timeFile = useTime ? path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}.txt`) : null;
    const full = useTime ? [TIME_BIN, '-v', '-o', timeFile, ...argv] : argv;
    const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '3' };
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child;
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', d => { stdout += d; });
    child.stderr.on('data', d => { stderr += d; if (stderr.length > 1e6) stderr = stderr.slice(-5e5); });
    const timer = setTimeout(() => { timedOut = true; killGroup(child); }, timeoutS * 1000);
    child.on('error', e => { stderr += `\nspawn error: ${e.message}`; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let peakRssMB = null;
      if (timeFile) {
        try {
          const m = fs.readFileSync(timeFile, 'utf8').match(/Maximum resident set size \(kbytes\):\s*(\d+)/);
          if (m) peakRssMB = Number(m[1]) / 1024;
          fs.rmSync(timeFile, { force: true });
        } catch { /* no report: leave null */ }
      }
      resolve({ code, signal, timedOut, wallSeconds, peakRssMB, stdout, stderr });
    });
  });
}

/** First Ctrl-C: kill the running child and set .interrupted (the sitting keeps what finished); second: exit. */
export function trapInterrupt() {
  const state = { interrupted: false };
  process.on('SIGINT', () => {
    if (state.interrupted) process.exit(130);
    state.interrupted = true;
    console.log('\ninterrupted: stopping the current run, keeping what finished.');
    if (current) killGroup(current);
  });
  return state;
}

/** The last stdout line that parses as a JSON object. */
export function lastJson(stdout) {
  const lines = stdout.split('\n').map(s => s.trim()).filter(s => s.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try { const v = JSON.parse(lines[i]); if (v && typeof v === 'object' && !Array.isArray(v)) return v; } catch { /* next */ }
  }
  return null;
}

/** null, or why a run did not produce a result. */
export function failure(r, json, interrupted, timeoutS) {
  if (interrupted) return 'interrupted';
  if (r.timedOut) return `timed out after ${timeoutS} s`;
  if (r.code !== 0) return `exit ${r.code ?? r.signal}`;
  if (!json) return 'no JSON line on stdout';
  return null;
}

/** Records and prints a failed run, with the end of its stderr. */
export function reportFailure(rec, why, r) {
  rec.error = why;
  rec.stderrTail = r.stderr.slice(-4000);
  rec.stdoutTail = r.stdout.slice(-2000);
  console.log(`FAILED (${why}, ${r.wallSeconds.toFixed(1)} s)`);
  const tail = r.stderr.trim().split('\n').slice(-8).join('\n');
  if (tail) console.log(tail.replace(/^/gm, '    '));
}

/**
 * Awaits each(item, rep) for every item once per round, `repeats` rounds, until Ctrl-C; the order is
 * rotated each round so no item always runs first (or on a warmer machine).
 */
export async function interleaved(items, repeats, stop, each) {
  const total = items.length * repeats;
  let n = 0;
  for (let rep = 1; rep <= repeats; rep++) {
    const k = (rep - 1) % items.length;
    for (const item of [...items.slice(k), ...items.slice(0, k)]) {
      if (stop.interrupted) return;
      process.stdout.write(`[${++n}/${total}] repeat ${rep}: ${item} ... `);
      await each(item, rep);
    }
  }
}

// ---- numbers and printing ----

export const num = v => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Median of the finite numbers in xs; null when there are none. */
export function median(xs) {
  const v = xs.filter(x => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export const fmt = (v, d) => (v == null ? '—' : v.toFixed(d));

export function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)));
  const line = r => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(header), w.map(n => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

// ---- the results file ----

export function hostInfo() {
  return { platform: `${os.platform()} ${os.release()}`, arch: os.arch(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: +(os.totalmem() / 2 ** 30).toFixed(1), loadavgAtStart: os.loadavg() };
}

/** A new file <dir>/<prefix><UTC time><suffix>.json (-2, -3 … when taken). */
export function resultsFile(dir, startedAt, prefix = '', suffix = '') {
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  fs.mkdirSync(dir, { recursive: true });
  let file = path.join(dir, `${prefix}${stamp}${suffix}.json`);
  for (let i = 2; fs.existsSync(file); i++) file = path.join(dir, `${prefix}${stamp}${suffix}-${i}.json`);
  return file;
}

/** The closing lines: where the raw results are, and how to quote them. */
export function closing(file) {
  const rel = path.relative(process.cwd(), file);
  console.log(`\nraw results: ${rel.startsWith('..') ? file : rel}`);
  console.log('Quote ratios from one sitting only; absolute seconds move with the machine and its load.');
}
