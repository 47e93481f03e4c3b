import { describeValue } from '../../errors.js';
import type { AttrValue, OnnxNode } from '../../engine/onnx/model-proto.js';
import { FIXED32, LENGTH_DELIMITED, ProtoReader, VARINT } from '../../engine/onnx/proto-reader.js';
import { OnnxFormatError } from './format-error.js';
import { readTensor, type PendingTensor } from './tensor-read.js';

/** "node 3 (Conv)" or "node \"/layer1/conv/Conv\" (Conv)": how errors name a node. */
export function nodeLabel(node: Pick<OnnxNode, 'name' | 'op'>, index: number): string {
  // describeValue shortens: a name or op of megabytes must not become a message of megabytes.
  const op = node.op.length > 40 ? `${node.op.slice(0, 37)}...` : node.op;
  return node.name ? `node ${describeValue(node.name)} (${op})` : `node ${index} (${op})`;
}

// AttributeProto.AttributeType values graft does not read, by name.
const UNREAD_TYPES: Readonly<Record<number, string>> = { 9: 'TENSORS', 10: 'GRAPHS', 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS' };

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** int64 as a number; past ±2^53 (INT64_MAX meaning "to the end" in Slice) it is held as ±MAX_SAFE_INTEGER. */
function clampInt(v: bigint): number {
  return v > SAFE ? Number.MAX_SAFE_INTEGER : v < -SAFE ? -Number.MAX_SAFE_INTEGER : Number(v);
}

/**
 * Reads a NodeProto (input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6, domain 7).
 * Tensors held externally by its attributes go onto `pending`.
 */
export function readNode(r: ProtoReader, index: number, pending: PendingTensor[]): OnnxNode {
  const node: OnnxNode = { op: '', inputs: [], outputs: [] };
  const attrs: Array<ProtoReader> = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) node.inputs.push(r.string());
    else if (field === 2 && wire === LENGTH_DELIMITED) node.outputs.push(r.string());
    else if (field === 3 && wire === LENGTH_DELIMITED) node.name = r.string();
    else if (field === 4 && wire === LENGTH_DELIMITED) node.op = r.string();
    else if (field === 5 && wire === LENGTH_DELIMITED) attrs.push(r.message());
    else if (field === 7 && wire === LENGTH_DELIMITED) node.domain = r.string();
    else r.skip(wire);
  }
  // Attributes are read once the node's name and op are known, so their errors can name the node.
  const label = nodeLabel(node, index);
  if (!node.op) throw new OnnxFormatError(`${label} has no op_type`);
  if (attrs.length > 0) {
    const out: Record<string, AttrValue> = {};
    for (const a of attrs) {
      const [name, value] = readAttr(a, label, pending);
      if (Object.prototype.hasOwnProperty.call(out, name)) throw new OnnxFormatError(`${label} has two attributes named ${describeValue(name)}`);
      // defineProperty, so an attribute called "__proto__" is a plain key, not a prototype.
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    }
    node.attrs = out;
  }
  return node;
}

/** Reads an AttributeProto: name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, strings 9, type 20. */
function readAttr(r: ProtoReader, node: string, pending: PendingTensor[]): [string, AttrValue] {
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0n;
  let s = '';
  let t: Uint8Array | undefined;
  let g: Uint8Array | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let refAttr = false;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) name = r.string();
    else if (field === 20 && wire === VARINT) type = r.int32();
    else if (field === 2 && wire === FIXED32) f = r.float();
    else if (field === 3 && wire === VARINT) i = r.int64();
    else if (field === 4 && wire === LENGTH_DELIMITED) s = r.string();
    else if (field === 5 && wire === LENGTH_DELIMITED) t = r.bytes();
    else if (field === 6 && wire === LENGTH_DELIMITED) g = r.bytes();
    else if (field === 7) r.repeated(wire, FIXED32, () => floats.push(r.float()));
    else if (field === 8) r.repeated(wire, VARINT, () => ints.push(clampInt(r.int64())));
    else if (field === 9 && wire === LENGTH_DELIMITED) strings.push(r.string());
    else if (field === 21 && wire === LENGTH_DELIMITED) refAttr = r.bytes().length > 0;
    else r.skip(wire);
  }
  const where = `attribute ${describeValue(name)} of ${node}`;
  if (!name) throw new OnnxFormatError(`an attribute of ${node} has no name`);
  if (refAttr) throw new OnnxFormatError(`${where} refers to a function's attribute (ref_attr_name), which is only valid inside a function`);
  switch (type) {
    case 1: return [name, { float: f }];
    case 2: return [name, clampInt(i)];
    case 3: return [name, { string: s }];
    case 4: {
      if (!t) throw new OnnxFormatError(`${where} is of type TENSOR but holds no tensor`);
      const read = readTensor(t, r.depth + 1, `the tensor of ${where}`);
      if (read.pending) pending.push(read.pending);
      return [name, { tensor: read.tensor }];
    }
    // A subgraph (If/Loop/Scan body) is kept as its bytes: carried through, never trained.
    case 5: return [name, { graph: new Uint8Array(g ?? []) }]; // a copy: a view would hold the whole file
    case 6: return [name, { floats }];
    case 7: return [name, ints];
    case 8: return [name, { strings }];
    case 0: throw new OnnxFormatError(`${where} has no type (IR version 1 files are not read; re-export the model)`);
    default:
      throw new OnnxFormatError(`${where} is of type ${UNREAD_TYPES[type] ?? type}, which graft does not read (it reads FLOAT, INT, STRING, TENSOR, GRAPH, FLOATS, INTS and STRINGS)`);
  }
}
