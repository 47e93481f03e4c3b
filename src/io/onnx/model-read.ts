import { describeValue } from '../../errors.js';
import type { OnnxGraph, OnnxModel, OnnxTensor, OnnxValue } from '../../engine/onnx/model-proto.js';
import { LENGTH_DELIMITED, ProtoReader, VARINT } from '../../engine/onnx/proto-reader.js';
import { OnnxFormatError } from './format-error.js';
import { readNode } from './node-read.js';
import { readTensor, type PendingTensor } from './tensor-read.js';
import { readValueInfo } from './value-read.js';

/** IR versions graft reads: 3 brought opset_import; onnxruntime-node 1.30 loads up to 13. */
export const IR_VERSIONS = { min: 3, max: 13 } as const;
/** Default-domain opsets: 7 is the oldest PyTorch and tf2onnx still emit; onnxruntime-node 1.30 guarantees up to 26. */
export const DEFAULT_OPSETS = { min: 7, max: 26 } as const;

/** A model as read, before its external tensors are loaded and its graph is checked. */
export interface ReadModel {
  model: OnnxModel;
  /** Tensors whose bytes live in external files. */
  pending: PendingTensor[];
  /** Names of model-local functions (ModelProto.functions): ops by these names are no standard op. */
  functions: string[];
}

/** Whether an opset domain is the default ONNX one ('' and 'ai.onnx' both mean it). */
export function isDefaultDomain(domain: string | undefined): boolean {
  return !domain || domain === 'ai.onnx';
}

/**
 * Decodes a ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7,
 * opset_import 8, functions 25 (others skipped). Throws OnnxFormatError or ProtoError.
 */
export function readModelProto(bytes: Uint8Array): ReadModel {
  const r = new ProtoReader(bytes);
  let irVersion: bigint | undefined;
  let producerName: string | undefined;
  let producerVersion: string | undefined;
  let graphBytes: ProtoReader | undefined;
  const opsets: OnnxModel['opsets'] = [];
  const functions: string[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === VARINT) irVersion = r.int64();
    else if (field === 2 && wire === LENGTH_DELIMITED) producerName = r.string();
    else if (field === 3 && wire === LENGTH_DELIMITED) producerVersion = r.string();
    else if (field === 7 && wire === LENGTH_DELIMITED) {
      if (graphBytes) throw new OnnxFormatError('the file holds two graphs (ModelProto.graph twice)');
      graphBytes = r.message();
    } else if (field === 8 && wire === LENGTH_DELIMITED) opsets.push(readOpset(r.message()));
    else if (field === 25 && wire === LENGTH_DELIMITED) functions.push(readFunctionName(r.message()));
    else r.skip(wire);
  }
  if (irVersion === undefined) throw new OnnxFormatError('it has no ir_version: this is not an ONNX model');
  if (irVersion < IR_VERSIONS.min || irVersion > IR_VERSIONS.max) {
    throw new OnnxFormatError(`its IR version is ${irVersion}; graft reads IR versions ${IR_VERSIONS.min} to ${IR_VERSIONS.max}`);
  }
  if (!graphBytes) throw new OnnxFormatError('it holds no graph');
  checkOpsets(opsets);
  const pending: PendingTensor[] = [];
  const { name, graph } = readGraph(graphBytes, pending);
  const model: OnnxModel = { irVersion: Number(irVersion), opsets, graphName: name, graph };
  if (producerName !== undefined) model.producerName = producerName;
  if (producerVersion !== undefined) model.producerVersion = producerVersion;
  return { model, pending, functions };
}

function checkOpsets(opsets: OnnxModel['opsets']): void {
  const seen = new Set<string>();
  for (const { domain, version } of opsets) {
    const key = isDefaultDomain(domain) ? 'ai.onnx' : domain;
    if (seen.has(key)) throw new OnnxFormatError(`it imports the ${key} opset twice`);
    seen.add(key);
    if (key === 'ai.onnx' && (version < DEFAULT_OPSETS.min || version > DEFAULT_OPSETS.max)) {
      throw new OnnxFormatError(`it uses ONNX opset ${version}; graft reads opsets ${DEFAULT_OPSETS.min} to ${DEFAULT_OPSETS.max} (export again with opset_version between them)`);
    }
  }
  if (!seen.has('ai.onnx')) throw new OnnxFormatError('it imports no version of the default ONNX opset (opset_import)');
}

// OperatorSetIdProto: domain 1, version 2.
function readOpset(r: ProtoReader): { domain: string; version: number } {
  let domain = '';
  let version = 0n;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) domain = r.string();
    else if (field === 2 && wire === VARINT) version = r.int64();
    else r.skip(wire);
  }
  if (version < 1n || version > 10_000n) throw new OnnxFormatError(`it imports opset ${version} of ${describeValue(domain || 'ai.onnx')}`);
  return { domain, version: Number(version) };
}

// FunctionProto: name 1.
function readFunctionName(r: ProtoReader): string {
  let name = '';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) name = r.string();
    else r.skip(wire);
  }
  return name;
}

/**
 * GraphProto: node 1, name 2, initializer 5, input 11, output 12, value_info 13,
 * sparse_initializer 15.
 */
function readGraph(r: ProtoReader, pending: PendingTensor[]): { name: string; graph: OnnxGraph } {
  const graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializers: [] };
  const valueInfo: OnnxValue[] = [];
  let name = '';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) graph.nodes.push(readNode(r.message(), graph.nodes.length, pending));
    else if (field === 2 && wire === LENGTH_DELIMITED) name = r.string();
    else if (field === 5 && wire === LENGTH_DELIMITED) graph.initializers.push(readInitializer(r.bytes(), r.depth + 1, graph.initializers.length, pending));
    else if ((field === 11 || field === 12) && wire === LENGTH_DELIMITED) {
      const which = field === 11 ? 'input' : 'output';
      const v = readValueInfo(r.message(), `graph ${which}`);
      if (v.kind !== 'tensor') throw new OnnxFormatError(`graph ${which} ${describeValue(v.value.name)} is ${v.kind}, not a tensor; graft reads tensor inputs and outputs only`);
      (field === 11 ? graph.inputs : graph.outputs).push(v.value as OnnxValue);
    } else if (field === 13 && wire === LENGTH_DELIMITED) {
      // value_info only annotates: entries that are no tensor tell graft nothing it uses.
      const v = readValueInfo(r.message(), 'value_info');
      if (v.kind === 'tensor') valueInfo.push(v.value as OnnxValue);
    } else if (field === 15 && wire === LENGTH_DELIMITED) throw new OnnxFormatError('the graph has sparse initializers, which graft does not read');
    else r.skip(wire);
  }
  if (valueInfo.length > 0) graph.valueInfo = valueInfo;
  return { name, graph };
}

function readInitializer(bytes: Uint8Array, depth: number, index: number, pending: PendingTensor[]): OnnxTensor {
  const read = readTensor(bytes, depth, `initializer ${index}`);
  if (!read.tensor.name) throw new OnnxFormatError(`initializer ${index} has no name`);
  if (read.pending) pending.push(read.pending);
  return read.tensor;
}
