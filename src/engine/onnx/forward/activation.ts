import type { GraphBuilder } from '../graph-builder.js';
import { unsupported } from './unsupported.js';

// TF.js's SELU constants (tfjs-core selu_util): scale, and scale × alpha.
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA = 1.7580993408473768599402175208123;

/** TF.js activation names (Activation.getClassName()) this file translates. */
export const FORWARD_ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign',
  'softmax', 'logSoftmax', 'swish', 'mish', 'gelu', 'gelu_new',
] as const;

/**
 * `act(z)` as TF.js computes it. Softmax and logSoftmax run over the last NHWC axis, which is
 * axis 1 in graft's ONNX layout (channels first for images, [n, units] for vectors).
 */
export function applyActivation(g: GraphBuilder, act: string, z: string): string {
  switch (act) {
    case 'linear':
      return z;
    case 'relu':
      return g.op('Relu', [z]);
    case 'relu6':
      return g.op('Clip', [z, g.scalar(0), g.scalar(6)]);
    case 'elu':
      return g.op('Elu', [z], { alpha: { float: 1 } });
    case 'selu':
      return g.op('Selu', [z], { alpha: { float: SELU_SCALE_ALPHA / SELU_SCALE }, gamma: { float: SELU_SCALE } });
    case 'sigmoid':
      return g.op('Sigmoid', [z]);
    case 'hardSigmoid':
      // K.hardSigmoid: clip(0.2x + 0.5, 0, 1).
      return g.op('HardSigmoid', [z], { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case 'tanh':
      return g.op('Tanh', [z]);
    case 'softplus':
      return g.op('Softplus', [z]);
    case 'softsign':
      return g.op('Softsign', [z]);
    case 'softmax':
      return g.op('Softmax', [z], { axis: 1 });
    case 'logSoftmax':
      return g.op('LogSoftmax', [z], { axis: 1 });
    case 'swish':
      return g.op('Mul', [z, g.op('Sigmoid', [z])]);
    case 'mish':
      // Opset 17 has no Mish op (it came in 18).
      return g.op('Mul', [z, g.op('Tanh', [g.op('Softplus', [z])])]);
    case 'gelu':
      // x · Φ(x) with the exact normal CDF, as TF.js's 'gelu'.
      return g.op('Mul', [z, g.op('Mul', [g.op('Add', [g.op('Erf', [g.op('Div', [z, g.scalar(Math.SQRT2)])]), g.scalar(1)]), g.scalar(0.5)])]);
    case 'gelu_new': {
      // The tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
      const cube = g.op('Mul', [z, g.op('Mul', [z, z])]);
      const inner = g.op('Mul', [g.op('Add', [z, g.op('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
      return g.op('Mul', [g.op('Mul', [z, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
    }
    default:
      return unsupported(`activation "${act}"`);
  }
}
