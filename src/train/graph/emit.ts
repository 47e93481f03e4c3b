import type { AttrValue, OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';

/**
 * Appends nodes and constants to a graph under names that cannot collide with the model's own
 * (an imported model may well have a tensor called `relu_0`): every new name starts `grad/` and is
 * checked against the names already taken. Shape(x) is emitted once per tensor and shared.
 */
export class Emitter {
  private count = 0;
  private readonly constants = new Map<string, string>();
  private readonly shapes = new Map<string, string>();

  constructor(
    readonly graph: OnnxGraph,
    private readonly taken: Set<string>,
    /** The opset the graph will be encoded with: ops whose form changed are emitted to match it. */
    readonly opset = 17,
  ) {}

  fresh(hint: string): string {
    let name: string;
    do name = `grad/${hint}_${this.count++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Adds a node and returns its (first) output's name. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, hint = op.toLowerCase()): string {
    return this.ops(op, inputs, 1, attrs, hint)[0]!;
  }

  /** Adds a node of another operator set (`domain`, e.g. onnxruntime's contrib ops) and returns its output's name. */
  domainOp(domain: string, op: string, inputs: string[], attrs?: Record<string, AttrValue>): string {
    const name = this.op(op, inputs, attrs);
    this.graph.nodes[this.graph.nodes.length - 1]!.domain = domain;
    return name;
  }

  /** Adds a node with `outputs` outputs and returns their names. */
  ops(op: string, inputs: string[], outputs: number, attrs?: Record<string, AttrValue>, hint = op.toLowerCase()): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    const node: OnnxNode = { op, inputs, outputs: outs };
    if (attrs) node.attrs = attrs;
    this.graph.nodes.push(node);
    return outs;
  }

  /** ReduceMean over constant axes, keeping them: axes an attribute up to opset 17, an input from 18. */
  reduceMean(x: string, axes: readonly number[]): string {
    return this.opset >= 18 ? this.op('ReduceMean', [x, this.ints(axes)], { keepdims: 1 }) : this.op('ReduceMean', [x], { axes: [...axes], keepdims: 1 });
  }

  /** A float32 scalar constant (the backward graph is float32, as graft trains). */
  scalar(value: number): string {
    return this.constant(`f${Math.fround(value)}`, () => ({ dims: [], data: Float32Array.of(value) }));
  }

  /** An int64 vector constant (axes, shapes, split sizes). */
  ints(values: readonly number[]): string {
    return this.constant(`i${values.join(',')}`, () => ({ dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) }));
  }

  /** An int64 scalar constant (Range's start and step). */
  int(value: number): string {
    return this.constant(`s${value}`, () => ({ dims: [], data: BigInt64Array.of(BigInt(value)) }));
  }

  /** A float32 constant tensor, shared under `key`. */
  constantTensor(key: string, dims: number[], data: Float32Array): string {
    return this.constant(`t${key}`, () => ({ dims, data }));
  }

  /** Shape(x), emitted once per tensor. */
  shape(x: string): string {
    let s = this.shapes.get(x);
    if (!s) {
      s = this.op('Shape', [x]);
      this.shapes.set(x, s);
    }
    return s;
  }

  /** dims[from:] of x's runtime shape (the spatial dimensions of an image tensor, for one). */
  shapeFrom(x: string, from: number): string {
    return this.op('Slice', [this.shape(x), this.ints([from]), this.ints([Number.MAX_SAFE_INTEGER])]);
  }

  private constant(key: string, make: () => { dims: number[]; data: Float32Array | BigInt64Array }): string {
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      this.graph.initializers.push({ name, ...make() });
      this.constants.set(key, name);
    }
    return name;
  }
}
