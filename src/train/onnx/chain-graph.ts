// Retired from training (GraphStepper replaced the per-layer chain engine); kept only as the
// reference test/train/graph/network.test.ts compares the autodiff against. Delete with that test's reference.
import { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import { encodeModel } from '../../engine/onnx/model-proto.js';
import { isWeighted, weightShapes, type LayerChain, type LayerStep } from '../layer-chain.js';
import type { OptimizerSpec } from '../optimizer.js';
import { activate, activationGrad } from './activations.js';
import { update } from './optimizer-graph.js';
import { bn, conv, plain, pointwiseConv, type Backward, type Layout } from './chain-layers.js';

export { drops } from './chain-layers.js';

export interface ChainGraphSpec {
  chain: LayerChain;
  /** Per weighted layer (conv, BatchNorm, Dense, in order): do its variables train in this step? */
  trainable: readonly boolean[];
  /** Per weighted layer: BatchNorm in training mode (batch statistics, moving averages updated). */
  bnTraining: readonly boolean[];
  /** Per weighted layer: its learning rate. */
  rates: readonly number[];
  optimizer: Required<OptimizerSpec>;
  /**
   * Class weights: the loss's per-sample factor comes in as `sample_scale` [n, 1] (w_i / n, Keras's
   * sum(w_i · loss_i) / n) instead of the scalar `inv_n`. Default false.
   */
  weighted?: boolean;
}

/** A 1×1, stride-1, unpadded Conv2D: a matrix product over the channels of every pixel. */
export function isPointwise(step: LayerStep): boolean {
  return step.kind === 'conv' && !step.depthwise && step.kernel.every((k) => k === 1) && step.strides.every((st) => st === 1) && step.pads.every((p) => p === 0);
}

/** The layout a layer must run in (onnxruntime's Conv and pooling want NCHW; 1×1 convs are GEMMs on NHWC), or undefined when any will do. */
function required(step: LayerStep): Layout | undefined {
  if (step.kind === 'conv') return isPointwise(step) ? 'nhwc' : 'nchw';
  if (step.kind === 'pool' || step.kind === 'pad') return 'nchw';
  if (step.kind === 'flatten') return 'nhwc';
  return undefined;
}

/**
 * Per step, the layout it runs in. Layers that work in any layout (BatchNorm, activations, dropout,
 * global pooling) run NHWC, where per-channel broadcasts go along the contiguous axis (several
 * times faster in onnxruntime than NCHW's [1, c, 1, 1] on small maps), unless they sit between two
 * NCHW layers (conv → BN → ReLU → pool), where staying NCHW saves two transposes.
 */
function layouts(steps: readonly LayerStep[], image: boolean): Layout[] {
  const out: Layout[] = [];
  let flat = !image;
  let before: Layout = 'nhwc'; // the input's
  steps.forEach((step, s) => {
    if (flat || step.kind === 'dense') {
      flat = true;
      out.push('flat');
      return;
    }
    let want = required(step);
    if (want === undefined) {
      let after: Layout | undefined;
      for (let t = s + 1; after === undefined && t < steps.length; t++) {
        const later = steps[t]!;
        if (later.kind === 'dense' || later.kind === 'gap') break;
        after = required(later);
      }
      want = before === 'nchw' && after === 'nchw' ? 'nchw' : 'nhwc';
    } else {
      before = want;
    }
    out.push(want);
    if (step.kind === 'gap' || step.kind === 'flatten') flat = true;
  });
  return out;
}

/**
 * One training step of a CNN chain as an ONNX graph.
 * Images stay NHWC (as they come) wherever they can: per-channel BatchNorm arithmetic broadcasts
 * along the contiguous last axis there, and 1×1 convolutions are plain GEMMs on the TF kernel;
 * spatial convolutions and pooling run in NCHW, with a transpose only where the layout changes.
 * Weights come in and go out in TF layouts (L{i}_{v}: weighted layer i, getWeights() index v) so
 * the stepper keeps them as TF.js does. BatchNorm layers in training mode also output their new
 * moving mean and variance.
 */
export function buildChainGraph(spec: ChainGraphSpec): Uint8Array {
  const { chain, trainable, bnTraining, rates, optimizer } = spec;
  const g = new GraphBuilder();
  const xIn = g.input('x', ['n', ...chain.sampleShape]);
  const y = g.input('y', ['n', chain.outputs]);
  const invN = spec.weighted ? g.input('sample_scale', ['n', 1]) : g.input('inv_n', []);
  const input: Value = { name: xIn, layout: chain.sampleShape.length === 3 ? 'nhwc' : 'flat' };
  const plan = layouts(chain.steps, input.layout !== 'flat');

  const outs: Value[] = [];
  // Per step: its backward, and per input where the gradient goes (the source step, and the transpose back to its layout).
  const backs: Array<{ back: Backward | 'add'; ins: Array<{ from: number; perm?: number[] }> }> = [];
  let weighted = 0;
  let dropIndex = 0;
  let lowest = -1;
  let logits = '';
  chain.steps.forEach((step, s) => {
    const isLast = s === chain.steps.length - 1;
    const want = plan[s]!;
    const ins = chain.sources[s]!.map((from) => {
      const v = from < 0 ? input : outs[from]!;
      if (v.layout === want || v.layout === 'flat' || want === 'flat') return { name: v.name, layout: v.layout, from };
      const [perm, inverse] = want === 'nchw' ? [[0, 3, 1, 2], [0, 2, 3, 1]] : [[0, 2, 3, 1], [0, 3, 1, 2]];
      return { name: g.op('Transpose', [v.name], { perm }), layout: want, from, perm: inverse };
    });
    const layout = ins[0]!.layout;
    const x = ins[0]!.name;
    const route = ins.map(({ from, perm }) => (perm ? { from, perm } : { from }));
    let h: string;
    if (step.kind === 'add') {
      h = g.op('Sum', ins.map((i) => i.name));
      backs.push({ back: 'add', ins: route });
    } else if (isWeighted(step)) {
      const i = weighted++;
      const names = weightShapes(step).map((_, v) => g.input(`L${i}_${v}`, weightShapes(step)[v]!));
      if (trainable[i] && lowest < 0) lowest = s;
      const upd = (v: number, grad: string): void => update(g, `L${i}_${v}`, weightShapes(step)[v]!, grad, rates[i]!, optimizer, i);
      let r: { h: string; back: Backward };
      if (step.kind === 'conv') r = isPointwise(step) ? pointwiseConv(g, step, x, names, trainable[i]!, upd) : conv(g, step, x, names, trainable[i]!, upd);
      else if (step.kind === 'bn') r = bn(g, step, layout, x, names, i, bnTraining[i]!, trainable[i]!, upd);
      else {
        const args = [x, names[0]!];
        if (step.useBias) args.push(names[1]!);
        const z = g.op('Gemm', args);
        const hd = step.activation === 'softmax' ? z : activate(g, step.activation, z);
        if (isLast) logits = step.activation === 'softmax' || step.activation === 'sigmoid' ? z : hd;
        r = {
          h: hd,
          back: (dy, fromLogits, needDx) => {
            const gz = fromLogits ? dy : activationGrad(g, step.activation as Exclude<typeof step.activation, 'softmax'>, dy, z, hd);
            if (trainable[i]) {
              upd(0, g.op('Gemm', [x, gz], { transA: 1 }, 'dw'));
              if (step.useBias) upd(1, g.op('ReduceSum', [gz, g.ints([0])], { keepdims: 0 }, 'db'));
            }
            return needDx ? g.op('Gemm', [gz, names[0]!], { transB: 1 }, 'dx') : undefined;
          },
        };
      }
      h = r.h;
      backs.push({ back: r.back, ins: route });
    } else {
      const r = plain(g, step, layout, x, () => g.input(`mask${dropIndex++}`, ['n', ...step.in]));
      h = r.h;
      backs.push({ back: r.back, ins: route });
      if (isLast && step.kind === 'act') logits = step.activation === 'softmax' || step.activation === 'sigmoid' ? x : h;
    }
    outs.push({ name: h, layout: step.kind === 'flatten' || step.kind === 'gap' ? 'flat' : layout });
  });
  g.output(logits, 'logits', ['n', chain.outputs]);

  // d(mean cross-entropy)/d(logits): (softmax(z) − y)/n, or (sigmoid(z) − y)/n for one unit; × w_i with class weights.
  const prob = chain.outputs === 1 ? g.op('Sigmoid', [logits]) : g.op('Softmax', [logits], { axis: -1 });
  const dLogits = g.op('Mul', [g.op('Sub', [prob, y]), invN]);
  const last = chain.steps[chain.steps.length - 1]!;
  const lastAct = last.kind === 'dense' || last.kind === 'act' ? last.activation : 'linear';
  // The last layer's own squashing is folded into dLogits; a linear head's output is the logits.
  const fromLogits = lastAct === 'softmax' || lastAct === 'sigmoid' || lastAct === 'linear';
  // Gradients reaching each step's output, summed where a tensor feeds several steps (a residual's input).
  const grads = new Map<number, string[]>([[chain.steps.length - 1, [dLogits]]]);
  const send = (to: { from: number; perm?: number[] }, grad: string): void => {
    if (to.from < lowest) return; // nothing at or below it trains
    const back = to.perm ? g.op('Transpose', [grad], { perm: to.perm }) : grad;
    grads.set(to.from, [...(grads.get(to.from) ?? []), back]);
  };
  for (let s = chain.steps.length - 1; s >= lowest && lowest >= 0; s--) {
    const parts = grads.get(s);
    if (!parts) continue; // an output nothing trained depends on
    const dy = parts.length === 1 ? parts[0]! : g.op('Sum', parts);
    const { back, ins } = backs[s]!;
    if (back === 'add') {
      for (const to of ins) send(to, dy);
      continue;
    }
    const dx = back(dy, s === chain.steps.length - 1 && fromLogits, ins.some((to) => to.from >= lowest));
    if (dx) send(ins[0]!, dx);
  }
  return encodeModel(g.graph, 'graft_train_step_cnn');
}

/** A tensor of the forward pass and the layout it is in. */
interface Value {
  name: string;
  layout: Layout;
}
