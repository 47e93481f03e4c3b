import type { OnnxGraph, OnnxInitializer, OnnxNode } from '../../engine/onnx/model-proto.js';
import { floatAttr } from './attrs.js';

export interface RunningStatistics {
  /** The BatchNormalization node's running-mean and running-variance initializers… */
  mean: string;
  variance: string;
  /** …and the graph outputs holding their values after this batch. */
  newMean: string;
  newVariance: string;
}

export interface BatchNormTrainingOptions {
  /** Which BatchNormalization nodes train (default all; a frozen BatchNorm stays in inference mode). */
  select?: (node: OnnxNode) => boolean;
  /** Overrides each node's momentum (ONNX's: the running value's weight, default 0.9; PyTorch's 0.1 is 0.9 here). */
  momentum?: number;
  /**
   * The batch variance the running variance averages: 'biased' (ONNX's and TF/Keras's, the
   * default) or 'unbiased' (PyTorch's: × N/(N − 1), N the values per channel).
   */
  variance?: 'biased' | 'unbiased';
}

/**
 * Puts BatchNormalization nodes in training mode, as PyTorch's `model.train()` and Keras's
 * `training=True` do: normalised by the batch's statistics, the running averages updated,
 * running = running·momentum + batch·(1 − momentum). The updated averages become graph outputs
 * named `NAME.new` (so the caller feeds them back next step); the gradient (ops/batchnorm.ts)
 * follows the batch statistics.
 */
export function batchNormTraining(graph: OnnxGraph, o: BatchNormTrainingOptions = {}): { graph: OnnxGraph; running: RunningStatistics[] } {
  const running: RunningStatistics[] = [];
  const outputs = [...graph.outputs];
  const extraNodes: OnnxNode[] = [];
  const extraInits: OnnxInitializer[] = [];
  const nodes = graph.nodes.map((n) => {
    if (n.op !== 'BatchNormalization' || !(o.select?.(n) ?? true)) return n;
    const [x, , , mean, variance] = n.inputs as [string, string, string, string, string];
    const momentum = o.momentum ?? floatAttr(n, 'momentum', 0.9);
    const stats = { mean, variance, newMean: `${mean}.new`, newVariance: `${variance}.new` };
    running.push(stats);
    outputs.push({ name: stats.newMean }, { name: stats.newVariance });
    let varOut = stats.newVariance;
    if (o.variance === 'unbiased') {
      // ONNX gives m·v + (1 − m)·b with b biased; the unbiased average adds (1 − m)·b/(N − 1) = (that − m·v)/(N − 1).
      const t = (s: string): string => `${stats.newVariance}/${s}`;
      varOut = t('biased');
      extraInits.push({ name: t('channel_axis'), dims: [], data: BigInt64Array.of(1n) }, { name: t('one'), dims: [], data: Float32Array.of(1) }, { name: t('momentum'), dims: [], data: Float32Array.of(momentum) });
      extraNodes.push(
        { op: 'Size', inputs: [x], outputs: [t('size')] },
        { op: 'Shape', inputs: [x], outputs: [t('shape')] },
        { op: 'Gather', inputs: [t('shape'), t('channel_axis')], outputs: [t('channels')] },
        { op: 'Div', inputs: [t('size'), t('channels')], outputs: [t('count')] },
        { op: 'Cast', inputs: [t('count')], outputs: [t('n')], attrs: { to: 1 } },
        { op: 'Sub', inputs: [t('n'), t('one')], outputs: [t('n_minus_1')] },
        { op: 'Mul', inputs: [variance, t('momentum')], outputs: [t('kept')] },
        { op: 'Sub', inputs: [varOut, t('kept')], outputs: [t('batch_share')] },
        { op: 'Div', inputs: [t('batch_share'), t('n_minus_1')], outputs: [t('correction')] },
        { op: 'Add', inputs: [varOut, t('correction')], outputs: [stats.newVariance] },
      );
    }
    return { ...n, attrs: { ...n.attrs, training_mode: 1, momentum: { float: momentum } }, outputs: [n.outputs[0]!, stats.newMean, varOut] };
  });
  return { graph: { ...graph, nodes: [...nodes, ...extraNodes], outputs, initializers: [...graph.initializers, ...extraInits] }, running };
}
