import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { progressCallbacks } from '../../src/cli/progress.js';
import { safeLines, safeText, terminalJson } from '../../src/cli/terminal-text.js';
import { saveRun } from '../../src/io/run-dir.js';
import { toTfjsFiles } from '../../src/io/tfjs-format.js';
import { toKerasArchive } from '../../src/io/keras/export.js';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { renderReport } from '../../src/report/render.js';
import { testRunInfo, useBackend } from '../helpers.js';
import { runInfo } from '../report/fixtures.js';

// Names that would retitle the window (OSC … BEL), clear the screen (CSI 2J), do the same through
// the 8-bit C1 CSI (U+009B), return the cursor to overwrite a line (CR), or reverse text (U+202E).
const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J';
const C1_CSI = '\x9b31m';
const EVIL = `${TITLE}${CLEAR}${C1_CSI}\r\u202e`;
// What a reader sees instead.
const SHOWN = '\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\r\\u202e';

const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 't10k-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 't10k-images-idx3-ubyte'));

/** Any control character but graft's own newline: C0, DEL, C1, bidi controls, line separators. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function expectNoRawControls(text: string, where: string): void {
  const m = RAW_CONTROL.exec(text);
  const context = m ? JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 20)) : '';
  expect(m, `${where}: raw U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')} near ${context}`).toBeNull();
}

/** Runs the CLI in this process and captures both streams whole. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(args);
    expectNoRawControls(stdout, `graft ${args[0]} stdout`);
    expectNoRawControls(stderr, `graft ${args[0]} stderr`);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

const root = mkdtempSync(path.join(tmpdir(), 'graft-tty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A run whose task and class names carry escape sequences, in a folder whose name does too. */
function smallModel(inputShape: number[]): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape, name: 'flatten' }),
      tfl.layers.dense({ units: 4, activation: 'relu', name: 'hidden' }),
      tfl.layers.dropout({ rate: 0.1, name: 'drop' }),
      tfl.layers.dense({ units: 2, activation: 'softmax', name: 'out' }),
    ],
  });
}

async function hostileRun(name: string, inputShape: number[], task: string): Promise<string> {
  const model = smallModel(inputShape);
  const dir = path.join(root, `${name}${EVIL}`);
  await saveRun(dir, model, testRunInfo({ task, classNames: [`a${EVIL}`, `b${EVIL}`], sampleShape: inputShape }));
  model.dispose();
  return dir;
}

describe('terminal-text helpers', () => {
  it('safeText shows every control escaped; safeLines keeps only the newline', () => {
    expect(safeText(`x${EVIL}\n\t\x7f\u2028y`)).toBe(`x${SHOWN}\\n\\t\\x7f\\u2028y`);
    expect(safeLines(`a${EVIL}\nb`)).toBe(`a${SHOWN}\nb`);
    expect(safeText('plain ü 名前 ░█')).toBe('plain ü 名前 ░█');
  });

  it('terminalJson parses back to the same value, with no raw C1 or bidi control', () => {
    const value = { name: `n${EVIL}\x7f\u2028`, list: [C1_CSI] };
    const text = terminalJson(value);
    expectNoRawControls(text, 'terminalJson');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('the progress bar on a terminal', () => {
  it("keeps its own carriage return and erase-line, and escapes the label, phase and messages", () => {
    let written = '';
    const stream = { isTTY: true, write: (t: string) => ((written += t), true) } as unknown as NodeJS.WriteStream;
    const cb = progressCallbacks({ label: `Model${EVIL}`, stream });
    cb.onBatchProgress!({ phase: `frozen${CLEAR}`, epoch: 1, epochs: 2, batch: 1, batches: 2, loss: 0.5, accuracy: 0.5, elapsedSeconds: 1 });
    cb.onEpochEnd!({ phase: `frozen${CLEAR}`, epoch: 1, loss: 0.5, accuracy: 0.5, learningRate: 0.1, seconds: 1 });
    cb.onMessage!(`layer x${TITLE} frozen\nsecond line`);
    const own = '\r\x1b[2K';
    expect(written.startsWith(`${own}Model${SHOWN} frozen\\x1b[2J 1/2 `)).toBe(true);
    expect(written.split(own)).toHaveLength(4);
    expectNoRawControls(written.split(own).join(''), 'progress');
    expect(written).toContain(`layer x\\x1b]0;pwned\\x07 frozen\nsecond line\n`);
  });
});

describe('the HTML report', () => {
  it('carries no raw control character from names, so `cat report.html` is as safe as the terminal output', () => {
    const run = runInfo({ task: `task${EVIL}`, classNames: [`a${EVIL}`, 'b', 'c', 'd', 'e', 'f', 'g', 'h'] });
    const html = renderReport({ title: `t${EVIL}`, runs: [{ name: `r${EVIL}`, run }] });
    expectNoRawControls(html.replaceAll('\n', ''), 'report.html');
    expect(html).toContain('task task\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x0d\\u202e.');
  });
});

describe('names from files cannot drive the terminal', () => {
  let run: string;
  beforeAll(async () => {
    await useBackend();
    run = await hostileRun('run', [4, 4], `synthetic${EVIL}`);
  });

  it('graft inspect: the task and the folder name are printed escaped', async () => {
    const r = await cli(['inspect', run, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`task synthetic${SHOWN}`);
    expect(r.stdout).toContain(`run${SHOWN}: graft-run`);
  });

  it('graft inspect --json: C1 and bidi controls are \\u escapes, and the JSON still means the same', async () => {
    const r = await cli(['inspect', run, '--json', '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout) as { classNames: string[]; task: string; layers: Array<{ name: string }> };
    expect(parsed.classNames).toEqual([`a${EVIL}`, `b${EVIL}`]);
    expect(parsed.task).toBe(`synthetic${EVIL}`);
    expect(r.stdout).toContain('\\u009b31m');
  });

  it('graft predict: file names and class names are printed escaped, in the table and as JSON', async () => {
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(200);
    const file = path.join(root, `img${EVIL}.png`);
    writeFileSync(file, PNG.sync.write(png));
    const r = await cli(['predict', '--model', run, file, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`img${SHOWN}.png`);
    expect(r.stdout).toMatch(/[ab]\\x1b\]0;pwned\\x07/);
    const j = await cli(['predict', '--model', run, file, '--json', '--backend', 'wasm']);
    expect(j.code, j.stderr).toBe(0);
    expect((JSON.parse(j.stdout) as Array<{ file: string }>)[0]!.file).toBe(file);
  });

  it('graft inspect: a layer name TF.js refuses is quoted escaped in the error', async () => {
    // TF.js builds no layer whose name holds controls, so such a name only ever reaches the terminal in an error.
    const dir = path.join(root, 'tfjs-model');
    mkdirSync(dir, { recursive: true });
    const files = await toTfjsFiles(smallModel([4, 4]), 'test');
    writeFileSync(path.join(dir, 'model.json'), files['model.json'].replace('"drop"', JSON.stringify(`drop${EVIL}`)));
    writeFileSync(path.join(dir, 'weights.bin'), files['weights.bin']);
    const r = await cli(['inspect', dir, '--backend', 'wasm']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`drop${SHOWN}`);
  });

  it('graft inspect: keras_version and written_by of a .keras file are printed escaped', async () => {
    const entries = unzipSync(await toKerasArchive(smallModel([4, 4])));
    const metadata = JSON.parse(strFromU8(entries['metadata.json']!)) as Record<string, unknown>;
    entries['metadata.json'] = strToU8(JSON.stringify({ ...metadata, keras_version: `3.0${EVIL}`, written_by: `me${TITLE}` }));
    const file = path.join(root, 'hostile.keras');
    writeFileSync(file, zipSync(entries));
    const r = await cli(['inspect', file, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`written by Keras 3.0${SHOWN} (file written by me\\x1b]0;pwned\\x07)`);
  });

  it('an error about a file with an escape sequence in its name quotes it escaped, on one line', async () => {
    const r = await cli(['inspect', path.join(root, `missing${EVIL}.json`), '--backend', 'wasm']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`missing${SHOWN}.json`);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('graft evaluate: a task read from run.json is quoted escaped in the error', async () => {
    const r = await cli(['evaluate', '--model', run, '--offline', '--data-dir', root, '--backend', 'wasm']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('synthetic\\u001b]0;pwned\\u0007');
    expect(r.stderr).toContain('\\x9b31m');
  });

  it('graft run --check: values of the experiment file are printed escaped', async () => {
    const dir = path.join(root, 'exp');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'train.json');
    writeFileSync(file, JSON.stringify({ kind: 'train', task: 'fashion-mnist:binary=tshirt-top,sandal', out: `out${EVIL}` }));
    const r = await cli(['run', file, '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('out\\u001b]0;pwned\\u0007');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ kind: `train${EVIL}`, task: 'fashion-mnist', out: 'o' }));
    const e = await cli(['run', bad, '--check']);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('\\x9b31m');
    expect(readFileSync(bad, 'utf8')).toContain(C1_CSI);
  });
});

describe.skipIf(!haveData)('on Fashion-MNIST: evaluate and transfer from a hostile run', () => {
  let run: string;
  beforeAll(async () => {
    await useBackend();
    run = await hostileRun('fm', [28, 28], 'fashion-mnist:binary=tshirt-top,sandal');
  });

  it('graft evaluate prints the model path escaped', async () => {
    const r = await cli(['evaluate', '--model', run, '--offline', '--data-dir', DATA, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`fm${SHOWN} on fashion-mnist`);
  });

  it('graft run: an experiment whose out: holds escape sequences trains, its log lines and result printed escaped', async () => {
    const dir = path.join(root, 'exp-run');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'train.json');
    writeFileSync(file, JSON.stringify({ kind: 'train', task: 'fashion-mnist:binary=tshirt-top,sandal', out: `out${EVIL}`, epochs: 1, perClass: 10, dataDir: DATA, offline: true }));
    const r = await cli(['run', file, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Saved ${dir}/out${SHOWN}`);
  });

  it('the real process: graft inspect and an error, read as bytes from a child', () => {
    const bin = path.resolve(__dirname, '../../bin/graft.js');
    for (const args of [['inspect', run, '--backend', 'wasm'], ['inspect', `${run}-missing`, '--backend', 'wasm']]) {
      const r = spawnSync(process.execPath, [bin, ...args], { timeout: 120_000 });
      const stdout = r.stdout.toString('utf8');
      const stderr = r.stderr.toString('utf8');
      expectNoRawControls(stdout, 'child stdout');
      expectNoRawControls(stderr, 'child stderr');
      expect(`${stdout}${stderr}`).toContain(`fm${SHOWN}`);
    }
  });

  it('graft transfer: the output folder is printed escaped', async () => {
    const out = path.join(root, `transferred${EVIL}`);
    const r = await cli(['transfer', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', out, '--per-class', '10', '--frozen-epochs', '1', '--epochs', '1', '--offline', '--data-dir', DATA, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Saved ${root}/transferred${SHOWN}`);
  });
});
