import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { GRAFT_VERSION } from '../version.js';
import { buildForwardGraph, type ForwardGraph } from '../engine/onnx/forward/forward-graph.js';
import { encodeOnnxModel, type OnnxModel, type OnnxNode } from '../engine/onnx/model-proto.js';
import { ProtoWriter } from '../engine/onnx/protobuf.js';
import { readModelProto } from './onnx/model-read.js';
import { modelNodes, replayLayers } from '../models/replay.js';
import { describeOutput, type OutputHead } from '../train/loss.js';
import type { ResizeMode } from '../data/image-convert.js';
import type { RunInfo } from './run-dir.js';

/**
 * `graft export MODEL --to model.onnx`: the model's inference pass (buildForwardGraph) as an ONNX
 * file any onnxruntime (Node, Python, web) runs. The interface, fixed here and documented in the
 * file's metadata_props:
 * - input `image`, float32 [n, height, width, channels], channels last, values exactly as graft
 *   feeds the model (graft's images are 0..255 pixels × pixelScale, i.e. [0, 1]); a model whose
 *   input is [height, width] (grey, no channel axis) takes [n, height, width, 1]. A model taking
 *   vectors has input `features` [n, size] instead.
 * - output `probabilities`, float32 [n, classes], what `graft predict` reports: the softmax row, or
 *   [1 − p, p] for one sigmoid unit (softmax/sigmoid added when the head outputs logits). A model
 *   whose output is not a classifier's [batch, classes] keeps its own output, named `output`.
 * - producer_name "graft" (how --force recognises graft's own file) and producer_version.
 */
export const ONNX_EXPORT_NAMES = { image: 'image', vector: 'features', probabilities: 'probabilities', output: 'output' } as const;

/** How the exported model's input values are made from pixels, for its metadata (predictPreprocessing's answer). */
export interface OnnxInputConvention {
  /** Multiplies the 0..255 pixels (1/255: values in [0, 1]). */
  pixelScale: number;
  /** How images of another size were fitted to the input. */
  resize?: ResizeMode;
  /** Where that was decided ("run.json", …). */
  source?: string;
}

export interface OnnxExportOptions {
  /** Replace an existing file graft wrote. Default false. */
  force?: boolean;
  /** run.json when the model is a graft run: its class names and task go into the metadata. */
  run?: RunInfo;
  /** The input convention; default the run's preprocessing, else not stated beyond graft's [0, 1]. */
  input?: OnnxInputConvention;
}

/** The ONNX file's bytes; a layer with no translation is refused naming it. */
export function toOnnxBytes(model: tfl.LayersModel, options: Omit<OnnxExportOptions, 'force'> = {}): Uint8Array {
  const graph = buildForwardGraph(withChannelAxis(model) ?? model);
  if (typeof graph === 'string') {
    throw new GraftError('UNSUPPORTED_OP', `Cannot export ${model.name} to ONNX: ${graph}. Export it as .keras or a TF.js folder instead (--to model.keras, --to DIR), or replace that layer.`);
  }
  const head = classifierHead(model);
  const onnx = exportedModel(graph, head, model.name);
  return concat(encodeOnnxModel(onnx), metadataProps(metadata(graph, head, options)));
}

/**
 * A model on [height, width] input (graft's grey MLPs) as one on [height, width, 1]: the converter
 * translates vectors and 3-axis images only. Done only when every layer reading the input is a
 * Flatten, which orders [h, w] and [h, w, 1] alike; the layers are shared, not copied.
 */
function withChannelAxis(model: tfl.LayersModel): tfl.LayersModel | undefined {
  const [input] = model.inputs;
  if (!input || model.inputs.length !== 1) return undefined;
  const shape = input.shape.slice(1);
  if (shape.length !== 2 || !shape.every((d): d is number => typeof d === 'number')) return undefined;
  const readers = modelNodes(model).filter((n) => n.inputs.some((t) => t.id === input.id));
  if (readers.length === 0 || readers.some((n) => n.layer.getClassName() !== 'Flatten' || n.inputs.length !== 1)) return undefined;
  const fresh = tfl.input({ shape: [...shape, 1] });
  const flat = tfl.layers.flatten().apply(fresh) as tfl.SymbolicTensor;
  const output = replayLayers(model, new Map(readers.map((n) => [n.outputs[0]!.id, flat])));
  return tfl.model({ inputs: fresh, outputs: output, name: model.name });
}

/** The classifier head graft predicts with, or undefined for a model that is no classifier. */
function classifierHead(model: tfl.LayersModel): OutputHead | undefined {
  try {
    return describeOutput(model);
  } catch (e) {
    if (e instanceof GraftError) return undefined;
    throw e;
  }
}

/** The forward graph with graft's interface: input renamed, probabilities appended, producer set. */
function exportedModel(graph: ForwardGraph, head: OutputHead | undefined, name: string): OnnxModel {
  const model = readModelProto(graph.bytes).model;
  const g = model.graph;
  const taken = new Set([...g.inputs.map((v) => v.name), ...g.initializers.map((t) => t.name), ...g.nodes.flatMap((n) => n.outputs)]);
  const inputName = graph.inputShape.length === 3 ? ONNX_EXPORT_NAMES.image : ONNX_EXPORT_NAMES.vector;
  const outName = head ? ONNX_EXPORT_NAMES.probabilities : ONNX_EXPORT_NAMES.output;
  const fresh = (n: string): string => {
    // The converter names values op_N and weights after layers; a clash would be a bug there.
    if (taken.has(n)) throw new Error(`graft: the forward graph already has a value named ${n}`);
    taken.add(n);
    return n;
  };
  const [x] = g.inputs;
  const [y] = g.outputs;
  if (!x || !y || g.inputs.length !== 1 || g.outputs.length !== 1) throw new Error('graft: the forward graph should have one input and one output');
  const from = x.name;
  x.name = fresh(inputName);
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? x.name : i));
  const nodes: OnnxNode[] = [];
  let last = y.name;
  let shape = y.shape;
  if (head) {
    const op = (type: string, inputs: string[], attrs?: OnnxNode['attrs']): string => {
      const out = fresh(`export_${type.toLowerCase()}`);
      nodes.push({ op: type, inputs, outputs: [out], ...(attrs && { attrs }) });
      return out;
    };
    if (head.units === 1) {
      // graft's probabilities for one sigmoid unit: [P(class 0), P(class 1)] = [1 − p, p].
      const p = head.activation === 'linear' ? op('Sigmoid', [last]) : last;
      const one = fresh('export_one');
      g.initializers.push({ name: one, dims: [], data: Float32Array.of(1) });
      last = op('Concat', [op('Sub', [one, p]), p], { axis: 1 });
    } else if (head.activation === 'linear') {
      last = op('Softmax', [last], { axis: 1 });
    }
    shape = [y.shape?.[0] ?? 'n', head.classes];
  }
  nodes.push({ op: 'Identity', inputs: [last], outputs: [fresh(outName)] });
  g.nodes.push(...nodes);
  g.outputs = [{ name: outName, ...(shape && { shape }) }];
  return { ...model, producerName: 'graft', producerVersion: GRAFT_VERSION, graphName: name };
}

/** What a user of the file needs to feed it and read its answer, as metadata_props. */
function metadata(graph: ForwardGraph, head: OutputHead | undefined, o: Omit<OnnxExportOptions, 'force'>): Record<string, string> {
  const dims = `[n, ${graph.inputShape.join(', ')}]`;
  const input = o.input ?? (o.run ? { pixelScale: o.run.preprocessing.pixelScale, resize: o.run.preprocessing.resize ?? 'squash', source: 'run.json' } : undefined);
  const values = input
    ? `${input.pixelScale === 1 / 255 ? '0..255 pixels divided by 255 (values in [0, 1])' : `0..255 pixels × ${input.pixelScale}`}${input.resize ? `; other sizes fitted by ${input.resize}` : ''}${input.source ? ` (from ${input.source})` : ''}`
    : 'values as the model was trained on (graft feeds pixels in [0, 1])';
  const meta: Record<string, string> = {
    input: graph.inputShape.length === 3 ? `${ONNX_EXPORT_NAMES.image}: float32 ${dims}, channels last (NHWC); ${values}` : `${ONNX_EXPORT_NAMES.vector}: float32 ${dims}; ${values}`,
    output: !head
      ? `${ONNX_EXPORT_NAMES.output}: float32 [n, ${graph.outputShape.join(', ')}], the model's last layer as it is`
      : `${ONNX_EXPORT_NAMES.probabilities}: float32 [n, ${head.classes}], ${head.units === 1 ? '[1 - p, p] from one sigmoid unit' : 'softmax over the classes'}, in the order of "classes"`,
  };
  const names = o.run?.classNames;
  if (names && head && names.length === head.classes) meta.classes = JSON.stringify(names);
  if (o.run) meta.task = o.run.task;
  return meta;
}

/** ModelProto.metadata_props (field 14, StringStringEntryProto key 1, value 2), appended: protobuf fields may come in any order. */
function metadataProps(meta: Record<string, string>): Uint8Array {
  const w = new ProtoWriter();
  for (const [key, value] of Object.entries(meta)) w.message(14, new ProtoWriter().string(1, key).string(2, value));
  return w.finish();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
