import type { OrtModule } from '../../engine/onnx/runtime.js';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxNode } from '../../engine/onnx/model-proto.js';
import { Emitter } from '../graph/emit.js';
import { inferFacts } from '../graph/facts.js';
import { topologicalOrder } from '../graph/order.js';
import { intAttr, intsAttr, stringAttr } from '../graph/attrs.js';

/** onnxruntime's CPU kernels for channel-blocked tensors (NCHWc): ReorderInput, Conv, ReorderOutput. */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

const blocks = new WeakMap<OrtModule, Promise<number>>();

/**
 * The channel block onnxruntime's NCHWc kernels use on this CPU (16 with AVX-512, 8 with AVX2), or 0
 * when this onnxruntime has none (onnxruntime-web, other CPUs): ReorderInput pads 4 channels up
 * to a whole block, so its output's channel count is the block.
 */
export function nchwcBlock(ort: OrtModule): Promise<number> {
  let block = blocks.get(ort);
  if (!block) {
    block = (async () => {
      try {
        const graph: OnnxGraph = {
          nodes: [{ op: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: ['probe'], outputs: ['blocked'], attrs: { channels_last: 0 } }],
          inputs: [{ name: 'probe', type: FLOAT, shape: [1, 4, 1, 1] }],
          outputs: [{ name: 'blocked', type: FLOAT }],
          initializers: [],
        };
        const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'graft', opsets: [{ domain: '', version: 13 }, { domain: NCHWC_DOMAIN, version: 1 }], graphName: 'graft_nchwc_probe', graph });
        const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
        try {
          const out = await session.run({ probe: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
          const b = Number(out.blocked!.dims[1]);
          return b >= 4 && b <= 64 ? b : 0;
        } finally {
          void session.release();
        }
      } catch {
        return 0;
      }
    })();
    blocks.set(ort, block);
  }
  return block;
}

/**
 * Weights above this many floats keep the plain kernel: their rearrangement runs every step and
 * onnxruntime's Transpose moves ≈ 3–4 ns a float, which outweighed the blocked kernel's gain on
 * ResNet-18's 256- and 512-channel 3×3 layers (bench/RESULTS.md).
 */
export const BLOCKED_WEIGHT_FLOATS = 2 ** 18;

/**
 * The limit where the rearrangement is gathered outside the graph (weight-views.ts) at about 1 ns a
 * float: ResNet-18's 128 → 256 stride-2 3×3 (295k floats) then runs blocked. Larger weights gather
 * slower (4–5 ns a float at 2.4 M, scattered reads), so the largest layers stay plain.
 */
export const BLOCKED_VIEWED_FLOATS = 2 ** 20;

/**
 * The graph with its 2-D convolutions run on onnxruntime's channel-blocked kernels where they
 * apply: ungrouped ones (channel counts padded with zeros up to whole blocks) and depthwise ones
 * (whole blocks), whose weight dims are known and at most `maxWeightFloats`. X is reordered
 * into blocks, the weight rearranged into the kernel's layout, the result reordered back: the same
 * convolution, summed in another order. Why: onnxruntime blocks only constant weights itself (its
 * NCHWc pass at graph optimisation), and a training step's weights are inputs; the blocked kernels
 * with both reorders took 0.33–0.5 of the plain depthwise Conv's time and 0.45–0.8 of the plain
 * 3×3 Conv's (64×64, batch 32, 2 threads; bench/RESULTS.md).
 */
export function nchwcConvs(graph: OnnxGraph, block: number, opset: number, maxWeightFloats = BLOCKED_WEIGHT_FLOATS): { graph: OnnxGraph; rewritten: number } {
  if (block <= 0 || !graph.nodes.some((n) => n.op === 'Conv' && !n.domain)) return { graph, rewritten: 0 };
  const facts = inferFacts(graph, topologicalOrder(graph));
  const out: OnnxGraph = { ...graph, nodes: [], initializers: [...graph.initializers] };
  const taken = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.map((t) => t.name), ...graph.nodes.flatMap((n) => n.outputs)]);
  const e = new Emitter(out, taken, opset);
  let rewritten = 0;
  const whole = (n: number): number => Math.ceil(n / block) * block;
  for (const node of graph.nodes) {
    const form = blockedForm(node, facts.dims(node.inputs[1] ?? ''), block, maxWeightFloats);
    if (!form) {
      out.nodes.push(node);
      continue;
    }
    rewritten++;
    const { o, c, kh, kw, depthwise, plainInput, pads } = form;
    const [op, cp] = depthwise ? [o, 1] : [whole(o), plainInput ? c : whole(c)];
    let w = node.inputs[1]!;
    // Padded output channels get zero filters (cropped by ReorderOutput), padded input channels zero taps.
    if (op !== o || (!depthwise && cp !== c)) w = e.op('Pad', [w, e.ints([0, 0, 0, 0, op - o, cp - c, 0, 0])]);
    // Ungrouped: [O, C, kh, kw] → [O/b, C/b, kh, kw, b_in, b_out]; with a plain input [O/b, C, kh, kw, b_out]. Depthwise: [C, 1, kh, kw] → [C/b, kh, kw, b].
    const [split, perm] = depthwise ? [[op / block, block, kh, kw], [0, 2, 3, 1]] : plainInput ? [[op / block, block, c, kh, kw], [0, 2, 3, 4, 1]] : [[op / block, block, cp / block, block, kh, kw], [0, 2, 4, 5, 3, 1]];
    w = e.op('Reshape', [e.op('Transpose', [e.op('Reshape', [w, e.ints(split)])], { perm }), e.ints([op, cp, kh, kw])]);
    let bias = node.inputs[2];
    if (bias && op !== o) bias = e.op('Pad', [bias, e.ints([0, op - o])]);
    const x = plainInput ? node.inputs[0]! : e.domainOp(NCHWC_DOMAIN, 'ReorderInput', [node.inputs[0]!], { channels_last: 0 });
    const attrs = { kernel_shape: [kh, kw], pads, strides: intsAttr(node, 'strides') ?? [1, 1], dilations: intsAttr(node, 'dilations') ?? [1, 1], group: depthwise ? o : 1 };
    const y = e.domainOp(NCHWC_DOMAIN, 'Conv', [x, w, ...(bias ? [bias] : [])], attrs);
    out.nodes.push({ op: 'ReorderOutput', domain: NCHWC_DOMAIN, inputs: [y], outputs: [node.outputs[0]!], attrs: { channels_last: 0, channels: o } });
  }
  return { graph: out, rewritten };
}

/**
 * Inputs of at most this many channels (RGB, grey) go into the blocked Conv unblocked, as
 * onnxruntime's own NCHWc pass does for a constant weight: ResNet's 7×7 stem 7.5–7.8 against
 * 8.1–8.8 ms, MobileNetV2's 3×3 0.37 against 0.44–0.66 (batch 32, 64×64). A 4-channel 3×3 at
 * 64×64 measured slower that way (3.0–7.7 against 2.0–6.0 ms), and MobileNetV2's step with its
 * 8-channel layers kept plain measured 0.97–0.99 of the step with them unblocked-in (bench/RESULTS.md).
 */
const PLAIN_INPUT_CHANNELS = 3;

/** A Conv the blocked kernels take, by its weight's dims and attributes; else undefined. */
function blockedForm(node: OnnxNode, dims: number[] | undefined, block: number, maxWeightFloats: number): { o: number; c: number; kh: number; kw: number; depthwise: boolean; plainInput: boolean; pads: number[] } | undefined {
  if (node.op !== 'Conv' || node.domain || !dims || dims.length !== 4 || dims.reduce((a, b) => a * b, 1) > maxWeightFloats) return undefined;
  const auto = stringAttr(node, 'auto_pad', 'NOTSET');
  if (auto !== 'NOTSET' && auto !== 'VALID') return undefined;
  const pads = auto === 'VALID' ? [0, 0, 0, 0] : (intsAttr(node, 'pads') ?? [0, 0, 0, 0]);
  const [o, ci, kh, kw] = dims as [number, number, number, number];
  const group = intAttr(node, 'group', 1);
  // Depthwise: one filter per channel, channels in whole blocks.
  if (group > 1) return ci === 1 && o === group && o % block === 0 ? { o, c: o, kh, kw, depthwise: true, plainInput: false, pads } : undefined;
  // ReorderInput takes channel counts in 4s and from a whole block (fewer stay plain); RGB and grey inputs go in unblocked.
  if (ci <= PLAIN_INPUT_CHANNELS) return { o, c: ci, kh, kw, depthwise: false, plainInput: true, pads };
  return ci % 4 === 0 && ci >= block ? { o, c: ci, kh, kw, depthwise: false, plainInput: false, pads } : undefined;
}
