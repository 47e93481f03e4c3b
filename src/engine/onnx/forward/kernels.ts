/** TF.js weight layouts rearranged for ONNX's channels-first operators. */

/** Conv2D kernel [kh, kw, in, out] → ONNX Conv weight [out, in, kh, kw]. */
export function convKernel(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const w = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) w[((o * cin + i) * kh + y) * kw + x] = k[src + o]!;
      }
    }
  }
  return w;
}

/**
 * DepthwiseConv2D kernel [kh, kw, channels, multiplier] → grouped Conv weight
 * [channels × multiplier, 1, kh, kw]. TF numbers the outputs channel-major (c · m + j), which is
 * ONNX's group order too.
 */
export function depthwiseKernel(k: Float32Array, kh: number, kw: number, channels: number, mult: number): Float32Array {
  const w = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let c = 0; c < channels; c++) {
        for (let j = 0; j < mult; j++) w[((c * mult + j) * kh + y) * kw + x] = k[((y * kw + x) * channels + c) * mult + j]!;
      }
    }
  }
  return w;
}

/** Dense kernel [in, out] → a 1×1 Conv weight [out, in, 1, 1] (Dense over the channels of an image). */
export function denseAsConvKernel(k: Float32Array, cin: number, cout: number): Float32Array {
  return convKernel(k, 1, 1, cin, cout);
}
