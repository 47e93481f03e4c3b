import { describe, expect, it } from 'vitest';
import { DepthwiseKernel, type DepthwiseGeometry } from '../../src/train/onnx/depthwise-kernel.js';
import { Rng } from '../../src/engine/rng.js';

const probe = DepthwiseKernel.create();
if (!probe) console.log('skipping the depthwise-kernel tests: this JavaScript engine has no WebAssembly SIMD');

/** dW by the definition, in float64: Σ_n Σ_y' Σ_x' X[n, c, y'·sh + i·dh − pt, x'·sw + j·dw − pl] · dY[n, c, y', x'] (zero outside X). */
function reference(g: DepthwiseGeometry, x: Float32Array, dy: Float32Array, n: number): Float64Array {
  const [kh, kw] = g.kernel;
  const [h, w] = g.inSize;
  const [ho, wo] = g.outSize;
  const out = new Float64Array(g.channels * kh * kw);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < g.channels; c++) {
      const plane = b * g.channels + c;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          let sum = 0;
          for (let y = 0; y < ho; y++) {
            for (let z = 0; z < wo; z++) {
              const r = y * g.strides[0] + i * g.dilations[0] - g.pads[0];
              const q = z * g.strides[1] + j * g.dilations[1] - g.pads[1];
              if (r >= 0 && r < h && q >= 0 && q < w) sum += x[plane * h * w + r * w + q]! * dy[plane * ho * wo + y * wo + z]!;
            }
          }
          out[(c * kh + i) * kw + j]! += sum;
        }
      }
    }
  }
  return out;
}

/** Output size of a window: ⌊(size + pads − d·(k − 1) − 1) / s⌋ + 1. */
const outSize = (size: number, k: number, s: number, d: number, padsBoth: number): number => Math.floor((size + padsBoth - d * (k - 1) - 1) / s) + 1;

function geometry(channels: number, size: [number, number], kernel: [number, number], strides: [number, number], dilations: [number, number], pads: [number, number, number, number]): DepthwiseGeometry {
  return {
    channels,
    inSize: size,
    outSize: [outSize(size[0], kernel[0], strides[0], dilations[0], pads[0] + pads[2]), outSize(size[1], kernel[1], strides[1], dilations[1], pads[1] + pads[3])],
    kernel,
    strides,
    dilations,
    pads: [pads[0], pads[1]],
  };
}

const CASES: Record<string, DepthwiseGeometry> = {
  '3×3 stride 1 pads 1 on 7×7 (a row not a multiple of four)': geometry(5, [7, 7], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
  '3×3 stride 1 pads 1 on 16×16 (MobileNetV2)': geometry(3, [16, 16], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
  '3×3 stride 2 pads (0, 0, 1, 1) on 16×16 (TF same)': geometry(4, [16, 16], [3, 3], [2, 2], [1, 1], [0, 0, 1, 1]),
  '3×3 stride 2 pads 1 on 13×11': geometry(3, [13, 11], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
  '5×5 stride 3 (one float at a time)': geometry(2, [14, 17], [5, 5], [3, 3], [1, 1], [2, 2, 2, 2]),
  '3×3 dilation 2 pads 2, stride (1, 2)': geometry(3, [10, 12], [3, 3], [1, 2], [2, 2], [2, 2, 2, 2]),
  '2×4 kernel, valid, 2×2 output': geometry(6, [3, 5], [2, 4], [1, 1], [1, 1], [0, 0, 0, 0]),
};

describe.skipIf(!probe)('depthwise weight gradient kernel (depthwise-kernel.ts)', () => {
  it.each(Object.entries(CASES))('%s: the definition’s sums', (_, g) => {
    const kernel = DepthwiseKernel.create()!;
    const n = 3;
    const rng = new Rng(7);
    const xFloats = n * g.channels * g.inSize[0] * g.inSize[1];
    const dyFloats = n * g.channels * g.outSize[0] * g.outSize[1];
    const [x, dy] = kernel.arrays([xFloats, dyFloats], g.channels * g.kernel[0] * g.kernel[1]) as Float32Array[];
    x!.set(Float32Array.from({ length: xFloats }, () => rng.next() - 0.5));
    dy!.set(Float32Array.from({ length: dyFloats }, () => rng.next() - 0.5));
    const got = kernel.weightGradient(g, x!, dy!, n);
    const want = reference(g, x!, dy!, n);
    expect(got.length).toBe(want.length);
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(scale).toBeGreaterThan(0.1);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!), `tap ${i}`).toBeLessThan(1e-5 * scale + 1e-6));
  });

  it('grows its memory for a larger batch, and the sums stay right', () => {
    const kernel = DepthwiseKernel.create()!;
    const g = CASES['3×3 stride 2 pads 1 on 13×11']!;
    const per = g.channels * g.inSize[0] * g.inSize[1];
    const perDy = g.channels * g.outSize[0] * g.outSize[1];
    const rng = new Rng(3);
    for (const n of [1, 64]) {
      const [x, dy] = kernel.arrays([n * per, n * perDy], 27) as Float32Array[];
      x!.set(Float32Array.from({ length: n * per }, () => rng.next() - 0.5));
      dy!.set(Float32Array.from({ length: n * perDy }, () => rng.next() - 0.5));
      const want = reference(g, x!, dy!, n);
      const got = kernel.weightGradient(g, x!, dy!, n);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4));
    }
  });
});
