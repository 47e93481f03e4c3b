import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DATA_TYPE_NAMES, FLOAT, FLOAT16, BFLOAT16, tensorDataType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxValue } from '../../engine/onnx/model-proto.js';
import { GraftError } from '../../errors.js';
import { OnnxBlock, type OnnxBlockSpec } from '../../models/onnx-block/layer.js';
import { nodeToJson, tensorToJson } from '../../models/onnx-block/serial.js';
import { TO_NCHW, TO_NHWC } from '../../models/onnx-block/edges.js';
import { applyInputPreprocess, parseInputPreprocess, type InputPreprocess } from '../../models/input-preprocess.js';
import { assertFiniteWeights } from '../weights-finite.js';
import { tfSupportedOps } from '../../engine/onnx/tfjs/run.js';
import { moduleBlocks } from './blocks.js';
import { cutGraph, defaultCut } from './cut.js';
import { foldConstants } from './fold.js';
import { initializerRoles } from './parameters.js';
import { inferShapes } from './shape-infer.js';

// The in-memory half of ONNX sources: no file system, so the browser entry uses it as it is.
// source.ts adds loading from a file and remembering where a model came from.

export interface OnnxSourceOptions {
  /** How the model expects its pixels (`imagenet`, `tf`, `caffe`, `scale`, `raw`, `mean=…,std=…`): ONNX files do not say. Required. */
  preprocess: string;
  /** The input's layout. Default: read from the input's shape (a 1- or 3-sized axis 1 is NCHW, axis 3 NHWC). */
  layout?: 'nchw' | 'nhwc';
  /** Image side, when the model accepts any size. Must match a fixed size. */
  input?: number;
  /** The tensor or node whose output is reused (the features). Default: the input of the final classifier (the last Gemm/MatMul). */
  cut?: string;
}

/** What was imported, as a run records it. */
export interface OnnxSourceInfo {
  format: 'onnx';
  producer: string;
  opset: number;
  inputName: string;
  layout: 'nchw' | 'nhwc';
  /** The image shape graft feeds: [height, width, channels]. */
  imageShape: number[];
  preprocess: InputPreprocess;
  cut: string;
  /** The reused features' shape per sample (channels last when the source is NCHW). */
  featureShape: number[];
  /** The TF.js layers the reused graph became, one per PyTorch block. */
  blocks: string[];
  parameters: number;
  batchNormNodes: number;
}

export interface OnnxSource {
  /** image [h, w, c] in 0..1 → preprocessing → one OnnxBlock per block → the cut tensor. */
  model: tfl.LayersModel;
  info: OnnxSourceInfo;
}

const IMAGE = 'graft_image';

/** The same for a model already read; `label` names it in messages. */
export function importOnnxSource(onnx: OnnxModel, label: string, options: OnnxSourceOptions): OnnxSource {
  const g = onnx.graph;
  const opset = onnx.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  const input = imageInput(g, label);
  const layout = options.layout ?? guessLayout(input, label);
  const dims = input.shape!;
  const [c, h, w] = layout === 'nchw' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  if (c !== 1 && c !== 3) {
    throw new GraftError('BAD_ARGUMENT', `${label}: input ${input.name} has shape ${describeShape(dims)}, read as ${layout.toUpperCase()}: ${describeDim(c)} channels. graft feeds images with 1 (grey) or 3 (RGB) channels; ${options.layout ? 'check --layout' : 'pass --layout nchw or nhwc if the layout was read wrongly'}.`);
  }
  const side = (d: number | string | null | undefined, axis: string): number => {
    if (typeof d === 'number') {
      if (options.input !== undefined && options.input !== d) {
        throw new GraftError('BAD_ARGUMENT', `${label} takes ${axis} ${d} (input ${input.name} ${describeShape(dims)}); received --input ${options.input}. Drop --input, or export the model with a dynamic or matching size.`);
      }
      return d;
    }
    if (options.input === undefined) throw new GraftError('BAD_ARGUMENT', `${label} accepts images of any ${axis} (input ${input.name} ${describeShape(dims)}); give the size to train at with --input SIDE (e.g. --input 224).`);
    return options.input;
  };
  const height = side(h, 'height');
  const width = side(w, 'width');
  const preprocess = parseInputPreprocess(options.preprocess, c);
  const fixed: Array<number | 'N'> = layout === 'nchw' ? ['N', c, height, width] : ['N', height, width, c];
  for (const t of g.initializers) {
    const type = tensorDataType(t);
    if (type === FLOAT16 || type === BFLOAT16) throw new GraftError('BAD_ARGUMENT', `${label}: initializer ${t.name} is ${DATA_TYPE_NAMES[type]}; graft fine-tunes float32 models. Export the model in float32 (PyTorch: model.float() before torch.onnx.export).`);
  }

  return named(label, () => build(onnx, label, input, { layout, height, width, channels: c, fixed, preprocess, opset }, options));
}

interface Settled {
  layout: 'nchw' | 'nhwc';
  height: number;
  width: number;
  channels: number;
  fixed: Array<number | 'N'>;
  preprocess: InputPreprocess;
  opset: number;
}

/** The static graph, cut, blocks and TF.js model, once the input is settled. */
function build(onnx: OnnxModel, label: string, input: OnnxValue, settled: Settled, options: OnnxSourceOptions): OnnxSource {
  const { layout, height, width, channels: c, fixed, preprocess, opset } = settled;
  const g = onnx.graph;
  const folded = foldConstants(g, { [input.name]: fixed });
  const shapes = inferShapes(folded, { [input.name]: fixed });
  const cut = cutGraph(folded, options.cut ?? featuresOf(folded), shapes);
  const featureNchw = cut.shape.slice(1);
  if (featureNchw.some((d) => typeof d !== 'number')) throw new GraftError('BAD_ARGUMENT', `${label}: the cut tensor ${cut.output} has shape ${describeShape(cut.shape)}, not fixed for ${height}×${width} images. Cut at a tensor of fixed size per image.`);
  const runnable = new Set(tfSupportedOps());
  const missing = [...new Set(cut.graph.nodes.filter((n) => (n.domain !== undefined && n.domain !== '' && n.domain !== 'ai.onnx') || !runnable.has(n.op)).map((n) => (n.domain ? `${n.domain}.${n.op}` : n.op)))];
  if (missing.length > 0) {
    const first = cut.graph.nodes.find((n) => missing.includes(n.domain ? `${n.domain}.${n.op}` : n.op))!;
    throw new GraftError('UNSUPPORTED_OP', `graft cannot run op ${missing.join(', ')} of the reused part (first at node ${JSON.stringify(first.name ?? first.outputs[0])}): graft evaluates and predicts with every model on TF.js too, which runs ${tfSupportedOps().join(', ')}. Cut before it with --cut TENSOR (\`graft inspect\` lists the nodes), or re-export the model without it.`);
  }
  const roles = initializerRoles(cut.graph);
  const inits = new Map(cut.graph.initializers.map((t) => [t.name, t]));
  // The blocks read shapes from the graph's input: the fixed size, batch kept symbolic.
  const fixedGraph = { ...cut.graph, inputs: cut.graph.inputs.map((v) => (v.name === input.name ? { ...v, shape: fixed.map((d) => (d === 'N' ? 'batch' : d)) } : v)) };
  const segments = moduleBlocks(fixedGraph, { opset });
  const names = new Set<string>();
  // Between blocks images travel channels-last, as everywhere in graft's TF.js models; an NCHW
  // source's blocks transpose in and out (the onnxruntime translation drops those pairs again).
  const nhwc = (t: string): string => (t === input.name ? IMAGE : `${t}__nhwc`);
  const specs = segments.map((seg) => {
    const nodes: OnnxNode[] = [...seg.nodes];
    const inShape = shapes.get(seg.input)?.shape;
    let blockInput = seg.input;
    if (layout === 'nchw' && inShape?.length === 4) {
      blockInput = nhwc(seg.input);
      nodes.unshift({ op: 'Transpose', inputs: [blockInput], outputs: [seg.input], attrs: { perm: [0, 3, 1, 2] }, name: TO_NCHW });
    }
    let output = seg.output;
    let outputShape = sampleShape(shapes.get(output)?.shape, output, label);
    if (layout === 'nchw' && outputShape.length === 3) {
      output = nhwc(seg.output);
      nodes.push({ op: 'Transpose', inputs: [seg.output], outputs: [output], attrs: { perm: [0, 2, 3, 1] }, name: TO_NHWC });
      outputShape = [outputShape[1]!, outputShape[2]!, outputShape[0]!];
    }
    const spec: OnnxBlockSpec = { nodes: nodes.map((n) => nodeToJson(n, label)), input: blockInput, output, weights: [], constants: [], outputShape, opset, irVersion: onnx.irVersion };
    const values: Float32Array[] = [];
    for (const name of seg.initializers) {
      const t = inits.get(name)!;
      const role = roles.get(name) ?? 'constant';
      if (role === 'constant') spec.constants.push(tensorToJson(t, label));
      else {
        spec.weights.push({ name, dims: [...t.dims], trainable: role === 'parameter' });
        values.push(t.data as Float32Array);
      }
    }
    return { name: layerName(seg.name, names), spec, values };
  });

  const image = tfl.input({ shape: [height, width, c], name: 'image' });
  let y = applyInputPreprocess(preprocess, image);
  // Every layer made here holds TF.js variables: on any failure they are all freed.
  const made: tfl.layers.Layer[] = y === image ? [] : [y.sourceLayer as tfl.layers.Layer];
  let model: tfl.LayersModel;
  try {
    for (const s of specs) {
      const b = new OnnxBlock({ name: s.name, onnx: s.spec });
      made.push(b);
      y = b.apply(y) as tfl.SymbolicTensor;
    }
    model = tfl.model({ inputs: image, outputs: y, name: layerName(label.replace(/\.onnx$/i, ''), new Set()) });
    made.forEach((b, k) => {
      if (!(b instanceof OnnxBlock)) return;
      const spec = specs[k - (made.length - specs.length)]!;
      spec.spec.weights.forEach((wt, i) => {
        const t = tf.tensor(spec.values[i]!, wt.dims, 'float32');
        b.variable(i).write(t);
        t.dispose();
      });
    });
    assertFiniteWeights(model, label);
  } catch (e) {
    for (const l of made) l.dispose();
    throw e;
  }
  const info: OnnxSourceInfo = {
    format: 'onnx',
    producer: [onnx.producerName, onnx.producerVersion].filter(Boolean).join(' ') || 'unknown',
    opset,
    inputName: input.name,
    layout,
    imageShape: [height, width, c],
    preprocess,
    cut: cut.output,
    featureShape: specs[specs.length - 1]!.spec.outputShape,
    blocks: specs.map((s) => s.name),
    parameters: specs.reduce((a, s) => a + s.spec.weights.filter((x) => x.trainable).reduce((b, x) => b + x.dims.reduce((p, q) => p * q, 1), 0), 0),
    batchNormNodes: cut.graph.nodes.filter((n) => n.op === 'BatchNormalization').length,
  };
  return { model, info };
}

/** Runs `fn`, with the file named in any GraftError that does not name it yet. */
function named<T>(label: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GraftError && !e.message.includes(label)) throw new GraftError(e.code, `${label}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The one float input (initializers listed as inputs, as IR < 4 files do, are not inputs). */
function imageInput(g: OnnxGraph, label: string): OnnxValue {
  const inits = new Set(g.initializers.map((t) => t.name));
  const inputs = g.inputs.filter((v) => !inits.has(v.name));
  if (inputs.length !== 1) {
    throw new GraftError('BAD_ARGUMENT', `${label} has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ') || 'none'}); graft transfers from models with one image input. Export the model with a single image input.`);
  }
  const input = inputs[0]!;
  const type = input.type ?? FLOAT;
  if (type !== FLOAT) {
    throw new GraftError('BAD_ARGUMENT', `${label} takes ${DATA_TYPE_NAMES[type] ?? `type ${type}`} input ${input.name} ${describeShape(input.shape)} (token ids?); graft fine-tunes ONNX image models, with one float32 input [N, C, H, W] or [N, H, W, C]. \`graft inspect ${label}\` shows the model.`);
  }
  if (!input.shape || input.shape.length !== 4) {
    throw new GraftError('BAD_ARGUMENT', `${label}: input ${input.name} has shape ${describeShape(input.shape)}; graft feeds image batches of rank 4 ([N, C, H, W] or [N, H, W, C]).`);
  }
  return input;
}

function guessLayout(input: OnnxValue, label: string): 'nchw' | 'nhwc' {
  const d = input.shape!;
  const small = (v: unknown): boolean => v === 1 || v === 3;
  if (small(d[1]) && !small(d[3])) return 'nchw';
  if (small(d[3]) && !small(d[1])) return 'nhwc';
  throw new GraftError('BAD_ARGUMENT', `${label}: cannot tell the layout of input ${input.name} ${describeShape(d)}. Pass --layout nchw (PyTorch) or --layout nhwc (TensorFlow).`);
}

function sampleShape(shape: ReadonlyArray<number | string | null> | null | undefined, tensor: string, label: string): number[] {
  if (!shape || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new GraftError('BAD_ARGUMENT', `${label}: the size of tensor ${tensor} per image is not known (${describeShape(shape)}); graft needs fixed sizes between blocks. Cut before it, or report the model: an op's shape rule may be missing.`);
  }
  return shape.slice(1) as number[];
}

function describeDim(d: number | string | null | undefined): string {
  return d === null || d === undefined ? '?' : String(d);
}

function describeShape(shape: ReadonlyArray<number | string | null> | null | undefined): string {
  return shape ? `[${shape.map(describeDim).join(', ')}]` : '(no shape recorded)';
}

/** A TF.js layer name from a PyTorch module path (TF.js scopes weight names with it: letters, digits, `-._/` only). */
function layerName(base: string, taken: Set<string>): string {
  let name = `onnx_${base.replace(/[^-A-Za-z0-9._]/g, '_')}`;
  const stem = name;
  for (let k = 1; taken.has(name); k++) name = `${stem}_${k}`;
  taken.add(name);
  return name;
}


/** The default cut: the final classifier's input, or the whole model when it has no classifier (a feature extractor). */
function featuresOf(g: OnnxGraph): string {
  if (!g.nodes.some((n) => (n.op === 'Gemm' || n.op === 'MatMul') && !n.domain)) return g.outputs[0]!.name;
  return defaultCut(g);
}
