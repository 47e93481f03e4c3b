import { BFLOAT16, DATA_TYPE_NAMES, DOUBLE, FLOAT, FLOAT16, tensorDataType, type OnnxModel, type OnnxValue } from '../../engine/onnx/model-proto.js';
import { isDefaultDomain } from './model-read.js';

/** What `graft inspect model.onnx` shows, as data (its --json output). */
export interface OnnxSummary {
  format: 'onnx';
  irVersion: number;
  producer: { name: string; version: string };
  /** opset_import, the default domain written as "ai.onnx". */
  opsets: Record<string, number>;
  graphName: string;
  /** Graph inputs the caller feeds (initializers listed as inputs, as IR < 4 requires, left out). */
  inputs: Array<{ name: string; type: string; shape: Array<number | string | null> | null }>;
  outputs: Array<{ name: string; type: string; shape: Array<number | string | null> | null }>;
  /** Elements of the floating-point initializers: the weights. */
  totalParams: number;
  /** Elements of the other initializers (shapes, indices): constants, not weights. */
  constantElements: number;
  initializers: number;
  nodes: Array<{ name: string; op: string; domain?: string; inputs: string[]; outputs: string[]; params: number }>;
}

const FLOATING = new Set([FLOAT, FLOAT16, BFLOAT16, DOUBLE]);

function value(v: OnnxValue): OnnxSummary['inputs'][number] {
  return { name: v.name, type: DATA_TYPE_NAMES[v.type ?? FLOAT] ?? `type ${v.type}`, shape: v.shape ?? null };
}

/** Summarises a model for inspect: IO with shapes, parameter counts, and one row per node. */
export function describeOnnxModel(model: OnnxModel): OnnxSummary {
  const { graph } = model;
  const weights = new Map<string, number>();
  let totalParams = 0;
  let constantElements = 0;
  for (const t of graph.initializers) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (FLOATING.has(tensorDataType(t))) {
      weights.set(t.name, n);
      totalParams += n;
    } else constantElements += n;
  }
  const isInitializer = new Set(graph.initializers.map((t) => t.name));
  const opsets: Record<string, number> = {};
  for (const o of model.opsets) Object.defineProperty(opsets, isDefaultDomain(o.domain) ? 'ai.onnx' : o.domain, { value: o.version, enumerable: true });
  return {
    format: 'onnx',
    irVersion: model.irVersion,
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    opsets,
    graphName: model.graphName,
    inputs: graph.inputs.filter((v) => !isInitializer.has(v.name)).map(value),
    outputs: graph.outputs.map(value),
    totalParams,
    constantElements,
    initializers: graph.initializers.length,
    nodes: graph.nodes.map((n) => ({
      name: n.name ?? '',
      op: n.op,
      ...(!isDefaultDomain(n.domain) && { domain: n.domain }),
      inputs: n.inputs,
      outputs: n.outputs,
      // A weight read by several nodes counts in each node's row, and once in the total.
      params: [...new Set(n.inputs)].reduce((a, i) => a + (weights.get(i) ?? 0), 0),
    })),
  };
}

/** "[batch, 3, 224, 224]"; an unnamed unknown dimension is "?", an unknown rank "unknown". */
export function shapeText(shape: OnnxSummary['inputs'][number]['shape']): string {
  return shape ? `[${shape.map((d) => d ?? '?').join(', ')}]` : 'unknown';
}
