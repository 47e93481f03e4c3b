import type { GradientFn } from './gradient.js';
import { activationGradients } from './ops/activations.js';
import { batchNormGradients } from './ops/batchnorm.js';
import { convGradients } from './ops/conv.js';
import { elementwiseGradients } from './ops/elementwise.js';
import { gatherGradients } from './ops/gather.js';
import { layerNormGradients } from './ops/layernorm.js';
import { matmulGradients } from './ops/matmul.js';
import { poolGradients } from './ops/pool.js';
import { reduceGradients } from './ops/reduce.js';
import { shapeGradients } from './ops/shape.js';
import { softmaxGradients } from './ops/softmax.js';

/**
 * The gradient of each ONNX op (default domain) by op type — graft's counterpart of PyTorch's
 * derivatives.yaml and onnxruntime's gradient builder registry. An op missing here can still sit
 * in a frozen part of the graph; on a path to a trainable it is refused by name (autodiff.ts).
 */
export const GRADIENTS: ReadonlyMap<string, GradientFn> = new Map(
  Object.entries({
    ...elementwiseGradients,
    ...activationGradients,
    ...matmulGradients,
    ...softmaxGradients,
    ...shapeGradients,
    ...convGradients,
    ...poolGradients,
    ...reduceGradients,
    ...batchNormGradients,
    ...layerNormGradients,
    ...gatherGradients,
  }),
);

/**
 * Ops whose outputs carry no gradient at all (shapes, comparisons, indices): a trainable reaching
 * them stops there instead of asking for a gradient.
 */
export const NOT_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual',
  'Not', 'And', 'Or', 'ArgMax', 'ArgMin', 'NonZero', 'OneHot',
]);

/** The op types with a gradient, sorted, for messages. */
export function differentiableOps(): string[] {
  return [...GRADIENTS.keys()].sort();
}
