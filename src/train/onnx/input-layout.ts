import type { OnnxGraph, OnnxValue } from '../../engine/onnx/model-proto.js';
import { intsAttr } from '../graph/attrs.js';

const TO_CHANNELS_FIRST = [0, 3, 1, 2];

/**
 * The step graph taking its image input `name` channels first ([N, C, H, W]) where its only use
 * was a Transpose to that layout from graft's channels-last batch ([N, H, W, C]): the Transpose goes
 * and GraphStepper writes the batch transposed as it copies it in (channelsFirst). Why: onnxruntime
 * moved that Transpose, three floats deep, at about 8 ns a float (3 ms of a 64 × 64 batch of 32
 * profiled, bench/RESULTS.md); the copy does it for about 1. Undefined where the graph does not
 * start so (any other use of the input, a rank other than 4, or the Transpose's output a graph output).
 */
export function channelsFirstInput(graph: OnnxGraph, name: string): OnnxGraph | undefined {
  const input = graph.inputs.find((i) => i.name === name);
  if (input?.shape?.length !== 4) return undefined;
  const users = graph.nodes.filter((n) => n.inputs.includes(name));
  if (users.length === 0 || graph.outputs.some((o) => o.name === name)) return undefined;
  const plain = users.every((n) => n.op === 'Transpose' && n.inputs.length === 1 && String(intsAttr(n, 'perm')) === String(TO_CHANNELS_FIRST));
  if (!plain || users.some((n) => graph.outputs.some((o) => o.name === n.outputs[0]))) return undefined;
  const gone = new Set(users.map((n) => n.outputs[0]!));
  const rename = (v: string): string => (gone.has(v) ? name : v);
  const [n, h, w, c] = input.shape;
  const nchw: OnnxValue = { ...input, shape: [n!, c!, h!, w!] };
  return {
    ...graph,
    inputs: graph.inputs.map((i) => (i.name === name ? nchw : i)),
    nodes: graph.nodes.filter((node) => !users.includes(node)).map((node) => (node.inputs.some((v) => gone.has(v)) ? { ...node, inputs: node.inputs.map(rename) } : node)),
    valueInfo: graph.valueInfo?.filter((v) => !gone.has(v.name)),
  };
}

/** `into` [m, c, h·w] = `from` [m, h·w, c]: a channels-last batch written channels first (RGB in three streams: 0.64 against 0.95 ms for a 64 × 64 batch of 32). */
export function channelsFirst(from: Float32Array, into: Float32Array, m: number, pixels: number, c: number): void {
  for (let s = 0; s < m; s++) {
    const base = s * pixels * c;
    if (c === 3) {
      for (let p = 0, j = base, r = base, g = base + pixels, b = base + 2 * pixels; p < pixels; p++, j += 3) {
        into[r++] = from[j]!;
        into[g++] = from[j + 1]!;
        into[b++] = from[j + 2]!;
      }
      continue;
    }
    for (let k = 0; k < c; k++) {
      for (let p = 0, j = base + k, o = base + k * pixels; p < pixels; p++, j += c) into[o++] = from[j]!;
    }
  }
}
