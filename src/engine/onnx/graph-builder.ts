import { FLOAT, type AttrValue, type OnnxGraph, type OnnxValue } from './model-proto.js';

/** Builds an ONNX graph op by op, naming intermediate values and sharing constants. */
export class GraphBuilder {
  readonly graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializers: [] };
  private count = 0;
  private readonly constants = new Map<string, string>();

  input(name: string, shape: OnnxValue['shape'], type: OnnxValue['type'] = FLOAT): string {
    this.graph.inputs.push({ name, shape, type });
    return name;
  }

  output(value: string, name: string, shape: OnnxValue['shape']): void {
    this.graph.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
    this.graph.outputs.push({ name, shape });
  }

  /** Adds a node and returns the name of its (first) output. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, hint = op.toLowerCase()): string {
    const out = `${hint}_${this.count++}`;
    this.graph.nodes.push(attrs ? { op, inputs, outputs: [out], attrs } : { op, inputs, outputs: [out] });
    return out;
  }

  /** A float32 scalar constant (stored as a float32, so the graph sees exactly Math.fround(value)). */
  scalar(value: number): string {
    const key = `f${Math.fround(value)}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}`;
      this.graph.initializers.push({ name, dims: [], data: Float32Array.of(value) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 vector constant (axes and shapes for ReduceSum, Reshape). */
  ints(values: number[]): string {
    const key = `i${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}`;
      this.graph.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
      this.constants.set(key, name);
    }
    return name;
  }
}
