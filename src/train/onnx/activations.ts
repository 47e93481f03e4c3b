// Retired from training (GraphStepper replaced the per-layer chain engine); kept only as the
// reference test/train/graph/network.test.ts compares the autodiff against. Delete with that test's reference.
import type { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import type { ChainActivation } from '../layer-chain.js';
import { applyActivation } from '../../engine/onnx/forward/activation.js';

// TF.js's SELU constants (tfjs-core selu_util), which differ from ONNX Selu's defaults in the last digits.
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA = 1.7580993408473768599402175208123;

/** h = act(z), as TF.js computes it (the inference converter's translation). */
export function activate(g: GraphBuilder, act: ChainActivation, z: string): string {
  return applyActivation(g, act, z);
}

/** dL/dz from dL/dh (`dh`), with TF.js's gradient rules (at the kinks too: relu'(0) = 0). */
export function activationGrad(g: GraphBuilder, act: ChainActivation, dh: string, z: string, h: string): string {
  const zero = g.scalar(0);
  switch (act) {
    case 'linear':
      return dh;
    case 'relu':
      return g.op('Where', [g.op('Greater', [z, zero]), dh, zero]);
    case 'relu6': {
      const inside = g.op('And', [g.op('Greater', [z, zero]), g.op('LessOrEqual', [z, g.scalar(6)])]);
      return g.op('Where', [inside, dh, zero]);
    }
    case 'elu':
      return g.op('Where', [g.op('GreaterOrEqual', [h, zero]), dh, g.op('Mul', [dh, g.op('Add', [h, g.scalar(1)])])]);
    case 'selu': {
      const neg = g.op('Mul', [g.op('Mul', [dh, g.scalar(SELU_SCALE_ALPHA)]), g.op('Exp', [z])]);
      return g.op('Where', [g.op('Greater', [z, zero]), g.op('Mul', [dh, g.scalar(SELU_SCALE)]), neg]);
    }
    case 'sigmoid':
      return g.op('Mul', [dh, g.op('Mul', [h, g.op('Sub', [g.scalar(1), h])])]);
    case 'tanh':
      return g.op('Mul', [dh, g.op('Sub', [g.scalar(1), g.op('Mul', [h, h])])]);
  }
}
