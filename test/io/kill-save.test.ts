import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Rng } from '../../src/engine/rng.js';
import { GraftError } from '../../src/errors.js';
import { leftoversIn } from '../../src/io/atomic.js';
import { assertRunDirFree, loadModel, saveRun } from '../../src/io/run-dir.js';
import { buildMlp } from '../../src/models/mlp.js';
import { testRunInfo, useBackend } from '../helpers.js';

/**
 * SIGKILLs a process at random moments while it saves runs with graft's built saveRun (see
 * save-loop-child.mjs), then checks every run folder it touched is absent, complete and exactly
 * one round's content, or reported as half-finished: never a partial run that loads. KILL_CASES
 * sets the number of kills (default 20; FUZZ_CASES raises it to as many, up to 200); KILL_SEED the
 * delays' seed.
 */

beforeAll(useBackend);

const CHILD = path.resolve(__dirname, 'save-loop-child.mjs');
const BIN = path.resolve(__dirname, '../../bin/graft.js');
const fuzz = Number(process.env.FUZZ_CASES ?? 0);
const CASES = Number(process.env.KILL_CASES ?? (fuzz > 20 ? Math.min(fuzz, 200) : 20));
const SEED = Number(process.env.KILL_SEED ?? 1);
const MAX_DELAY_MS = 300;
/** Weights per save: one round (a --force replace and a fresh save) takes ~0.1 s here. */
const WEIGHT_MIB = 8;
/** Every other case the child's disk is slow: each write step waits this long first. */
const SLOW_STEP_MS = 3;

const smallInfo = testRunInfo({ task: 'recovered', classNames: ['a'], sampleShape: [2, 2] });

/** Starts the child, waits until it has saved one round, kills it `delay` ms later. */
async function killDuringSaves(root: string, delay: number, stepDelay: number): Promise<void> {
  const child = spawn(process.execPath, [CHILD, root, String(WEIGHT_MIB), String(stepDelay)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const lines = createInterface({ input: child.stdout });
  // Timed from the end of round 1, so the kill lands in warmed-up saves, not in JIT compilation.
  const ready = await new Promise<boolean>((resolve) => {
    lines.on('line', (l) => l.startsWith('saved') && resolve(true));
    void exited.then(() => resolve(false));
  });
  if (!ready) throw new Error(`the save loop child exited before saving once:\n${stderr}`);
  await new Promise((r) => setTimeout(r, delay));
  child.kill('SIGKILL');
  const signal = await exited;
  lines.close();
  if (signal !== 'SIGKILL') throw new Error(`the save loop child ended by itself (${signal}):\n${stderr}`);
}

type Outcome = 'complete' | 'half-finished';

/** Checks one run folder the child touched; returns how it was left. */
async function check(target: string, context: string): Promise<Outcome> {
  const name = path.basename(target);
  let loaded;
  try {
    loaded = await loadModel(target);
  } catch (e) {
    expect(e, `${context}: ${name} neither loads nor is reported as half-finished`).toBeInstanceOf(GraftError);
    const err = e as GraftError;
    expect(err.code, `${context}: ${name}: ${err.message}`).toBe('RUN_INCOMPLETE');
    expect(err.message).toContain(`Half-finished run at ${target}`);
    expect(err.message).toContain('rerun with --force');
    return 'half-finished';
  }
  try {
    // Complete means one round's content throughout: run.json's seed and every weight agree.
    const v = loaded.run?.seed;
    expect(loaded.format, `${context}: ${name}`).toBe('graft-run');
    if (name.startsWith('fresh-')) expect(v, `${context}: ${name}`).toBe(Number(name.slice('fresh-'.length)));
    const bytes = await readFile(path.join(target, 'weights.bin'));
    const w = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const wrong = w.findIndex((x) => x !== v);
    expect(wrong, `${context}: ${name} (round ${v}) has weight ${wrong} = ${w[wrong]}`).toBe(-1);
    return 'complete';
  } finally {
    loaded.model.dispose();
  }
}

describe(`a save killed at random moments (${CASES} SIGKILLs)`, () => {
  const roots: string[] = [];
  let kept: string | undefined;
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('leaves every run absent, complete, or reported as half-finished; a --force rerun recovers it', { timeout: 60_000 + CASES * 10_000 }, async () => {
    expect(existsSync(path.resolve(__dirname, '../../dist/io/run-dir.js')), 'dist/ is built (npm run build; npm test builds it first)').toBe(true);
    const rng = new Rng(SEED);
    // Drawn up front so the cases do not depend on the order in which parallel ones finish.
    const plans = Array.from({ length: CASES }, (_, c) => ({ c, delay: Math.floor(rng.next() * (MAX_DELAY_MS + 1)), stepDelay: c % 2 === 1 ? SLOW_STEP_MS : 0 }));
    const tally: Record<string, number> = {};
    const count = (k: string): void => void (tally[k] = (tally[k] ?? 0) + 1);
    let landedInside = 0;

    const runCase = async ({ c, delay, stepDelay }: (typeof plans)[number]): Promise<void> => {
      const root = await mkdtemp(path.join(tmpdir(), 'graft-kill-'));
      roots.push(root);
      const context = `kill ${c + 1}/${CASES} after ${delay} ms${stepDelay ? `, slow disk ${stepDelay} ms a step` : ''} (KILL_SEED=${SEED})`;
      await killDuringSaves(root, delay, stepDelay);

      // Every run the child touched: folders, and folders that exist only as a temp sibling.
      const entries = await readdir(root, { withFileTypes: true });
      const targets = new Set(entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name));
      for (const l of await leftoversIn(root)) targets.add(l.target);
      // Round 1 finished before the timer started: its fresh run is whole, and the run being
      // replaced is never lost: either in place or, mid-swap, kept whole as the `.old` copy.
      expect(await check(path.join(root, 'fresh-1'), context), `${context}: fresh-1`).toBe('complete');
      expect(targets.has('replace'), `${context}: replace vanished`).toBe(true);
      if (!existsSync(path.join(root, 'replace'))) {
        const old = (await leftoversIn(root, 'replace')).find((l) => l.tag === 'old');
        expect(old, `${context}: replace is missing and no previous copy was kept`).toBeDefined();
        const previous = await loadModel(old!.path);
        expect(previous.run?.seed, context).toBeGreaterThan(0);
        previous.model.dispose();
        count('replace missing mid-swap, previous run whole in .old copy');
      }
      let keep = false;
      let half = 0;
      for (const name of [...targets].sort()) {
        const target = path.join(root, name);
        const leftovers = (await leftoversIn(root, name)).map((l) => l.tag).sort();
        const outcome = await check(target, context);
        count(`${outcome}${existsSync(target) ? '' : ' (folder absent)'}${leftovers.length ? ` + ${leftovers.join('+')} sibling` : ''}`);
        if (outcome !== 'half-finished') continue;
        half++;
        // A writer must not silently reuse the path, and --force must clear it.
        await expect(assertRunDirFree(target, false), context).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', message: expect.stringContaining('Half-finished run') });
        if (kept === undefined) {
          kept = target;
          keep = true;
          continue;
        }
        await saveRun(target, buildMlp({ classes: 2, inputShape: [2, 2], hidden: 2 }), smallInfo, { force: true });
        expect(await leftoversIn(root, name), context).toEqual([]);
        const recovered = await loadModel(target);
        expect(recovered.run?.task).toBe('recovered');
        recovered.model.dispose();
      }
      if (half > 0) landedInside++;
      if (!keep) await rm(root, { recursive: true, force: true });
    };
    // Two at a time: most of a case is the child importing TensorFlow.js.
    const queue = [...plans];
    const worker = async (): Promise<void> => {
      for (let p = queue.shift(); p; p = queue.shift()) await runCase(p);
    };
    await Promise.all([worker(), worker()]);
    console.log(
      `kill-save: ${CASES} kills (KILL_SEED=${SEED}, delays 0-${MAX_DELAY_MS} ms after round 1, ${WEIGHT_MIB} MiB per save, every other case ${SLOW_STEP_MS} ms per write step); ` +
        `${landedInside} left a half-finished run. Run folders found:\n${Object.entries(tally).sort().map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`).join('\n')}`,
    );
    expect(landedInside, 'some kills land inside a save').toBeGreaterThan(0);

    // The CLI says the same for a folder a real kill left.
    expect(kept).toBeDefined();
    const r = spawnSync(process.execPath, [BIN, 'inspect', kept!, '--backend', 'cpu'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`graft inspect: Half-finished run at ${kept}`);
  });
});
