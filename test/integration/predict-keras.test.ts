import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { fitImage, type ResizeMode } from '../../src/data/image-convert.js';
import { Rng } from '../../src/engine/rng.js';
import { decodeImage } from '../../src/io/image-decode.js';
import { loadModel } from '../../src/io/run-dir.js';
import { encodeJpeg, encodePng } from '../io/image-fixtures.js';
import { useBackend } from '../helpers.js';
import { bandImage, colourImage, makePredictRuns } from '../workflows/predict-fixtures.js';

/**
 * graft predict against real Keras on the same files: a trained graft run (RGB CNN, grey MLP with a
 * sigmoid head) exported with `graft export` to .keras, Keras predicting (1) on the pixels graft
 * fitted (photos of other sizes, JPEG, colour into grey) and (2) on PNG files TensorFlow decodes
 * itself (lossless, so the pixels are equal): within 1e-5. Needs a Python with Keras 3
 * (GRAFT_KERAS_PYTHON, else /tmp/peers/bin/python); without one it is skipped, saying why.
 */
const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import keras, tensorflow; print(keras.__version__)'], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, KERAS_BACKEND: 'tensorflow' } }) : undefined;
const kerasVersion = probe?.status === 0 ? probe.stdout.trim().split('\n').pop() : undefined;
const skipReason =
  probe === undefined
    ? `no Python at ${PYTHON} (set GRAFT_KERAS_PYTHON to a Python with Keras 3 and TensorFlow)`
    : kerasVersion === undefined
      ? `${PYTHON} cannot import keras and tensorflow: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`
      : !kerasVersion.startsWith('3.')
        ? `${PYTHON} has Keras ${kerasVersion}, not Keras 3`
        : undefined;
if (skipReason) console.log(`skipping graft predict vs real Keras: ${skipReason}`);

const SCRIPT = path.resolve(__dirname, 'keras_predict_images.py');
const root = mkdtempSync(path.join(tmpdir(), 'graft-predict-keras-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function graft(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await runCli(args), stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

/** graft predict --csv: every class's probability per file, as graft wrote them (exact float32 text). */
async function graftPredict(model: string, files: string[], name: string): Promise<Map<string, number[]>> {
  const csv = path.join(root, `${name}.csv`);
  const r = await graft(['predict', '--model', model, ...files, '--csv', csv, '--json', '--backend', 'wasm']);
  expect(r.code, r.stderr).toBe(0);
  const rows = readFileSync(csv, 'utf8').trimEnd().split('\n').slice(2).map((l) => l.split(','));
  return new Map(rows.map((r) => [r[0]!, r.slice(3, -1).map(Number)]));
}

interface Case { model: string; input_shape: number[]; input?: number[]; pngs?: string[]; channels?: number; raw?: boolean; want: number[][]; name: string }

function keras(cases: Case[]): Array<{ output: number[] }> {
  const casesFile = path.join(root, 'cases.json');
  const outFile = path.join(root, 'out.json');
  writeFileSync(casesFile, JSON.stringify(cases.map(({ want: _w, name: _n, ...c }) => c)));
  const r = spawnSync(PYTHON, [SCRIPT, casesFile, outFile], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, KERAS_BACKEND: 'tensorflow', TF_CPP_MIN_LOG_LEVEL: '2' } });
  expect(r.status, `Keras failed:\n${r.stderr}`).toBe(0);
  return JSON.parse(readFileSync(outFile, 'utf8')) as Array<{ output: number[] }>;
}

/** graft's class probabilities vs Keras's outputs (a sigmoid head outputs only P(class 1)). */
function expectAgree(c: Case, output: number[]): number {
  const perImage = output.length / c.want.length;
  let worst = 0;
  c.want.forEach((probs, i) => {
    const got = output.slice(i * perImage, (i + 1) * perImage);
    const want = perImage === 1 ? [probs[1]!] : probs;
    expect(got.length, `${c.name} #${i}: outputs`).toBe(want.length);
    got.forEach((g, j) => {
      worst = Math.max(worst, Math.abs(g - want[j]!));
      expect(Math.abs(g - want[j]!), `${c.name} #${i} class ${j}: Keras ${g}, graft ${want[j]}`).toBeLessThanOrEqual(1e-5);
    });
  });
  return worst;
}

describe.skipIf(skipReason !== undefined)(`graft predict and real Keras ${kerasVersion ?? ''} agree on the same files`, () => {
  let runs: { rgb: string; grey: string };
  beforeAll(async () => {
    await useBackend();
    runs = await makePredictRuns(root);
    for (const name of ['rgb', 'grey'] as const) expect((await graft(['export', runs[name], '--to', path.join(root, `${name}.keras`), '--backend', 'wasm'])).code).toBe(0);
  }, 300_000);

  it('on the fitted pixels of photos of other sizes, and on PNGs TensorFlow decodes', async () => {
    const rng = new Rng(3);
    const dir = path.join(root, 'files');
    mkdirSync(dir);
    const put = (name: string, bytes: Uint8Array): string => {
      writeFileSync(path.join(dir, name), bytes);
      return path.join(dir, name);
    };
    const greyRgb = (g: Uint8Array): Uint8Array => Uint8Array.from({ length: g.length * 3 }, (_, i) => g[Math.floor(i / 3)]!);
    /** An RGBA PNG whose alpha varies: graft and TensorFlow both drop it (no blending), so the pixels stay equal. */
    const withAlpha = (rgb: Uint8Array): Uint8Array => {
      const png = new PNG({ width: 16, height: 16 });
      for (let i = 0; i < 256; i++) png.data.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, (i * 7) % 256], 4 * i);
      return Uint8Array.from(PNG.sync.write(png));
    };
    // RGB model (16×16×3, run resize 'crop'): other sizes, JPEG; and at its size: RGB, grey PNGs.
    const rgbOther = [put('wide.png', encodePng(40, 24, colourImage(40, 24, 0, rng))), put('tall.jpg', encodeJpeg(18, 30, colourImage(18, 30, 1, rng), 90)), put('small.png', encodePng(9, 9, colourImage(9, 9, 2, rng)))];
    const rgbExact = [put('exact-rgb.png', withAlpha(colourImage(16, 16, 2, rng))), put('exact-grey.png', encodePng(16, 16, greyRgb(bandImage(16, 16, 0, rng)), true))];
    // Grey model (28×28 flat MLP, no resize recorded: squash): colour and other sizes; at its size a grey PNG.
    const greyOther = [put('band.jpg', encodeJpeg(40, 50, greyRgb(bandImage(40, 50, 1, rng)), 92)), put('band-colour.png', encodePng(56, 28, colourImage(56, 28, 0, rng)))];
    const greyExact = [put('exact-band.png', encodePng(28, 28, greyRgb(bandImage(28, 28, 0, rng)), true)), put('exact-band2.png', encodePng(28, 28, greyRgb(bandImage(28, 28, 1, rng)), true))];

    const cases: Case[] = [];
    for (const [name, others, exact, channels] of [['rgb', rgbOther, rgbExact, 3], ['grey', greyOther, greyExact, 1]] as const) {
      const run = runs[name];
      const loaded = await loadModel(run);
      const shape = loaded.model.inputs[0]!.shape.slice(1) as number[];
      const mode: ResizeMode = loaded.run!.preprocessing.resize ?? 'squash';
      loaded.model.dispose();
      const probs = await graftPredict(run, [...others, ...exact], name);
      // (1) The pixels graft predict fits, made here from the same file with the run's mode.
      const [h, w] = name === 'rgb' ? [16, 16] : [28, 28];
      const input = others.flatMap((f) => Array.from(fitImage(decodeImage(readFileSync(f), f), w, h, channels, mode).data, (v) => v / 255));
      cases.push({ name: `${name}: fitted pixels`, model: path.join(root, `${name}.keras`), input_shape: [others.length, ...shape], input, want: others.map((f) => probs.get(f)!) });
      // (2) PNGs at the model's size, decoded by TensorFlow.
      cases.push({ name: `${name}: PNGs TensorFlow decodes`, model: path.join(root, `${name}.keras`), input_shape: shape, pngs: [...exact], channels, want: exact.map((f) => probs.get(f)!) });
      // The exported .keras file itself in graft predict (no run.json: crop, /255) on the exact-size PNGs: no fitting happens, so the same answer.
      const fromKeras = await graftPredict(path.join(root, `${name}.keras`), exact, `${name}-keras`);
      cases.push({ name: `${name}: graft predict on the .keras file`, model: path.join(root, `${name}.keras`), input_shape: shape, pngs: [...exact], channels, want: exact.map((f) => fromKeras.get(f)!) });
    }
    // A Keras model that scales its own input (Rescaling(1/255) first): graft predict feeds it 0..255 pixels.
    const rescaling = path.join(root, 'rescaling.keras');
    const made = spawnSync(PYTHON, [SCRIPT, '--make-rescaling', rescaling], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, KERAS_BACKEND: 'tensorflow', TF_CPP_MIN_LOG_LEVEL: '2' } });
    expect(made.status, made.stderr).toBe(0);
    const fromRescaling = await graftPredict(rescaling, rgbExact, 'rescaling');
    cases.push({ name: 'Keras model with a leading Rescaling', model: rescaling, input_shape: [16, 16, 3], pngs: [...rgbExact], channels: 3, raw: true, want: rgbExact.map((f) => fromRescaling.get(f)!) });
    const out = keras(cases);
    expect(out).toHaveLength(cases.length);
    const worst = cases.map((c, i) => `${c.name} ${c.want.length} image(s): ${expectAgree(c, out[i]!.output).toExponential(1)}`);
    console.log(`graft predict vs Keras ${kerasVersion}, largest difference per case:\n  ${worst.join('\n  ')}`);
  }, 600_000);
});
