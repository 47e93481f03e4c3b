import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraphBuilder } from '../graph-builder.js';
import { unsupported } from './unsupported.js';

/**
 * A tensor of the graph being built. `shape` is one sample's shape as TF.js sees it (NHWC); the
 * ONNX value itself is channels-first for images ([n, C, H, W]) and [n, units] for vectors.
 */
export interface Value {
  name: string;
  shape: number[];
}

/** Emits the ONNX nodes of one layer call and returns the name of its output value. */
export type LayerEmitter = (ctx: ForwardContext, layer: tfl.layers.Layer, inputs: Value[], outShape: number[]) => string;

export class ForwardContext {
  readonly g = new GraphBuilder();
  private weights = 0;

  /** A float32 initializer (a layer's weights, rearranged as needed). */
  weight(data: Float32Array, dims: number[], hint: string): string {
    const name = `${hint}_${this.weights++}`;
    this.g.graph.initializers.push({ name, dims, data });
    return name;
  }
}

/** The layer's config (camelCase keys, as TF.js's getConfig gives them). */
export function configOf(layer: tfl.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

/** Image layers must be channels-last: graft feeds NHWC and the converter assumes it. */
export function channelsLast(layer: tfl.layers.Layer): Record<string, unknown> {
  const c = configOf(layer);
  const f = c.dataFormat;
  if (f !== undefined && f !== null && f !== 'channelsLast' && f !== 'channels_last') unsupported(`data format ${JSON.stringify(f)}`);
  return c;
}

/** A weight the layer holds as a property (kernel, bias, gamma, …), or undefined when it has none. */
export function variable(layer: tfl.layers.Layer, prop: string): { data: Float32Array; shape: number[] } | undefined {
  const v = (layer as unknown as Record<string, { read(): tf.Tensor } | null | undefined>)[prop];
  if (!v) return undefined;
  const t = v.read();
  if (t.dtype !== 'float32') unsupported(`${prop} of type ${t.dtype}`);
  return { data: t.dataSync() as Float32Array, shape: t.shape };
}

export function requireVariable(layer: tfl.layers.Layer, prop: string): { data: Float32Array; shape: number[] } {
  return variable(layer, prop) ?? unsupported(`no ${prop} weight (is the layer built?)`);
}

/** One input of image rank ([h, w, c]). */
export function image(v: Value): [number, number, number] {
  if (v.shape.length !== 3) unsupported(`input of shape [${v.shape.join(', ')}] (an image [height, width, channels] was expected)`);
  return v.shape as [number, number, number];
}

/** An NHWC axis of a sample's tensor (negative counts from the end) as its ONNX axis. */
export function onnxAxis(axis: unknown, sampleRank: number): number {
  const rank = sampleRank + 1;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) return unsupported(`axis ${JSON.stringify(axis)}`);
  const a = axis < 0 ? axis + rank : axis;
  if (a === 0) return unsupported('an operation over the batch axis');
  if (rank !== 4) return a;
  // NHWC → NCHW: H 1 → 2, W 2 → 3, C 3 → 1.
  return a === 3 ? 1 : a + 1;
}
