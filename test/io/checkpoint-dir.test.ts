import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { leftoversIn } from '../../src/io/atomic.js';
import { CHECKPOINT_FILE, hasCheckpoint, interruptedRun, readCheckpoint, readCheckpointHeader, writeCheckpoint, type CheckpointHeader } from '../../src/io/checkpoint-dir.js';
import { findHalfFinishedRun } from '../../src/io/half-finished.js';
import { rejectsWith } from '../helpers.js';

const CHILD = path.resolve(__dirname, 'checkpoint-loop-child.mjs');
const CASES = Number(process.env.KILL_CASES ?? 12);
const SEED = Number(process.env.KILL_SEED ?? 1);

const header = (epoch = 2): CheckpointHeader => ({ command: 'train', reason: 'SIGINT', savedAt: '2026-01-01T00:00:00.000Z', graftVersion: 'test', phase: 'train', epoch, epochs: 5, batch: 3, batches: 10 });
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const tmp = (): string => {
  roots.push(mkdtempSync(path.join(tmpdir(), 'graft-ckpt-')));
  return path.join(roots[roots.length - 1]!, 'run');
};
const blobs = (dir: string): string[] => readdirSync(dir).filter((n) => /^checkpoint-[0-9a-f]{16}\.bin$/.test(n));

describe('checkpoint files', () => {
  it('round-trip typed arrays and the numbers JSON lacks, exactly', async () => {
    const dir = tmp();
    // Offsets that are not multiples of 4 in the file's buffer must still come back.
    const odd = new Float32Array([1.5, -0, NaN, Infinity, 3.4028234663852886e38, 1e-45]);
    const state = { a: odd, nested: [{ i: Int32Array.from([-1, 0, 2 ** 31 - 1]) }, { nan: NaN, inf: -Infinity, zero: -0, s: 'x', t: true, n: null }], empty: new Float32Array(0), skip: undefined };
    await writeCheckpoint(dir, header(), state, { force: false });
    const { header: h, state: back } = await readCheckpoint(dir);
    expect(h).toEqual(header());
    const b = back as { a: Float32Array; nested: [{ i: Int32Array }, Record<string, unknown>]; empty: Float32Array };
    expect(Array.from(b.a)).toEqual(Array.from(odd));
    expect(Object.is(b.a[1], -0)).toBe(true);
    expect(b.nested[0]!.i).toBeInstanceOf(Int32Array);
    expect(Array.from(b.nested[0]!.i)).toEqual([-1, 0, 2 ** 31 - 1]);
    expect(b.nested[1]).toEqual({ nan: NaN, inf: -Infinity, zero: -0, s: 'x', t: true, n: null });
    expect(Object.is(b.nested[1]!.zero, -0)).toBe(true);
    expect(b.empty).toEqual(new Float32Array(0));
    expect('skip' in b).toBe(false);
    // Readable where it stopped without the blob.
    expect(await readCheckpointHeader(dir)).toEqual(header());
    expect(await interruptedRun(dir)).toEqual({ problem: expect.stringMatching(/stopped by SIGINT in phase "train", epoch 2\/5, after batch 3\/10/), resume: `graft train --resume ${dir}` });
  });

  it('replace a checkpoint in place (with force) and leave only the new data file', async () => {
    const dir = tmp();
    await writeCheckpoint(dir, header(1), { v: new Float32Array([1]) }, { force: false });
    await rejectsWith(writeCheckpoint(dir, header(2), { v: new Float32Array([2]) }, { force: false }), 'OUTPUT_EXISTS');
    const first = blobs(dir);
    await writeCheckpoint(dir, header(2), { v: new Float32Array([2]) }, { force: true });
    expect(blobs(dir)).toHaveLength(1);
    expect(blobs(dir)).not.toEqual(first);
    expect(((await readCheckpoint(dir)).state as { v: Float32Array }).v[0]).toBe(2);
  });

  it('are refused with the reason when damaged: bad JSON, another format, a missing, short or altered data file', async () => {
    const make = async (): Promise<string> => {
      const dir = tmp();
      await writeCheckpoint(dir, header(), { w: new Float32Array(64).fill(7) }, { force: false });
      return dir;
    };
    const json = (dir: string): string => path.join(dir, CHECKPOINT_FILE);
    const blob = (dir: string): string => path.join(dir, blobs(dir)[0]!);
    const cases: Array<[string, (dir: string) => void, RegExp, string?]> = [
      ['bad JSON', (d) => writeFileSync(json(d), '{"format": "graft-chec'), /not valid JSON/],
      ['another format', (d) => writeFileSync(json(d), '{"format": "other"}'), /not a graft checkpoint/],
      ['newer version', (d) => writeFileSync(json(d), readFileSync(json(d), 'utf8').replace('"version": 1', '"version": 99')), /format version 99/, 'CHECKPOINT_MISMATCH'],
      ['missing data', (d) => rmSync(blob(d)), /data file checkpoint-[0-9a-f]+\.bin is missing/],
      ['short data', (d) => writeFileSync(blob(d), readFileSync(blob(d)).subarray(0, 100)), /has 100 bytes, 256 were written/],
      ['altered data', (d) => writeFileSync(blob(d), Buffer.from(readFileSync(blob(d)).map((b, i) => (i === 9 ? b ^ 1 : b)))), /does not match its recorded SHA-256/],
    ];
    for (const [label, damage, message, code = 'CHECKPOINT_CORRUPT'] of cases) {
      const dir = await make();
      damage(dir);
      const e = await rejectsWith(readCheckpoint(dir), code);
      expect(e.message, label).toMatch(message);
    }
    const e = await rejectsWith(readCheckpoint(path.dirname(tmp())), 'MODEL_NOT_FOUND');
    expect(e.message).toMatch(/not an interrupted graft run/);
    // Readers still recognise a damaged one as an interrupted run, with no resume offered.
    const bad = await make();
    writeFileSync(json(bad), '{');
    const h = await findHalfFinishedRun(bad);
    expect(h).toMatchObject({ problem: expect.stringMatching(/interrupted.*cannot be read/) });
    expect(h?.resume).toBeUndefined();
  });
});

describe(`a checkpoint write killed at random moments (${CASES} SIGKILLs)`, () => {
  /** Starts the writer loop, kills it `delay` ms after it is ready (first write) or after round 1 (a replacement). */
  async function killDuring(dir: string, delay: number, afterFirst: boolean, stepDelay: number): Promise<{ started: number; saved: number }> {
    const child = spawn(process.execPath, [CHILD, dir, '4', String(stepDelay)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let started = 0;
    let saved = 0;
    const lines = createInterface({ input: child.stdout });
    const go = new Promise<boolean>((resolve) => {
      lines.on('line', (l) => {
        const [word, v] = l.split(' ');
        if (word === 'start') started = Number(v);
        if (word === 'saved') saved = Number(v);
        if ((word === 'ready' && !afterFirst) || (word === 'saved' && afterFirst)) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    if (!(await go)) throw new Error(`the checkpoint loop child exited by itself:\n${stderr}`);
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // Lines the child wrote before dying are still in the pipe.
    await new Promise((r) => setTimeout(r, 20));
    lines.close();
    return { started, saved };
  }

  it('leaves the previous checkpoint or the new one, whole, or none before the first completes', { timeout: 60_000 + CASES * 5_000 }, async () => {
    expect(existsSync(path.resolve(__dirname, '../../dist/io/checkpoint-dir.js')), 'dist/ is built (npm run build; npm test builds it first)').toBe(true);
    const rng = new Rng(SEED);
    const tally: Record<string, number> = {};
    const count = (k: string): void => void (tally[k] = (tally[k] ?? 0) + 1);
    for (let c = 0; c < CASES; c++) {
      const afterFirst = c % 4 !== 0;
      const delay = Math.floor(rng.next() * (afterFirst ? 120 : 40));
      const stepDelay = c % 2 === 1 ? 2 : 0;
      const dir = tmp();
      const context = `kill ${c + 1}/${CASES} ${delay} ms after ${afterFirst ? 'round 1' : 'start'}${stepDelay ? ', slow disk' : ''} (KILL_SEED=${SEED})`;
      const { started, saved } = await killDuring(dir, delay, afterFirst, stepDelay);
      if (!(await hasCheckpoint(dir))) {
        expect(saved, `${context}: checkpoint ${saved} was saved, then lost`).toBe(0);
        expect(existsSync(dir), `${context}: a folder without a checkpoint`).toBe(false);
        const partial = (await leftoversIn(path.dirname(dir))).length > 0;
        count(`none (killed in the first write)${partial ? ' + partial temp folder' : ''}`);
        // Writing it again works, and clears what the killed writer left.
        await writeCheckpoint(dir, header(), { v: 0 }, { force: false });
        expect(await leftoversIn(path.dirname(dir)), context).toEqual([]);
      } else {
        const { header: h, state } = await readCheckpoint(dir);
        const s = state as { v: number; weights: Float32Array[]; order: Int32Array; best: number };
        // The one last saved, or the one being written if its JSON rename had happened.
        expect([saved, started], context).toContain(s.v);
        expect(h.epoch, context).toBe(s.v);
        for (const a of [...s.weights, s.order]) expect(a.every((x) => x === s.v), `${context}: arrays of round ${s.v} hold another round's values`).toBe(true);
        expect(s.best).toBe(Infinity);
        expect(blobs(dir).length, context).toBeLessThanOrEqual(2);
        count(`${s.v === saved ? 'previous' : 'new'} checkpoint${blobs(dir).length > 1 ? ' + unreferenced data file' : ''}${(await leftoversIn(dir)).length ? ' + temp file' : ''}`);
        // The next save (a resumed run stopped again) clears what the killed writer left.
        await writeCheckpoint(dir, header(), { v: 0 }, { force: true });
        expect(blobs(dir), context).toHaveLength(1);
        expect(await leftoversIn(dir), context).toEqual([]);
      }
      await rm(path.dirname(dir), { recursive: true, force: true });
    }
    console.log(`checkpoint kill: ${CASES} kills (KILL_SEED=${SEED}); left:\n${Object.entries(tally).sort().map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`).join('\n')}`);
  });
});
