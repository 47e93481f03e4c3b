import { FLOAT, tensorDataType, type OnnxGraph, type OnnxInitializer } from '../../engine/onnx/model-proto.js';

/**
 * What each initializer of an imported graph is to graft: a parameter (trainable weight), state (a
 * weight that is not trained: BatchNorm's running statistics, large fixed tensors) or a constant
 * (shapes, indices, scalars: carried in the model description). ONNX records no requires_grad, so
 * this reads it from where the tensor is used — the inputs PyTorch's modules feed their
 * parameters to: Conv/ConvTranspose/Gemm weights and biases, a MatMul's matrix, normalisation
 * scales and shifts, embedding tables (Gather's data), PRelu slopes, and non-scalar tensors added
 * or multiplied in (a Linear's bias after MatMul, layer scales). Scalars are constants.
 */
export type InitializerRole = 'parameter' | 'state' | 'constant';

/** Fixed float tensors at most this big travel as constants in the model description; larger ones as state. */
const CONSTANT_FLOATS = 1024;

/** Inputs of these ops that hold parameters, by input index. */
const PARAMETER_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
  LayerNormalization: [1, 2],
  InstanceNormalization: [1, 2],
  GroupNormalization: [1, 2],
  PRelu: [1],
  Gather: [0],
  Add: [0, 1],
  Sub: [0, 1],
  Mul: [0, 1],
  Div: [0, 1],
};
/** BatchNorm's running mean and variance: updated by training-mode BN, never by the optimizer. */
const STATE_INPUTS: Readonly<Record<string, readonly number[]>> = { BatchNormalization: [3, 4] };

export function initializerRoles(graph: OnnxGraph): Map<string, InitializerRole> {
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const roles = new Map<string, InitializerRole>();
  const mark = (name: string, role: InitializerRole): void => {
    const prev = roles.get(name);
    if (prev === 'parameter' || (prev === 'state' && role === 'constant')) return;
    roles.set(name, role);
  };
  for (const n of graph.nodes) {
    n.inputs.forEach((name, i) => {
      const t = inits.get(name);
      if (!t) return;
      if (tensorDataType(t) !== FLOAT) return mark(name, 'constant');
      if (PARAMETER_INPUTS[n.op]?.includes(i) && isParameterShaped(n.op, t)) return mark(name, 'parameter');
      if (STATE_INPUTS[n.op]?.includes(i)) return mark(name, 'state');
      mark(name, t.data.length > CONSTANT_FLOATS ? 'state' : 'constant');
    });
  }
  return roles;
}

function isParameterShaped(op: string, t: OnnxInitializer): boolean {
  const elements = t.data.length;
  if (op === 'MatMul') return t.dims.length >= 2;
  if (op === 'Add' || op === 'Sub' || op === 'Mul' || op === 'Div') return elements > 1;
  return true;
}
