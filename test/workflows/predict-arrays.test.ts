import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { loadModel } from '../../src/io/run-dir.js';
import { predict, type PixelImage } from '../../src/workflows/predict-arrays.js';
import { encodePng } from '../io/image-fixtures.js';
import { cliCapture } from '../cli/in-process.js';
import { liveTensors, rejectsWith, useBackend } from '../helpers.js';
import { bandImage, colourImage, makePredictRuns } from './predict-fixtures.js';

/** predict(run, arrays) against `graft predict` on the same pixels written as PNG files. */

const root = mkdtempSync(path.join(tmpdir(), 'graft-predict-arrays-'));
let runs: { rgb: string; grey: string };

beforeAll(async () => {
  await useBackend();
  runs = await makePredictRuns(root);
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every class's probability as `graft predict --json` gives it, per file, in file order. */
async function cliProbabilities(run: string, files: string[], classNames: readonly string[]): Promise<number[][]> {
  const r = await cliCapture(['predict', '--model', run, ...files, '--json', '--backend', 'wasm']);
  expect(r.code, r.stderr).toBe(0);
  const entries = JSON.parse(r.stdout) as Array<{ file: string; predictions: Array<{ class: string; probability: number }> }>;
  return files.map((f) => {
    const e = entries.find((x) => x.file === f)!;
    return classNames.map((c) => e.predictions.find((p) => p.class === c)!.probability);
  });
}

/** Writes each image as a PNG (grey PNGs from r = g = b) and returns the paths. */
function writePngs(prefix: string, images: Array<{ w: number; h: number; rgb: Uint8Array; grey?: boolean }>): string[] {
  return images.map((im, i) => {
    const file = path.join(root, `${prefix}-${i}.png`);
    writeFileSync(file, encodePng(im.w, im.h, im.rgb, im.grey ?? false));
    return file;
  });
}

const greyToRgb = (g: Uint8Array): Uint8Array => Uint8Array.from({ length: g.length * 3 }, (_, i) => g[Math.floor(i / 3)]!);
const rgba = (rgb: Uint8Array): Uint8ClampedArray => Uint8ClampedArray.from({ length: (rgb.length / 3) * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));

describe('predict(run, arrays)', () => {
  it('an RGB run: Uint8, Float32 and RGBA (ImageData-like) buffers of other sizes give what graft predict gives for the PNGs', async () => {
    const rng = new Rng(11);
    // Not the run's 16×16: the run's crop resize must be applied as for files.
    const shots = [{ w: 30, h: 20, k: 0 }, { w: 16, h: 24, k: 1 }, { w: 19, h: 19, k: 2 }].map((s) => ({ ...s, rgb: colourImage(s.w, s.h, s.k, rng) }));
    const files = writePngs('rgb', shots.map((s) => ({ w: s.w, h: s.h, rgb: s.rgb })));
    const loaded = await loadModel(runs.rgb);
    const names = loaded.run!.classNames;
    const expected = await cliProbabilities(runs.rgb, files, names);
    const tensors = liveTensors();
    const variants: PixelImage[][] = [
      shots.map((s) => ({ data: s.rgb, width: s.w, height: s.h, channels: 3 })),
      shots.map((s) => ({ data: Float32Array.from(s.rgb), width: s.w, height: s.h, channels: 3 })),
      shots.map((s) => ({ data: rgba(s.rgb), width: s.w, height: s.h })),
    ];
    for (const images of variants) {
      const got = await predict(loaded, images);
      got.forEach((p, i) => {
        expect(p.probabilities.map(Math.fround), `image ${i}`).toEqual(expected[i]!.map(Math.fround));
        expect(p.className).toBe(names[shots[i]!.k]);
        expect(p.classIndex).toBe(shots[i]!.k);
      });
    }
    expect(liveTensors()).toBe(tensors);
    loaded.model.dispose();
  });

  it('a grey run given by path: grey and RGB arrays give what graft predict gives for grey and RGB PNGs', async () => {
    const rng = new Rng(12);
    const grey = [{ w: 28, h: 28, k: 0 }, { w: 40, h: 30, k: 1 }].map((s) => ({ ...s, g: bandImage(s.w, s.h, s.k, rng) }));
    const files = writePngs('grey', [...grey.map((s) => ({ w: s.w, h: s.h, rgb: greyToRgb(s.g), grey: true })), ...grey.map((s) => ({ w: s.w, h: s.h, rgb: greyToRgb(s.g) }))]);
    const names = (await loadModel(runs.grey)).run!.classNames;
    const expected = await cliProbabilities(runs.grey, files, names);
    const images: PixelImage[] = [...grey.map((s) => ({ data: s.g, width: s.w, height: s.h, channels: 1 })), ...grey.map((s) => ({ data: greyToRgb(s.g), width: s.w, height: s.h, channels: 3 }))];
    const got = await predict(runs.grey, images);
    expect(got).toHaveLength(4);
    got.forEach((p, i) => {
      expect(p.probabilities.map(Math.fround), `image ${i}`).toEqual(expected[i]!.map(Math.fround));
      expect(p.className).toBe(names[grey[i % 2]!.k]);
    });
  });

  it('refuses wrong shapes and values, naming the image, what it received and the fix', async () => {
    const loaded = await loadModel(runs.rgb);
    const good = { data: new Uint8Array(16 * 16 * 3), width: 16, height: 16, channels: 3 };
    const cases: Array<[PixelImage, string, string]> = [
      [{ data: new Uint8Array(10), width: 16, height: 16, channels: 3 }, 'SHAPE_MISMATCH', 'holds 10 values, but 16×16×3 needs 768'],
      [{ data: new Uint8Array(16 * 16 * 2), width: 16, height: 16, channels: 2 }, 'SHAPE_MISMATCH', 'channels is 2'],
      [{ data: new Uint8Array(100), width: 16, height: 16 }, 'SHAPE_MISMATCH', 'its 100 values are 0.39 per pixel'],
      [{ data: new Uint8Array(768), width: 0, height: 16, channels: 3 }, 'SHAPE_MISMATCH', 'size 0×16'],
      [{ data: Float32Array.of(...new Array<number>(767).fill(0), 300), width: 16, height: 16, channels: 3 }, 'BAD_ARGUMENT', 'value 300 at index 767'],
      [{ data: [1, 2, 3] as unknown as Uint8Array, width: 1, height: 1, channels: 3 }, 'BAD_ARGUMENT', 'data is Array'],
    ];
    for (const [bad, code, says] of cases) {
      const e = await rejectsWith(predict(loaded, [good, bad]), code);
      expect(e.message).toContain('image 1');
      expect(e.message).toContain(says);
    }
    loaded.model.dispose();
  });
});
