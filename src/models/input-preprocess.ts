import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { PREPROCESS_PREFIX } from './preprocess.js';

/**
 * What a model declared by the user expects of its input pixels, as graft applies it to images in
 * [0, 1]: out[c] = x[order[c]] · scale[c] + offset[c]. ONNX files carry no preprocessing, so for an
 * ONNX source the user states it (`--preprocess`); it is recorded in the run and becomes a frozen
 * layer at the front of the model, so every later use (training, predict, export) applies it once.
 */
export interface InputPreprocess {
  /** The name the user gave (`imagenet`, `tf`, …, or `mean=…,std=…`). */
  name: string;
  scale: number[];
  offset: number[];
  /** 'bgr' feeds the channels in reverse order (Caffe-trained weights). */
  order: 'rgb' | 'bgr';
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];

export const PREPROCESS_NAMES = ['imagenet', 'tf', 'caffe', 'scale', 'raw', 'mean=…,std=…'] as const;

const HELP =
  'imagenet ((x − ImageNet mean) / std, torchvision), tf (2x − 1, i.e. pixel/127.5 − 1), caffe (BGR, pixel − ImageNet mean in 0..255), ' +
  'scale (pixel/255, as graft holds images), raw (0..255), or mean=M[,M,M],std=S[,S,S] in 0..1 units (torchvision\'s convention)';

/** Parses `--preprocess`; `channels` is the model's input channel count (1 or 3). */
export function parseInputPreprocess(text: string, channels: number): InputPreprocess {
  const per = (v: number[]): number[] => (v.length === 1 ? Array<number>(channels).fill(v[0]!) : v);
  const affine = (name: string, mean: number[], std: number[], order: 'rgb' | 'bgr' = 'rgb'): InputPreprocess => {
    const m = per(mean);
    const s = per(std);
    if (m.length !== channels || s.length !== channels) {
      throw new GraftError('BAD_ARGUMENT', `--preprocess ${text} gives ${m.length} mean and ${s.length} std values for a model with ${channels} input channel${channels === 1 ? '' : 's'}. Give one value, or one per channel.`);
    }
    if (s.some((v) => !(v > 0) || !Number.isFinite(v)) || m.some((v) => !Number.isFinite(v))) {
      throw new GraftError('BAD_ARGUMENT', `--preprocess ${text}: std values must be finite and > 0 and means finite; received mean ${m.join(',')}, std ${s.join(',')}.`);
    }
    return { name, scale: s.map((v) => 1 / v), offset: m.map((v, i) => -v / s[i]!), order };
  };
  const t = text.trim().toLowerCase();
  if (t === 'imagenet') {
    if (channels !== 3) throw new GraftError('BAD_ARGUMENT', `--preprocess imagenet needs a 3-channel (RGB) model input; this model takes ${channels}. Use scale, tf, raw or mean=…,std=….`);
    return affine('imagenet', IMAGENET_MEAN, IMAGENET_STD);
  }
  if (t === 'tf') return { name: 'tf', scale: per([2]), offset: per([-1]), order: 'rgb' };
  if (t === 'scale') return { name: 'scale', scale: per([1]), offset: per([0]), order: 'rgb' };
  if (t === 'raw') return { name: 'raw', scale: per([255]), offset: per([0]), order: 'rgb' };
  if (t === 'caffe') {
    if (channels !== 3) throw new GraftError('BAD_ARGUMENT', `--preprocess caffe needs a 3-channel model input; this model takes ${channels}.`);
    return { name: 'caffe', scale: [255, 255, 255], offset: CAFFE_MEAN_BGR.map((v) => -v), order: 'bgr' };
  }
  const m = /^mean=([-0-9.e,+]+),std=([-0-9.e,+]+)(?:,(rgb|bgr))?$/.exec(t.replace(/\s+/g, ''));
  if (m) {
    const nums = (s: string): number[] => s.split(',').filter((x) => x !== '').map(Number);
    // "mean=0.5,0.5,0.5,std=0.2,0.2,0.2": the regex's groups split at "std=".
    return affine(`mean=${m[1]},std=${m[2]}`, nums(m[1]!), nums(m[2]!), (m[3] as 'rgb' | 'bgr' | undefined) ?? 'rgb');
  }
  throw new GraftError('BAD_ARGUMENT', `--preprocess ${JSON.stringify(text)} is not a preprocessing graft knows. Use ${HELP}. ONNX files do not record it: look at how the model was trained (torchvision models use imagenet).`);
}

export function describeInputPreprocess(p: InputPreprocess): string {
  const f = (v: number[]): string => v.map((x) => Number(x.toPrecision(6))).join(', ');
  return `${p.name}: x·[${f(p.scale)}] + [${f(p.offset)}] on pixels in 0..1${p.order === 'bgr' ? ', channels reversed (BGR)' : ''}`;
}

/** Whether `p` changes nothing (pixels in 0..1, RGB). */
export function isIdentityPreprocess(p: InputPreprocess): boolean {
  return p.order === 'rgb' && p.scale.every((v) => v === 1) && p.offset.every((v) => v === 0);
}

/**
 * The preprocessing as a frozen 1×1 Conv2D over [h, w, c] images (a plain layer: it exports to
 * Keras and ONNX like any other). Nothing when it is the identity.
 */
export function applyInputPreprocess(p: InputPreprocess, x: tfl.SymbolicTensor): tfl.SymbolicTensor {
  if (isIdentityPreprocess(p)) return x;
  const c = p.scale.length;
  const layer = tfl.layers.conv2d({ filters: c, kernelSize: 1, name: `${PREPROCESS_PREFIX}${p.name.replace(/[^A-Za-z0-9]+/g, '_')}`, trainable: false });
  const out = layer.apply(x) as tfl.SymbolicTensor;
  const kernel = new Float32Array(c * c);
  // kernel[0, 0, in, out]: output channel o reads input channel (order o), times scale[o].
  for (let o = 0; o < c; o++) kernel[(p.order === 'bgr' ? c - 1 - o : o) * c + o] = p.scale[o]!;
  tf.tidy(() => layer.setWeights([tf.tensor4d(kernel, [1, 1, c, c]), tf.tensor1d(p.offset)]));
  return out;
}

/** Checks the spelling of a preprocessing before the model (and its channel count) is known, as experiment files need; returns it. */
export function checkInputPreprocessText(text: string): string {
  if (/^(imagenet|tf|caffe|scale|raw)$/i.test(text.trim())) return text;
  // The mean/std form: parsed as for a 3-channel model, and for one channel when a single value is given.
  const single = /^mean=[^,]+,std=[^,]+$/i.test(text.replace(/\s+/g, ''));
  parseInputPreprocess(text, single ? 1 : 3);
  return text;
}
