import { unsupported } from './unsupported.js';

/**
 * ONNX `pads` ([top, left, bottom, right]) reproducing TF's padding for a 2-D window op. TF's
 * 'same' pads so the output has ceil(in / stride) positions and puts the odd pixel at the end
 * (bottom/right); ONNX's SAME_UPPER agrees, but explicit pads keep the graph unambiguous.
 */
export function tfPads(padding: unknown, input: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[] = [1, 1]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') return unsupported(`padding ${JSON.stringify(padding)}`);
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const k = (kernel[i]! - 1) * dilations[i]! + 1;
    const out = Math.ceil(input[i]! / strides[i]!);
    const total = Math.max((out - 1) * strides[i]! + k - input[i]!, 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return [...before, ...after];
}

/** A Keras size argument (kernelSize, strides, dilationRate, poolSize) as two numbers. */
export function pair(v: unknown, what: string): [number, number] {
  const list = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 1 ? [v[0], v[0]] : v;
  if (!Array.isArray(list) || list.length !== 2 || !list.every((n) => Number.isInteger(n) && n > 0)) return unsupported(`${what} ${JSON.stringify(v)}`);
  return list as [number, number];
}
