import type * as tf from '@tensorflow/tfjs-core';
import type { OnnxNode } from '../model-proto.js';
import type { TfWeightCache } from './weight-cache.js';

/** What an op may need besides its node and inputs. */
export interface TfOpContext {
  /** The default-domain opset the graph was exported at (Softmax's axis meaning changed at 13). */
  opset: number;
  /** For a channels-last variant (layout.ts): which inputs the runner passes as NHWC. */
  channelsLast?: readonly boolean[];
  /** Where rearranged weights are kept between runs (inference only), when the caller gave one. */
  weights?: TfWeightCache;
}

/**
 * One ONNX op on TF.js: its inputs in the node's order (undefined for an omitted optional input),
 * its outputs in the node's order (undefined for an optional output it does not compute). Built
 * from tf-core ops only, so tf's autodiff differentiates it.
 */
export type TfOpFn = (node: OnnxNode, inputs: ReadonlyArray<tf.Tensor | undefined>, ctx: TfOpContext) => Array<tf.Tensor | undefined>;
