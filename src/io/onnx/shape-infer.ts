import { BOOL, FLOAT, type OnnxGraph, type OnnxNode } from '../../engine/onnx/model-proto.js';
import { GraftError, describeValue } from '../../errors.js';
import { topoSort } from './graph-checks.js';
import { nodeLabel } from './node-read.js';
import { NN_RULES, type ShapeRule } from './shape-rules-nn.js';
import { TENSOR_RULES } from './shape-rules-tensor.js';
import { elementCount, tensorFacts, MAX_VALUE_ELEMENTS, type Dim, type Scalar, type TensorFacts } from './tensor-facts.js';
import { BINARY_OPS, COMPARISONS, binary, broadcastMap, broadcastShapes, unary } from './value-ops.js';

export type { Dim, TensorFacts } from './tensor-facts.js';

/** Options of `inferShapes`. */
export interface InferShapesOptions {
  /** Refuse an op shape inference does not cover (UNSUPPORTED_OP) instead of leaving its outputs unknown. Default false. */
  strict?: boolean;
}

/** Ops whose output has the shape and type of their first input. */
const UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Erf', 'Sqrt', 'Exp', 'Log', 'Abs', 'Neg', 'Reciprocal', 'HardSigmoid', 'HardSwish', 'Gelu', 'Identity', 'Clip', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'Not', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Sign', 'Mish', 'CumSum', 'Trilu', 'ThresholdedRelu', 'Shrink'];
/** Broadcasting ops beyond those value-ops.ts can evaluate. */
const BROADCASTING = ['Pow', 'Mod', 'PRelu', 'Sum', 'Mean', 'BitShift', 'Xor'];

const unaryRule: ShapeRule = (node, [x]) => {
  if (!x) return [undefined];
  const value = x.value?.map((v) => unary(node.op, v, x.type));
  return [value && !value.includes(undefined) ? { type: x.type, shape: x.shape, value: value as Scalar[] } : { type: x.type, shape: x.shape }];
};

/** Multidirectional broadcasting; small known operands are evaluated (value-ops.ts). */
const broadcastRule: ShapeRule = (node, ins) => {
  const present = ins.filter((f): f is TensorFacts => f !== undefined);
  const where = node.op === 'Where';
  const type = COMPARISONS.has(node.op) ? BOOL : ((where ? ins[1]?.type : ins[0]?.type) ?? FLOAT);
  const shape = present.length === ins.length ? broadcastShapes(present.map((f) => f.shape)) : null;
  const n = elementCount(shape);
  const dims = (f: TensorFacts): number[] | undefined => (f.shape?.every((d): d is number => typeof d === 'number') ? f.shape : undefined);
  const evaluable = (where || BINARY_OPS.has(node.op)) && n !== null && n <= MAX_VALUE_ELEMENTS && present.length === ins.length && present.every((f) => f.value && dims(f));
  if (!evaluable) return [{ type, shape }];
  const inType = where ? type : (ins[0]?.type ?? FLOAT);
  const value = broadcastMap(present.map((f) => ({ shape: dims(f)!, value: f.value! })), shape as number[], (xs) => {
    if (where) return typeof xs[0] === 'number' ? (xs[0] ? xs[1]! : xs[2]!) : null;
    return binary(node.op, xs[0]!, xs[1]!, inType, type);
  });
  return [{ type, shape, value }];
};

const RULES: Readonly<Record<string, ShapeRule>> = {
  ...NN_RULES,
  ...TENSOR_RULES,
  ...Object.fromEntries(UNARY.map((op) => [op, unaryRule])),
  ...Object.fromEntries([...BINARY_OPS, ...BROADCASTING, 'Where'].map((op) => [op, broadcastRule])),
};

/** The ops `inferShapes` knows (default ONNX domain). */
export const SHAPE_OPS: readonly string[] = Object.keys(RULES).sort();

/**
 * The type and shape of every tensor of a graph for fixed input shapes, the batch dimension kept
 * symbolic as 'N'; small tensors computable before run time (shapes, axes, indices) also carry
 * their `value`. `inputs` maps graph input names to their shapes (inputs not named keep the
 * shape the file declares, a named dimension read as 'N'). An op the rules do not cover leaves
 * its outputs with `shape: null`, and everything computed from them, unless `strict`.
 */
export function inferShapes(graph: OnnxGraph, inputs: Record<string, Array<number | 'N'>>, options: InferShapesOptions = {}): Map<string, TensorFacts> {
  const facts = new Map<string, TensorFacts>();
  for (const t of graph.initializers) facts.set(t.name, tensorFacts(t));
  for (const v of graph.inputs) {
    if (facts.has(v.name) && !(v.name in inputs)) continue;
    const given = inputs[v.name];
    const shape: Dim[] | null = given ? [...given] : (v.shape?.map((d) => (typeof d === 'string' ? 'N' : d)) ?? null);
    facts.set(v.name, { type: v.type ?? FLOAT, shape });
  }
  for (const name of Object.keys(inputs)) {
    if (!graph.inputs.some((v) => v.name === name)) {
      throw new GraftError('BAD_ARGUMENT', `inferShapes: ${describeValue(name)} is no input of the graph (received shapes for ${describeValue(Object.keys(inputs))}). Name one of its inputs: ${graph.inputs.map((v) => v.name).join(', ')}.`);
    }
  }
  topoSort(graph).forEach((node, i) => {
    const rule = node.domain ? undefined : RULES[node.op];
    if (!rule && options.strict) throw unsupported(node, i);
    const ins = node.inputs.map((name) => (name === '' ? undefined : facts.get(name)));
    const outs = rule ? rule(node, ins) : [];
    node.outputs.forEach((name, k) => {
      if (name !== '') facts.set(name, outs[k] ?? { type: ins[0]?.type ?? FLOAT, shape: null });
    });
  });
  return facts;
}

function unsupported(node: OnnxNode, index: number): GraftError {
  const op = node.domain ? `${node.domain}.${node.op}` : node.op;
  return new GraftError('UNSUPPORTED_OP', `Shape inference does not know the op ${describeValue(op)} of ${nodeLabel(node, index)}. Known ops: ${SHAPE_OPS.join(', ')}. Call inferShapes without { strict: true } to leave its outputs' shapes unknown.`);
}
