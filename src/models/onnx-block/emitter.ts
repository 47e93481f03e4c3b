import type * as tfl from '@tensorflow/tfjs-layers';
import { registerLayerEmitter } from '../../engine/onnx/forward/forward-graph.js';
import type { LayerEmitter } from '../../engine/onnx/forward/context.js';
import type { OnnxBlock } from './layer.js';
import { TO_NCHW, TO_NHWC } from './edges.js';

/**
 * An OnnxBlock in graft's onnxruntime graphs: its own nodes, spliced in under names prefixed with
 * the layer's, its weights through ctx.param (constants for inference; the TF.js variables in the
 * training form, so they train), its constants as initializers. Images in those graphs are
 * channels-first already, so the block's edge transposes (edges.ts) are dropped, and a block
 * without them (an NHWC source) gets the conversion instead.
 */
const onnxBlock: LayerEmitter = (ctx, layer, [x], outShape) => {
  const block = layer as OnnxBlock;
  ctx.opset = Math.max(ctx.opset, block.spec.opset ?? 17);
  ctx.irVersion = Math.max(ctx.irVersion, block.spec.irVersion ?? 8);
  const prefix = `${layer.name}/`;
  const names = new Map<string, string>();
  const name = (t: string): string => (t === '' ? '' : (names.get(t) ?? `${prefix}${t}`));
  let nodes = block.nodes;
  if (x!.shape.length === 3) {
    if (nodes[0]?.name === TO_NCHW) {
      names.set(nodes[0].outputs[0]!, x!.name);
      nodes = nodes.slice(1);
    } else names.set(block.spec.input, ctx.g.op('Transpose', [x!.name], { perm: [0, 2, 3, 1] }, 'to_nhwc'));
  } else names.set(block.spec.input, x!.name);
  let output = block.spec.output;
  const last = nodes[nodes.length - 1];
  const dropLast = outShape.length === 3 && last?.name === TO_NHWC;
  if (dropLast) {
    output = last.inputs[0]!;
    nodes = nodes.slice(0, -1);
  }
  block.spec.weights.forEach((w, i) => names.set(w.name, ctx.param(layer, weightProperty(i), 'same')!));
  for (const c of block.constants) {
    ctx.g.graph.initializers.push({ ...c, name: name(c.name) });
  }
  const rec = ctx.training;
  for (const n of nodes) {
    const node = { ...n, inputs: n.inputs.map(name), outputs: n.outputs.map(name), ...(n.name !== undefined && { name: `${prefix}${n.name}` }) };
    // A trainable block trains its BatchNorm (as OnnxBlock.call does on TF.js): batch statistics,
    // running averages moved with the node's momentum (ONNX's convention, default 0.9); not when
    // the fit keeps BatchNorm on its statistics (rec.batchNormTraining false).
    if (rec && rec.batchNormTraining && layer.trainable && n.op === 'BatchNormalization' && n.outputs.length === 1) {
      const momentum = typeof n.attrs?.momentum === 'object' && 'float' in n.attrs.momentum ? n.attrs.momentum.float : 0.9;
      rec.batchNorms.push({ layer, mean: node.inputs[3]!, variance: node.inputs[4]!, momentum });
      node.attrs = { ...n.attrs, momentum: { float: momentum } };
    }
    ctx.g.graph.nodes.push(node);
  }
  const out = name(output);
  if (outShape.length === 3 && !dropLast) return ctx.g.op('Transpose', [out], { perm: [0, 3, 1, 2] }, 'to_nchw');
  return out;
};

/** The property under which OnnxBlock exposes weight `index` (ctx.param reads weights as layer properties). */
export function weightProperty(index: number): string {
  return `onnxWeight${index}`;
}

registerLayerEmitter('OnnxBlock', onnxBlock);

export function isOnnxBlockLayer(layer: tfl.layers.Layer): boolean {
  return layer.getClassName() === 'OnnxBlock';
}
