import { FLOAT, INT64, type OnnxGraph, type OnnxNode } from '../../engine/onnx/model-proto.js';

/**
 * Adds the loss graft trains classifiers with: mean softmax cross-entropy of `logits` [N, C]
 * against int64 class labels [N] (a new graph input, `labels`), as one SoftmaxCrossEntropyLoss
 * node whose gradient is (softmax − onehot)/N (ops/softmax.ts). Returns a new graph whose first
 * output is the scalar `loss`; the forward graph is not changed.
 */
export function softmaxCrossEntropy(forward: OnnxGraph, logits: string, o: { labels?: string; loss?: string } = {}): OnnxGraph {
  const labels = o.labels ?? 'labels';
  const loss = o.loss ?? 'loss';
  return {
    ...forward,
    nodes: [...forward.nodes, { op: 'SoftmaxCrossEntropyLoss', inputs: [logits, labels], outputs: [loss], attrs: { reduction: { string: 'mean' } }, name: 'graft/loss' }],
    inputs: [...forward.inputs, { name: labels, type: INT64, shape: ['n'] }],
    outputs: [{ name: loss, type: FLOAT, shape: [] }, ...forward.outputs],
  };
}

/**
 * Mean sigmoid cross-entropy of one-unit `logits` [N, 1] against float labels (0 or 1) [N, 1] (a
 * new graph input, `labels`) — graft's binary heads — in the overflow-free form TF uses:
 * max(z, 0) − z·y + ln(1 + e^−|z|). Built from plain ops, so its gradient, (σ(z) − y)/N, comes
 * from theirs. Returns a new graph whose first output is the scalar `loss`.
 */
export function sigmoidCrossEntropy(forward: OnnxGraph, logits: string, o: { labels?: string; loss?: string } = {}): OnnxGraph {
  const labels = o.labels ?? 'labels';
  const loss = o.loss ?? 'loss';
  const t = (name: string): string => `graft/loss/${name}`;
  // max(z, 0) and −|z| as Wheres on z ≥ 0, as TF writes them: at z = 0 their derivatives (1 and −1)
  // then add up to the true σ(0) − y, where Relu's and Abs's subgradients (0 and 0) would not.
  const nodes: OnnxNode[] = [
    { op: 'GreaterOrEqual', inputs: [logits, t('zero')], outputs: [t('nonneg')] },
    { op: 'Where', inputs: [t('nonneg'), logits, t('zero')], outputs: [t('relu')] },
    { op: 'Mul', inputs: [logits, labels], outputs: [t('zy')] },
    { op: 'Neg', inputs: [logits], outputs: [t('minus')] },
    { op: 'Where', inputs: [t('nonneg'), t('minus'), logits], outputs: [t('neg')] },
    { op: 'Softplus', inputs: [t('neg')], outputs: [t('softplus')] },
    { op: 'Sub', inputs: [t('relu'), t('zy')], outputs: [t('margin')] },
    { op: 'Add', inputs: [t('margin'), t('softplus')], outputs: [t('per_sample')] },
    { op: 'ReduceMean', inputs: [t('per_sample')], outputs: [loss], attrs: { keepdims: 0 } },
  ];
  return {
    ...forward,
    nodes: [...forward.nodes, ...nodes],
    initializers: [...forward.initializers, { name: t('zero'), dims: [], data: Float32Array.of(0) }],
    inputs: [...forward.inputs, { name: labels, type: FLOAT, shape: ['n', 1] }],
    outputs: [{ name: loss, type: FLOAT, shape: [] }, ...forward.outputs],
  };
}
