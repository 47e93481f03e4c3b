import { FLOAT, INT64, type OnnxGraph } from '../../engine/onnx/model-proto.js';

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
