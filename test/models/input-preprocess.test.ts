import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyInputPreprocess, parseInputPreprocess } from '../../src/models/input-preprocess.js';
import { isPreprocessLayer } from '../../src/models/preprocess.js';
import { useBackend } from '../helpers.js';

beforeAll(useBackend);

/** One RGB pixel through the preprocessing layer. */
function through(spec: string, rgb: number[]): number[] {
  const p = parseInputPreprocess(spec, rgb.length);
  const x = tfl.input({ shape: [1, 1, rgb.length] });
  const m = tfl.model({ inputs: x, outputs: applyInputPreprocess(p, x) });
  const out = tf.tidy(() => Array.from((m.predict(tf.tensor4d(rgb, [1, 1, 1, rgb.length])) as tf.Tensor).dataSync()));
  m.dispose();
  return out;
}

describe('--preprocess for ONNX sources', () => {
  it('imagenet is torchvision\'s (x − mean) / std on pixels in 0..1', () => {
    const out = through('imagenet', [0.5, 0.2, 0.9]);
    const want = [(0.5 - 0.485) / 0.229, (0.2 - 0.456) / 0.224, (0.9 - 0.406) / 0.225];
    out.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });
  it('tf is 2x − 1, scale the identity, raw 0..255', () => {
    expect(through('tf', [0, 0.25, 1])).toEqual([-1, -0.5, 1]);
    expect(through('raw', [0, 0.5, 1]).map((v) => Math.round(v * 1000) / 1000)).toEqual([0, 127.5, 255]);
    const x = tfl.input({ shape: [2, 2, 3] });
    expect(applyInputPreprocess(parseInputPreprocess('scale', 3), x)).toBe(x);
  });
  it('caffe reverses the channels and subtracts the ImageNet mean in 0..255', () => {
    const out = through('caffe', [1, 0.5, 0]);
    [0 * 255 - 103.939, 0.5 * 255 - 116.779, 1 * 255 - 123.68].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 3));
  });
  it('mean=…,std=… per channel or one value for all; grey models take one channel', () => {
    const out = through('mean=0.5,0.25,0,std=0.5,0.5,0.25', [1, 0.75, 0.5]);
    [1, 1, 2].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
    expect(through('mean=0.5,std=0.5', [0.75])[0]).toBeCloseTo(0.5, 5);
  });
  it('the layer is frozen and marked as preprocessing', () => {
    const x = tfl.input({ shape: [1, 1, 3] });
    const y = applyInputPreprocess(parseInputPreprocess('imagenet', 3), x);
    const layer = y.sourceLayer as tfl.layers.Layer;
    expect(layer.trainable).toBe(false);
    expect(isPreprocessLayer(layer)).toBe(true);
  });
  it('refuses what it cannot apply, saying what it received and what works', () => {
    expect(() => parseInputPreprocess('imagenett', 3)).toThrow(/"imagenett".*imagenet.*mean=/);
    expect(() => parseInputPreprocess('imagenet', 1)).toThrow(/3-channel.*takes 1/);
    expect(() => parseInputPreprocess('mean=0.1,0.2,std=1', 3)).toThrow(/2 mean and 3 std values/);
    expect(() => parseInputPreprocess('mean=0.5,std=0', 3)).toThrow(/> 0/);
  });
});
