import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCheckpoint, readCheckpoint, readCheckpointHeader } from '../../src/io/checkpoint-dir.js';
import { useBackend } from '../helpers.js';
import { cliInProcess as cli } from './in-process.js';

/**
 * Real interruptions of `node bin/graft.js train|transfer`: SIGINT / SIGTERM sent mid-epoch (right
 * after a progress line, so before the next epoch's second batch at the latest), the exit code, the
 * checkpoint, every reading command's message, `--resume`, and a kill -9 while the checkpoint of a
 * resumed run is being replaced. The finished runs must equal uninterrupted ones: weights.bin and
 * model.json byte for byte, the same test scores.
 */

const BIN = path.resolve(__dirname, '../../bin/graft.js');
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping interrupt tests: no Fashion-MNIST in ${DATA} (apt-get install dataset-fashion-mnist, or set GRAFT_DATA_DIR)`);

// TF.js's engine: on onnxruntime these runs end in milliseconds, before a signal can land mid-epoch.
// (test/train/onnx-engine.test.ts resumes an interrupted onnxruntime fit bit for bit.)
const COMMON = ['--data-dir', DATA, '--offline', '--backend', 'wasm', '--engine', 'tfjs', '--per-class', '100', '--batch-size', '16'];
const TRAIN = ['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--epochs', '3', ...COMMON];
const transferArgs = (source: string): string[] => [
  'transfer', '--from', source, '--task', 'fashion-mnist:binary=shirt,sandal', '--frozen-epochs', '2', '--epochs', '2',
  '--frozen-optimizer', 'adam', '--frozen-lr', '0.01', '--head-dropout', '0.3', ...COMMON,
];

interface Child {
  /** Resolves when stdout or stderr has printed a line matching `re`. */
  waitFor(re: RegExp): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

function graft(args: string[]): Child {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const onData = (d: Buffer): void => {
    output += d.toString();
    for (const w of [...waiters]) if (w.re.test(output)) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })));
  return {
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(output)) return resolve();
        waiters.push({ re, resolve });
        void done.then((r) => reject(new Error(`graft ${args[0]} ended (${r.code ?? r.signal}) before printing ${re}:\n${r.output}`)));
      }),
    kill: (signal) => child.kill(signal),
    done,
  };
}

async function finished(args: string[]): Promise<string> {
  const r = await graft(args).done;
  expect(r.code, r.output).toBe(0);
  return r.output;
}

/**
 * Starts a run, sends `signal` once `line` has printed, and checks the exit and the checkpoint.
 * `twice`: a second signal (SIGINT) right after the first is acknowledged, is ignored, and changes nothing.
 */
async function interrupt(args: string[], line: RegExp | { log: string }, signal: 'SIGINT' | 'SIGTERM', command: string, out: string, twice = false): Promise<void> {
  const child = graft(args);
  if (line instanceof RegExp) await child.waitFor(line);
  // --json prints nothing while training: the --log file shows the first epoch's end instead.
  else while (!(existsSync(line.log) && readFileSync(line.log, 'utf8').includes('\n'))) await new Promise((r) => setTimeout(r, 10));
  child.kill(signal);
  if (twice) {
    await child.waitFor(/stopping before the next batch/);
    child.kill('SIGINT');
  }
  const r = await child.done;
  expect(r.code, r.output).toBe(signal === 'SIGINT' ? 130 : 143);
  if (args.includes('--json')) {
    const json = JSON.parse(r.output.split('\n').find((l) => l.startsWith('{'))!);
    expect(json).toMatchObject({ interrupted: true, signal, checkpoint: out, resume: `graft ${command} --resume ${out}` });
  } else {
    expect(r.output).toContain(`graft ${command}: interrupted (${signal}) in phase`);
    expect(r.output).toContain(`Resume with: graft ${command} --resume ${out}`);
  }
  // The second signal may land after the save; then there is nothing left to acknowledge.
  if (twice && !/SIGINT again; still stopping/.test(r.output)) console.log('the second signal arrived after the checkpoint was saved');
  const h = await readCheckpointHeader(out);
  expect(h).toMatchObject({ command, reason: signal });
  // Mid-epoch: the signal is handled after the epoch's first batch, before the next check.
  expect(h.batch, `stopped at ${JSON.stringify(h)}`).toBeGreaterThan(0);
  console.log(`${command} ${signal}: stopped in phase ${h.phase}, epoch ${h.epoch}/${h.epochs}, after batch ${h.batch}/${h.batches}`);
}

/** weights.bin and model.json byte for byte, and run.json's test scores. */
function expectSameRun(dir: string, reference: string): void {
  for (const f of ['weights.bin', 'model.json']) expect(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(reference, f))), `${f} of ${dir} differs from ${reference}`).toBe(true);
  const metrics = (d: string): unknown => JSON.parse(readFileSync(path.join(d, 'run.json'), 'utf8')).metrics;
  expect(metrics(dir)).toEqual(metrics(reference));
  expect(existsSync(path.join(dir, 'checkpoint.json'))).toBe(false);
}

describe.skipIf(!haveData)('interrupting graft train and graft transfer (real child processes)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'graft-interrupt-'));
  const at = (name: string): string => path.join(root, name);
  beforeAll(useBackend);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('Ctrl-C, SIGTERM and kill -9 mid-save: exit 130 / 143, every command names the checkpoint, --resume ends as an uninterrupted run', { timeout: 240_000 }, async () => {
    await finished([...TRAIN, '--out', at('ref')]);

    const trainChain = async (): Promise<void> => {
      await interrupt([...TRAIN, '--out', at('a')], /train epoch 1:/, 'SIGINT', 'train', at('a'));
      // Every reader says what it is and how to resume it, instead of failing on a missing file.
      const reading: Record<string, string[]> = {
        evaluate: ['evaluate', '--model', at('a'), '--offline', '--backend', 'wasm'],
        predict: ['predict', '--model', at('a'), at('x.png'), '--backend', 'wasm'],
        inspect: ['inspect', at('a'), '--backend', 'wasm'],
        export: ['export', at('a'), '--to', at('e.keras'), '--backend', 'wasm'],
        report: ['report', at('a')],
        transfer: ['transfer', '--from', at('a'), '--task', 'fashion-mnist:binary=shirt,sandal', '--out', at('t'), '--offline', '--backend', 'wasm'],
        compare: ['compare', '--from', at('a'), '--task', 'fashion-mnist:binary=shirt,sandal', '--out', at('c'), '--offline', '--backend', 'wasm'],
      };
      for (const [name, args] of Object.entries(reading)) {
        const { code, stderr } = await cli(args);
        expect(code, `graft ${name}: ${stderr}`).toBe(2);
        expect(stderr, name).toContain(`graft ${name}: Interrupted run at ${at('a')} (stopped by SIGINT in phase "train", epoch 2/3`);
        expect(stderr, name).toContain(`Resume it with \`graft train --resume ${at('a')}\``);
      }
      expect(await cli(['train', '--task', 'fashion-mnist', '--out', at('a'), '--offline', '--backend', 'wasm'])).toMatchObject({
        code: 2, stderr: expect.stringMatching(/Half-finished run at .*stopped by SIGINT.*Or resume it: `graft train --resume/),
      });
      expect(await cli(['train', '--resume', at('a'), '--epochs', '5'])).toMatchObject({
        code: 2, stderr: expect.stringContaining('--epochs "5" differs from the interrupted run\'s --epochs "3"'),
      });
      expect(await cli(['transfer', '--resume', at('a')])).toMatchObject({
        code: 2, stderr: expect.stringContaining(`is an interrupted \`graft train\` run, not a transfer run. Resume it with \`graft train --resume ${at('a')}\``),
      });

      // Resumed, stopped again and killed while it replaces its checkpoint: the old or the new one survives whole.
      const before = await readCheckpointHeader(at('a'));
      const again = graft(['train', '--resume', at('a')]);
      await again.waitFor(/train epoch 2:/);
      again.kill('SIGINT');
      await again.waitFor(/stopping before the next batch/);
      again.kill('SIGKILL');
      expect((await again.done).signal).toBe('SIGKILL');
      expect(await hasCheckpoint(at('a'))).toBe(true);
      const { header: survived } = await readCheckpoint(at('a'));
      expect([before.epoch, 3]).toContain(survived.epoch);
      console.log(`train kill -9 while saving: kept the ${survived.epoch === before.epoch ? 'previous' : 'new'} checkpoint (epoch ${survived.epoch}, batch ${survived.batch})`);
      await finished(['train', '--resume', at('a')]);
      expectSameRun(at('a'), at('ref'));

      await interrupt([...TRAIN, '--json', '--log', at('b.jsonl'), '--out', at('b')], { log: at('b.jsonl') }, 'SIGTERM', 'train', at('b'), true);
      await finished(['train', '--resume', at('b'), '--json']);
      expectSameRun(at('b'), at('ref'));
      // The resumed run continued the log: one line per epoch, as history.jsonl has them.
      const epochs = (f: string): unknown[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch);
      expect(epochs(at('b.jsonl'))).toEqual([1, 2, 3]);
      expect(epochs(path.join(at('b'), 'history.jsonl'))).toEqual([1, 2, 3]);
    };

    const transferChain = async (): Promise<void> => {
      const [reference, stopped] = [at('x-ref'), at('x')];
      await finished([...transferArgs(at('ref')), '--out', reference]);
      await interrupt([...transferArgs(at('ref')), '--out', stopped], /unfrozen epoch 1:/, 'SIGINT', 'transfer', stopped);
      expect((await readCheckpointHeader(stopped)).phase).toBe('unfrozen');
      await finished(['transfer', '--resume', stopped]);
      expectSameRun(stopped, reference);
      const tj = JSON.parse(readFileSync(path.join(stopped, 'run.json'), 'utf8'));
      expect(tj.source.path).toBe(at('ref'));
      expect(tj.metrics.frozenTest).toEqual(JSON.parse(readFileSync(path.join(reference, 'run.json'), 'utf8')).metrics.frozenTest);
    };

    await Promise.all([trainChain(), transferChain()]);
  });
});
