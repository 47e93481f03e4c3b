import { cliCapture } from './in-process.js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { buildMlp } from '../../src/models/mlp.js';
import { exportModel } from '../../src/io/export-model.js';
import { loadModel, saveRun } from '../../src/io/run-dir.js';
import { describeOutput } from '../../src/train/loss.js';
import { predictProbabilities } from '../../src/train/infer.js';
import { GRAFT_VERSION } from '../../src/version.js';
import { syntheticDataset, testRunInfo, useBackend } from '../helpers.js';
import { onnxFileInfo } from '../io/onnx-file-info.js';

/** `graft export RUN --to model.onnx`: writes a file onnxruntime predicts with, under graft's output rules. */

beforeAll(useBackend);
const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`graft export --to .onnx CLI tests skipped: ${ort}`);

const root = mkdtempSync(path.join(tmpdir(), 'graft-export-onnx-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const RUN = path.join(root, 'run');
const CLASSES = ['ankle', 'bag', 'coat'];

beforeAll(async () => {
  const model = buildMlp({ classes: CLASSES.length, inputShape: [6, 6], hidden: 8, seed: 2 });
  await saveRun(RUN, model, testRunInfo({ task: 'synthetic:3', classNames: CLASSES, sampleShape: [6, 6], preprocessing: { pixelScale: 1 / 255, resize: 'squash' } }));
  model.dispose();
});

describe.runIf(typeof ort !== 'string')('graft export --to model.onnx', () => {
  it('writes the run as ONNX: onnxruntime predicts what graft predicts; inspect shows image → probabilities by graft', async () => {
    const out = path.join(root, 'model.onnx');
    const r = await cliCapture(['export', RUN, '--to', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Wrote ${out} (onnx)\n`);

    const data = syntheticDataset(6, CLASSES.length, 3, 6);
    const loaded = await loadModel(RUN);
    const want = predictProbabilities(loaded.model, describeOutput(loaded.model), data.x, [6, 6], 'test');
    loaded.model.dispose();
    const o = ort as Exclude<typeof ort, string>;
    const session = await o.InferenceSession.create(out);
    const got = (await session.run({ image: new o.Tensor('float32', data.x, [6, 6, 6, 1]) })).probabilities!.data as Float32Array;
    await session.release();
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expect(Math.abs(got[i]! - w), `probability ${i}`).toBeLessThan(1e-5));

    const inspected = await cliCapture(['inspect', out, '--json']);
    expect(inspected.code).toBe(0);
    const s = JSON.parse(inspected.stdout);
    expect(s.producer).toEqual({ name: 'graft', version: GRAFT_VERSION });
    expect(s.inputs).toEqual([{ name: 'image', type: 'float32', shape: ['n', 6, 6, 1] }]);
    expect(s.outputs).toEqual([{ name: 'probabilities', type: 'float32', shape: ['n', CLASSES.length] }]);
    // The run's class names, task and input convention travel with the file.
    const { meta } = onnxFileInfo(readFileSync(out));
    expect(JSON.parse(meta.classes!)).toEqual(CLASSES);
    expect(meta.task).toBe('synthetic:3');
    expect(meta.input).toMatch(/^image: float32 \[n, 6, 6, 1\], channels last \(NHWC\); 0\.\.255 pixels divided by 255 \(values in \[0, 1\]\); other sizes fitted by squash \(from run\.json\)$/);
  });

  it('keeps an existing file: without --force always, with --force unless graft wrote it', async () => {
    const out = path.join(root, 'again.onnx');
    expect((await cliCapture(['export', RUN, '--to', out])).code).toBe(0);
    const ours = readFileSync(out);
    const inode = statSync(out).ino;
    const again = await cliCapture(['export', RUN, '--to', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists\. Pass --force to replace it/);
    expect((await cliCapture(['export', RUN, '--to', out, '--force'])).code).toBe(0);
    // Replaced (atomic write: a new file renamed over the old), with the same content.
    expect(statSync(out).ino).not.toBe(inode);
    expect(readFileSync(out).equals(ours)).toBe(true);

    const users = path.join(root, 'users.onnx');
    writeFileSync(users, 'my own model, not graft\'s');
    const before = readFileSync(users);
    const forced = await cliCapture(['export', RUN, '--to', users, '--force']);
    expect(forced.code).toBe(2);
    expect(forced.stderr).toMatch(/Refusing to replace .*users\.onnx: it was not written by graft/);
    expect(readFileSync(users).equals(before)).toBe(true);
  });

  it('a TF.js model without run.json: the input convention says it is graft\'s default, [0, 1]', async () => {
    const model = buildMlp({ classes: 3, inputShape: [4, 4], hidden: 4 });
    const dir = path.join(root, 'tfjs-mlp');
    await exportModel(model, dir);
    model.dispose();
    const out = path.join(root, 'tfjs-mlp.onnx');
    expect((await cliCapture(['export', dir, '--to', out])).code).toBe(0);
    const { meta } = onnxFileInfo(readFileSync(out));
    expect(meta.input).toMatch(/values in \[0, 1\]\); other sizes fitted by crop \(from graft's default for a model without run\.json/);
    expect(meta.classes).toBeUndefined();
  });

  it('refuses a model with an untranslatable layer, naming the layer', async () => {
    const model = tfl.sequential({
      name: 'grower',
      layers: [tfl.layers.upSampling2d({ inputShape: [3, 3, 1], size: [2, 2], name: 'upsample_me' }), tfl.layers.flatten({}), tfl.layers.dense({ units: 2, activation: 'softmax' })],
    });
    const dir = path.join(root, 'tfjs-grower');
    await exportModel(model, dir);
    model.dispose();
    const r = await cliCapture(['export', dir, '--to', path.join(root, 'grower.onnx')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cannot export grower to ONNX: layer upsample_me is a UpSampling2D/);
  });

  it('--help names the .onnx form and its interface', async () => {
    const { stdout } = await cliCapture(['export', '--help']);
    expect(stdout).toContain('OUT.onnx');
    expect(stdout).toMatch(/input "image" float32 \[n, height, width, channels\]/);
    expect(stdout).toMatch(/output "probabilities" \[n, classes\]/);
  });
});
