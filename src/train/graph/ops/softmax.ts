import { GraftError } from '../../../errors.js';
import { describeNode, intAttr, stringAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';

/** Softmax along `axis` (opset ≥ 13, default −1): dx = y ⊙ (dy − Σ_axis dy ⊙ y). */
const softmax: GradientFn = (c) => {
  const y = c.node.outputs[0]!;
  const dy = c.dy[0]!;
  const axis = intAttr(c.node, 'axis', -1);
  const dot = c.e.op('ReduceSum', [c.e.op('Mul', [dy, y]), c.e.ints([axis])], { keepdims: 1 });
  return [c.e.op('Mul', [y, c.e.op('Sub', [dy, dot])], undefined, 'dx')];
};

/** LogSoftmax along `axis`: dx = dy − exp(y) ⊙ Σ_axis dy. */
const logSoftmax: GradientFn = (c) => {
  const dy = c.dy[0]!;
  const axis = intAttr(c.node, 'axis', -1);
  const total = c.e.op('ReduceSum', [dy, c.e.ints([axis])], { keepdims: 1 });
  return [c.e.op('Sub', [dy, c.e.op('Mul', [c.e.op('Exp', [c.node.outputs[0]!]), total])], undefined, 'dx')];
};

/**
 * SoftmaxCrossEntropyLoss(scores [N, C], labels [N]) with reduction mean (default) or sum, no
 * weights, no ignore_index — the loss graft trains classifiers with:
 *   d scores = (softmax(scores) − onehot(labels)) · dL / N   (sum: without the 1/N).
 * softmax is recomputed from the scores (the node's optional log_prob output is not required).
 */
const softmaxCrossEntropy: GradientFn = (c) => {
  const [scores, labels, weights] = c.node.inputs as [string, string, string | undefined];
  const reduction = stringAttr(c.node, 'reduction', 'mean');
  if (weights || c.node.attrs?.ignore_index !== undefined || reduction === 'none' || c.facts.rank(scores) !== 2) {
    throw new GraftError(
      'BACKEND_UNAVAILABLE',
      `graft cannot differentiate ${describeNode(c.node)}: its gradient handles [N, C] scores with reduction mean or sum and no weights or ignore_index (received reduction ${reduction}, ${weights ? 'weights, ' : ''}scores of rank ${c.facts.rank(scores) ?? 'unknown'}). Build the loss with softmaxCrossEntropy() from src/train/graph/loss.ts.`,
    );
  }
  if (!c.needs[0]) return [undefined, undefined];
  const e = c.e;
  const prob = e.op('Softmax', [scores], { axis: 1 });
  const depth = e.op('Gather', [e.shape(scores), e.int(1)]);
  const onehot = e.op('OneHot', [labels, depth, e.op('Concat', [e.op('Reshape', [e.scalar(0), e.ints([1])]), e.op('Reshape', [e.scalar(1), e.ints([1])])], { axis: 0 })], { axis: -1 });
  let scale = c.dy[0]!;
  if (reduction === 'mean') scale = e.op('Div', [scale, e.op('Cast', [e.op('Gather', [e.shape(scores), e.int(0)])], { to: 1 })]);
  return [e.op('Mul', [e.op('Sub', [prob, onehot]), scale], undefined, 'dscores'), undefined];
};

export const softmaxGradients: Record<string, GradientFn> = { Softmax: softmax, LogSoftmax: logSoftmax, SoftmaxCrossEntropyLoss: softmaxCrossEntropy };
