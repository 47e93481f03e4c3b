import { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import { encodeOnnxModel, FLOAT, type OnnxGraph } from '../../engine/onnx/model-proto.js';
import type { TrainingForward } from '../../engine/onnx/forward/forward-graph.js';
import { buildGradientGraph } from '../graph/autodiff.js';
import { dropIdentities } from '../graph/identities.js';
import { batchNormTraining } from '../graph/batchnorm-training.js';
import { simplifyForTraining } from '../graph/simplify.js';
import type { ResolvedOptimizer } from '../optimizer.js';
import { update } from './optimizer-graph.js';

/** One layer's trained variables (ONNX names, TF.js getWeights() order). */
export interface TrainedGroup {
  variables: string[];
  /** Not built in: the group's rate is the graph's scalar input `lr_G`, fed every step (rateInput). */
  rate?: number;
}

/** The step graph's input holding group `gi`'s learning rate (a float32 scalar). */
export const rateInput = (gi: number): string => `lr_${gi}`;

export interface StepGraphSpec {
  forward: TrainingForward;
  /** Per layer that trains: its variables. Its rate (`lr_G`) and Adam's bias-correction inputs (`oma1_G`) are inputs per group. */
  groups: readonly TrainedGroup[];
  optimizer: ResolvedOptimizer;
  /**
   * The update runs outside the graph (update-kernel.ts): no optimizer nodes, no slot or rate
   * inputs, and each trained variable's gradient is an output `grad.NAME`. Default false.
   */
  gradientsOut?: boolean;
}

export interface StepGraph {
  graph: OnnxGraph;
  bytes: Uint8Array;
  /** The graph's inputs besides x, y, sample_scale, masks and optimizer inputs: the variables it reads. */
  variableInputs: string[];
  /** Variables whose new value is an output `new_NAME` (trained; with `gradientsOut`, their gradient `grad.NAME` instead) or `NAME.new` (BatchNorm moving statistics). */
  trained: string[];
  movingStatistics: string[];
}

/**
 * One training step as an ONNX graph, from the model's training form: BatchNorm in training mode
 * (train/graph/batchnorm-training.ts), the cross-entropy from logits weighted per sample
 * (each sample's factor is 1/n, or w_i/n with class weights: Keras's sum(w_i · loss_i)/n; see
 * lossPart for its inputs), the backward from train/graph's autodiff, and the optimizer update with
 * TF.js's formulas (optimizer-graph.ts), each layer's rate an input so a schedule can change it. Weights and slots come in; new weights and slots go out;
 * every TF.js variable is an input (none baked in), so the session stays right when other code
 * changes the model's weights between steps.
 */
export function buildStepGraph(spec: StepGraphSpec): StepGraph {
  const { forward } = spec;
  const bnNames = new Set(forward.batchNorms.map((b) => b.mean));
  let graph: OnnxGraph = forward.graph;
  // Each node keeps Keras's momentum, which the translator wrote as its attribute.
  if (bnNames.size > 0) graph = batchNormTraining(graph, { select: (n) => bnNames.has(n.inputs[3] ?? ''), opset: forward.opset }).graph;
  graph = merge(simplifyForTraining(graph), lossPart(forward.units), 'loss/');
  const trainable = spec.groups.flatMap((gr) => gr.variables);
  const { graph: withGrads, gradients } = buildGradientGraph(graph, { loss: 'loss', trainable, gradientName: (p) => `grad.${p}`, opset: forward.opset });
  const dims = new Map(forward.graph.initializers.map((t) => [t.name, t.dims]));
  const opt = new GraphBuilder();
  if (!spec.gradientsOut) {
    spec.groups.forEach((gr, gi) => {
      for (const v of gr.variables) update(opt, v, dims.get(v)!, `grad.${v}`, rateInput(gi), spec.optimizer, gi);
    });
  }
  const merged = merge(withGrads, opt.graph, 'opt/');
  const gradOutputs = new Set(spec.gradientsOut ? [] : gradients.map((g) => g.output));
  merged.outputs = merged.outputs.filter((o) => !gradOutputs.has(o.name) && o.name !== 'loss');
  // New weights and slots come straight from the optimizer's nodes, not copied once more.
  const step = dropIdentities(merged);
  // The remaining variables (frozen weights, moving statistics) come in as inputs too.
  const variables = new Set(forward.variables.map((v) => v.name));
  const kept = step.initializers.filter((t) => variables.has(t.name));
  step.initializers = step.initializers.filter((t) => !variables.has(t.name));
  step.inputs.push(...kept.map((t) => ({ name: t.name, type: FLOAT, shape: t.dims })));
  const inputs = new Set(step.inputs.map((i) => i.name));
  return {
    graph: step,
    bytes: encodeOnnxModel({ irVersion: forward.irVersion, producerName: 'graft', opsets: [{ domain: '', version: forward.opset }], graphName: 'graft_train_step', graph: step }),
    variableInputs: forward.variables.map((v) => v.name).filter((n) => inputs.has(n)),
    trained: trainable,
    movingStatistics: forward.batchNorms.flatMap((b) => [b.mean, b.variance]),
  };
}

/**
 * The batch's weighted cross-entropy from `logits`. Softmax: Σ minus_target·logsoftmax(z), with
 * `minus_target` [n, units] the target distribution already scaled by each sample's factor and
 * negated (−w_i/n at the label; with label smoothing ε, −w_i/n·((1 − ε)·onehot + ε/K)), so neither
 * costs a node. One unit: Σ sample_scale·(max(z, 0) − z·y + ln(1 + e^−|z|)), TF's
 * overflow-free form (as Wheres on z ≥ 0, whose derivatives add up to σ(z) − y at 0 too), with
 * `y` [n, 1] the target (0 or 1, or y·(1 − ε) + ε/2 smoothed) and `sample_scale` [n, 1]. The
 * stepper fills these inputs (graph-stepper.ts), so smoothing changes no graph.
 */
function lossPart(units: number): OnnxGraph {
  const g = new GraphBuilder();
  let sum: string;
  if (units === 1) {
    const y = g.input('y', ['n', 1]);
    const scale = g.input('sample_scale', ['n', 1]);
    const nonneg = g.op('GreaterOrEqual', ['logits', g.scalar(0)]);
    const relu = g.op('Where', [nonneg, 'logits', g.scalar(0)]);
    const negAbs = g.op('Where', [nonneg, g.op('Neg', ['logits']), 'logits']);
    const perSample = g.op('Add', [g.op('Sub', [relu, g.op('Mul', ['logits', y])]), g.op('Softplus', [negAbs])]);
    sum = g.op('Mul', [perSample, scale]);
  } else {
    sum = g.op('Mul', [g.input('minus_target', ['n', units]), g.op('LogSoftmax', ['logits'], { axis: 1 })]);
  }
  g.graph.nodes.push({ op: 'ReduceSum', inputs: [sum], outputs: ['loss'], attrs: { keepdims: 0 } });
  g.graph.outputs.push({ name: 'loss', type: FLOAT, shape: [] });
  return g.graph;
}

/**
 * `part` appended to `main`. Names made inside `part` (its nodes' outputs other than its graph
 * outputs, and its constants) get `prefix`, so they cannot collide with main's; its declared
 * inputs, outputs and the main-graph tensors it reads keep their names.
 */
function merge(main: OnnxGraph, part: OnnxGraph, prefix: string): OnnxGraph {
  const outputs = new Set(part.outputs.map((o) => o.name));
  const own = new Set([...part.nodes.flatMap((n) => n.outputs).filter((o) => !outputs.has(o)), ...part.initializers.map((t) => t.name)]);
  const rename = (n: string): string => (own.has(n) ? `${prefix}${n}` : n);
  return {
    nodes: [...main.nodes, ...part.nodes.map((n) => ({ ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) }))],
    inputs: [...main.inputs, ...part.inputs],
    outputs: [...main.outputs, ...part.outputs],
    initializers: [...main.initializers, ...part.initializers.map((t) => ({ ...t, name: rename(t.name) }))],
    ...(main.valueInfo ? { valueInfo: main.valueInfo } : {}),
  };
}
