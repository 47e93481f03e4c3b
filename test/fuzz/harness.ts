import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { expect } from 'vitest';
import { Rng, deriveSeed } from '../../src/engine/rng.js';
import { GraftError } from '../../src/errors.js';

/**
 * Runs a parser over many mutated inputs and holds it to one contract: every case ends in a valid
 * result or a GraftError that names the input; no case takes more than 5 s; no case makes the
 * process hold more memory than the input's size justifies. Counts are printed once per target.
 *
 * Case i draws from its own Rng (derived from the target's seed and i), so FUZZ_CASE=i reruns
 * exactly that case. FUZZ_CASES sets how many cases each target runs (CI: the default, 1000).
 */

/** Cases per target: FUZZ_CASES from the environment, else 20 000 under `npm run fuzz` and 1000 in CI (`npm test`). */
export const FUZZ_CASES = Number(process.env.FUZZ_CASES ?? (process.env.npm_lifecycle_event === 'fuzz' ? 20_000 : 1000));
/**
 * Every so many cases run twice and must end the same way (same error code and message, or the same
 * fingerprint): pngjs decoded damaged data from an uninitialised buffer, so one file was accepted
 * on one run and refused on the next.
 */
const REPEAT_EVERY = 10;
/** Per-test timeout for vitest: generous per case, so `npm run fuzz` with many cases is not cut short. */
export const FUZZ_TIMEOUT_MS = 120_000 + 200 * FUZZ_CASES;
/** A case slower than this fails: it is a hang as far as a user can tell. */
export const CASE_LIMIT_MS = 5000;
export const MiB = 1024 * 1024;
/** A case still running after this long is a hang the in-process checks cannot stop: the watchdog kills the test process. */
const WATCHDOG_MS = 4 * CASE_LIMIT_MS;

/**
 * A synchronous loop inside an async parser (the HDF5 library, TF.js's model builder) blocks the
 * event loop, so neither node:vm's timeout nor vitest's test timeout can fire and CI would wait
 * forever. A small child process hears which case starts, and if one runs past WATCHDOG_MS it
 * prints the case and kills the test process, which vitest then reports as a failed file.
 */
function startWatchdog(name: string): ChildProcess {
  const script = `
    let last = 'before the first case', at = Date.now();
    process.on('message', (m) => { if (m === 'done') process.exit(0); last = m; at = Date.now(); });
    process.on('disconnect', () => process.exit(0));
    setInterval(() => {
      if (Date.now() - at < ${WATCHDOG_MS}) return;
      process.stderr.write('fuzz watchdog: ' + last + ' is still running after ${WATCHDOG_MS} ms; killing the test process (rerun it alone with FUZZ_CASE).\\n');
      try { process.kill(process.ppid, 'SIGKILL'); } catch {}
      process.exit(1);
    }, 250);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.unref();
  child.send(`${name}: starting`);
  return child;
}

export interface FuzzCase<I> {
  input: I;
  /** The mutation in words; shown with the case index when the case fails. */
  what: string;
  /** Bytes of the input, for the memory allowance. */
  size: number;
}

export interface FuzzTarget<I, R> {
  /** Shown in the summary line and RELIABILITY.md, e.g. "IDX". */
  name: string;
  seed: number;
  /** Default FUZZ_CASES. */
  cases?: number;
  /** Builds case `i` from its own Rng. */
  make(rng: Rng, i: number): FuzzCase<I>;
  /** Parses one input. A synchronous parser runs under a hard 5 s interrupt (node:vm's timeout). */
  run(input: I, label: string): R | Promise<R>;
  /** Whether `run` is synchronous, so a runaway loop can be interrupted rather than waited for. */
  sync: boolean;
  /** Checks an accepted result (a parser that accepts garbage is as wrong as one that crashes); throws if invalid. */
  check?(result: R, input: I): void | Promise<void>;
  /** A short digest of an accepted result, compared between two runs of the same case (see REPEAT_EVERY). */
  fingerprint?(result: R): string;
  /** Frees an accepted result (models). */
  dispose?(result: R): void;
  /** The most memory a case may leave reserved for an input of `size` bytes. Default 64 MiB + 64 × size. */
  allowance?(size: number): number;
  /** Objects a case must not leave alive (e.g. TF.js tensors), counted before and after each case. */
  liveObjects?(): number;
  /** Memory held outside the JS heap and ArrayBuffers (e.g. a wasm heap), in bytes. */
  extraMemory?(): number;
}

export interface FuzzSummary {
  name: string;
  seed: number;
  cases: number;
  accepted: number;
  refused: Record<string, number>;
  slowestMs: number;
  slowestWhat: string;
  /** Peak resident memory of the process above its level before the first case. */
  peakRssGrowthMiB: number;
  /** The largest rise in ArrayBuffer (plus extra) memory across one case. */
  largestCaseGrowthMiB: number;
  largestCaseWhat: string;
  failures: string[];
  seconds: number;
}

function memory(extra?: () => number): number {
  return process.memoryUsage().arrayBuffers + (extra?.() ?? 0);
}

/** Runs a target; fails the calling test on any broken contract, after reporting every failure found. */
export async function fuzz<I, R>(target: FuzzTarget<I, R>): Promise<FuzzSummary> {
  const only = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
  const cases = target.cases ?? FUZZ_CASES;
  const indices = only === undefined ? Array.from({ length: cases }, (_, i) => i) : [only];
  const allowance = target.allowance ?? ((size: number) => 64 * MiB + 64 * size);
  const s: FuzzSummary = { name: target.name, seed: target.seed, cases: indices.length, accepted: 0, refused: {}, slowestMs: 0, slowestWhat: '', peakRssGrowthMiB: 0, largestCaseGrowthMiB: 0, largestCaseWhat: '', failures: [], seconds: 0 };
  const started = performance.now();
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const script = new Script('globalThis.__graftFuzzCase()');
  const watchdog = startWatchdog(target.name);
  try {
    for (const i of indices) {
      const c = target.make(new Rng(deriveSeed(target.seed, `case ${i}`)), i);
      const label = `fuzz-input-${i}`;
      const fail = (problem: string): void => {
        s.failures.push(`case ${i} (${c.what}): ${problem}`);
      };
      // FUZZ_TRACE=file logs each case before it runs, for debugging outside the watchdog.
      watchdog.send(`${target.name} case ${i} (${c.what})`);
      if (process.env.FUZZ_TRACE) appendFileSync(process.env.FUZZ_TRACE, `${target.name} case ${i}: ${c.what}\n`);
      const liveBefore = target.liveObjects?.();
      const memBefore = memory(target.extraMemory);
      const peakBefore = process.resourceUsage().maxRSS * 1024;
      const t0 = performance.now();
      let result: R | undefined;
      let error: unknown;
      let ok = false;
      try {
        if (target.sync) {
          (globalThis as Record<string, unknown>).__graftFuzzCase = () => target.run(c.input, label);
          result = (await script.runInThisContext({ timeout: CASE_LIMIT_MS })) as R;
        } else {
          result = await target.run(c.input, label);
        }
        ok = true;
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - t0;
      const outcome = ok ? `accepted ${target.fingerprint?.(result as R) ?? ''}` : error instanceof GraftError ? `${error.code}: ${error.message}` : String(error);
      if (ok) {
        try {
          await target.check?.(result as R, c.input);
          s.accepted++;
        } catch (e) {
          fail(`accepted, but the result is invalid: ${(e as Error)?.stack ?? String(e)}`);
        } finally {
          target.dispose?.(result as R);
        }
      } else if (error instanceof GraftError) {
        s.refused[error.code] = (s.refused[error.code] ?? 0) + 1;
        if (!error.message.includes(label)) fail(`GraftError ${error.code} does not name the input: ${error.message}`);
      } else if ((error as { code?: unknown })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        fail(`still running after ${CASE_LIMIT_MS} ms; interrupted`);
      } else {
        fail(`threw a non-graft error: ${(error as Error)?.stack?.split('\n').slice(0, 4).join(' | ') ?? String(error)}`);
      }
      if (ms > s.slowestMs) {
        s.slowestMs = ms;
        s.slowestWhat = c.what;
      }
      if (ms > CASE_LIMIT_MS && ok) fail(`took ${ms.toFixed(0)} ms (limit ${CASE_LIMIT_MS})`);
      if (ms > CASE_LIMIT_MS && error instanceof GraftError) fail(`took ${ms.toFixed(0)} ms to refuse (limit ${CASE_LIMIT_MS})`);
      const grew = memory(target.extraMemory) - memBefore;
      if (grew / MiB > s.largestCaseGrowthMiB) {
        s.largestCaseGrowthMiB = grew / MiB;
        s.largestCaseWhat = c.what;
      }
      if (grew > allowance(c.size)) fail(`memory rose by ${(grew / MiB).toFixed(0)} MiB for a ${c.size}-byte input (allowance ${(allowance(c.size) / MiB).toFixed(0)} MiB)`);
      // The peak only ever rises, so blame a case only for the part of the rise that happened during it.
      const peak = process.resourceUsage().maxRSS * 1024;
      if (peak - peakBefore > allowance(c.size)) fail(`peak RSS rose by ${((peak - peakBefore) / MiB).toFixed(0)} MiB during this case`);
      const leaked = (target.liveObjects?.() ?? 0) - (liveBefore ?? 0);
      if (leaked !== 0) fail(`left ${leaked} more objects alive (tensors) than before it`);
      if (i % REPEAT_EVERY === 0 && (ok || error instanceof GraftError)) {
        const again = await repeat(target, c, label, script);
        if (again !== outcome) fail(`ran twice with different outcomes: ${outcome.slice(0, 200)} / ${again.slice(0, 200)}`);
      }
      if (only !== undefined) console.log(`case ${i}: ${c.what} → ${ok ? 'accepted' : error instanceof GraftError ? `${error.code}: ${error.message}` : String(error)}`);
    }
  } finally {
    watchdog.send('done');
    watchdog.disconnect();
  }
  s.peakRssGrowthMiB = (process.resourceUsage().maxRSS * 1024 - rssBefore) / MiB;
  s.seconds = (performance.now() - started) / 1000;
  const refused = Object.entries(s.refused).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
  console.log(
    `fuzz ${s.name}: ${s.cases} cases (seed ${s.seed}) in ${s.seconds.toFixed(1)} s: ${s.accepted} accepted; refused ${refused || 'none'}; ` +
      `slowest ${s.slowestMs.toFixed(0)} ms (${s.slowestWhat}); peak RSS +${s.peakRssGrowthMiB.toFixed(0)} MiB; largest rise in one case ${s.largestCaseGrowthMiB.toFixed(1)} MiB (${s.largestCaseWhat}); ${s.failures.length} failures`,
  );
  if (process.env.FUZZ_SUMMARY_FILE) appendFileSync(process.env.FUZZ_SUMMARY_FILE, `${JSON.stringify(s)}\n`);
  expect(s.failures.slice(0, 20), `${s.failures.length} of ${s.cases} cases broke the contract (rerun one with FUZZ_CASE=<index>)`).toEqual([]);
  return s;
}

/** Runs a case again and describes how it ended, as `fuzz` does. */
async function repeat<I, R>(target: FuzzTarget<I, R>, c: FuzzCase<I>, label: string, script: Script): Promise<string> {
  try {
    let result: R;
    if (target.sync) {
      (globalThis as Record<string, unknown>).__graftFuzzCase = () => target.run(c.input, label);
      result = (await script.runInThisContext({ timeout: CASE_LIMIT_MS })) as R;
    } else {
      result = await target.run(c.input, label);
    }
    const digest = `accepted ${target.fingerprint?.(result) ?? ''}`;
    target.dispose?.(result);
    return digest;
  } catch (e) {
    return e instanceof GraftError ? `${e.code}: ${e.message}` : String(e);
  }
}

/** Throws when `cond` is false: for `check` callbacks. */
export function invariant(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(message);
}
