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
  /** The opset the graph will be encoded with (ReduceMean takes its axes as an input from 18). Default 17. */
  opset?: number;
}

/** The names of a training BatchNorm's batch statistics: batchNormTraining writes them, its gradient (ops/batchnorm.ts) reads them. */
export interface BatchStatistics {
  /** Per channel [C]: the batch mean and biased variance the node normalises by. */
  mean: string;
  variance: string;
  /** x − mean as [N, C, rest], and the variance as [1, C, 1]. */
  centered: string;
  variance3: string;
}

export function batchStatistics(runningMean: string): BatchStatistics {
  const t = (s: string): string => `${runningMean}.batch_${s}`;
  return { mean: t('mean'), variance: t('var'), centered: t('centered'), variance3: t('var3') };
}

/** The batch statistics a BatchNormalization node normalises by, when batchNormTraining wrote it. */
export function batchStatisticsOf(node: OnnxNode): BatchStatistics | undefined {
  const mean = node.inputs[3] ?? '';
  if (node.op !== 'BatchNormalization' || !mean.endsWith('.batch_mean')) return undefined;
  const s = batchStatistics(mean.slice(0, -'.batch_mean'.length));
  return node.inputs[4] === s.variance ? s : undefined;
}

/**
 * Puts BatchNormalization nodes in training mode, as PyTorch's `model.train()` and Keras's
 * `training=True` do: normalised by the batch's statistics, the running averages updated,
 * running = running·momentum + batch·(1 − momentum). The updated averages become graph outputs
 * named `NAME.new` (so the caller feeds them back next step); the gradient (ops/batchnorm.ts)
 * follows the batch statistics.
 *
 * The statistics are computed by their own nodes (x viewed as [N, C, rest]: mean, x − mean, the
 * mean of its square, as TF.js's moments) and the node itself runs in inference mode on them, so
 * the gradient reuses x − mean and the variance instead of computing them again: onnxruntime's
 * training-mode node outputs only the running averages (bench/RESULTS.md).
 */
export function batchNormTraining(graph: OnnxGraph, o: BatchNormTrainingOptions = {}): { graph: OnnxGraph; running: RunningStatistics[] } {
  const running: RunningStatistics[] = [];
  const outputs = [...graph.outputs];
  const inits: OnnxInitializer[] = [];
  const opset = o.opset ?? 17;
  const nodes = graph.nodes.flatMap((n): OnnxNode[] => {
    if (n.op !== 'BatchNormalization' || !(o.select?.(n) ?? true)) return [n];
    const [x, gamma, beta, mean, variance] = n.inputs as [string, string, string, string, string];
    const momentum = o.momentum ?? floatAttr(n, 'momentum', 0.9);
    const stats = { mean, variance, newMean: `${mean}.new`, newVariance: `${variance}.new` };
    running.push(stats);
    outputs.push({ name: stats.newMean }, { name: stats.newVariance });
    const batch = batchStatistics(mean);
    const t = (s: string): string => `${mean}.batch_${s}`;
    const made = new Set<string>();
    // A constant of this node's, made once: int64 vectors (shapes, axes) and float scalars.
    const constant = (name: string, data: Float32Array | BigInt64Array): string => {
      if (!made.has(name)) inits.push({ name: t(name), dims: data instanceof BigInt64Array ? [data.length] : [], data });
      made.add(name);
      return t(name);
    };
    const axes = [0, 2];
    const reduceMean = (input: string, output: string): OnnxNode =>
      opset >= 18 ? { op: 'ReduceMean', inputs: [input, constant('axes', BigInt64Array.from(axes.map(BigInt)))], outputs: [output], attrs: { keepdims: 1 } } : { op: 'ReduceMean', inputs: [input], outputs: [output], attrs: { axes, keepdims: 1 } };
    const out: OnnxNode[] = [
      { op: 'Reshape', inputs: [x, constant('shape3', BigInt64Array.of(0n, 0n, -1n))], outputs: [t('x3')] },
      reduceMean(t('x3'), t('mean3')),
      { op: 'Sub', inputs: [t('x3'), t('mean3')], outputs: [batch.centered] },
      { op: 'Mul', inputs: [batch.centered, batch.centered], outputs: [t('squares')] },
      reduceMean(t('squares'), batch.variance3),
      { op: 'Reshape', inputs: [t('mean3'), constant('flat', BigInt64Array.of(-1n))], outputs: [batch.mean] },
      { op: 'Reshape', inputs: [batch.variance3, constant('flat', BigInt64Array.of(-1n))], outputs: [batch.variance] },
      { op: 'BatchNormalization', inputs: [x, gamma, beta, batch.mean, batch.variance], outputs: [n.outputs[0]!], attrs: { epsilon: { float: floatAttr(n, 'epsilon', 1e-5) } } },
    ];
    let averaged = batch.variance;
    if (o.variance === 'unbiased') {
      // PyTorch averages the unbiased variance: × M/(M − 1), M the values per channel.
      out.push(
        { op: 'Size', inputs: [t('x3')], outputs: [t('size')] },
        { op: 'Shape', inputs: [batch.mean], outputs: [t('channels')] },
        { op: 'Div', inputs: [t('size'), t('channels')], outputs: [t('count_i')] },
        { op: 'Cast', inputs: [t('count_i')], outputs: [t('count')], attrs: { to: 1 } },
        { op: 'Sub', inputs: [t('count'), constant('one', Float32Array.of(1))], outputs: [t('count_less_1')] },
        { op: 'Div', inputs: [t('count'), t('count_less_1')], outputs: [t('bessel')] },
        { op: 'Mul', inputs: [batch.variance, t('bessel')], outputs: [t('unbiased')] },
      );
      averaged = t('unbiased');
    }
    const average = (old: string, batchValue: string, into: string, key: string): OnnxNode[] => [
      { op: 'Mul', inputs: [old, constant('momentum', Float32Array.of(momentum))], outputs: [t(`${key}_kept`)] },
      { op: 'Mul', inputs: [batchValue, constant('rest', Float32Array.of(1 - momentum))], outputs: [t(`${key}_added`)] },
      { op: 'Add', inputs: [t(`${key}_kept`), t(`${key}_added`)], outputs: [into] },
    ];
    return [...out, ...average(mean, batch.mean, stats.newMean, 'mean'), ...average(variance, averaged, stats.newVariance, 'var')];
  });
  return { graph: { ...graph, nodes, outputs, initializers: [...graph.initializers, ...inits] }, running };
}
