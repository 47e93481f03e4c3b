import * as tf from '@tensorflow/tfjs-core';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Pad = Parameters<typeof tf.backend_util.computeConv2DInfo>[4];

/**
 * Gradient kernels the wasm backend lacks. TF.js 4.22's wasm backend cannot train Conv2D: it has no
 * Conv2DBackpropFilter. It does ship Conv3DBackpropFilterV2, and a 2-D convolution is a 3-D one with
 * depth 1 over the same memory layout. That kernel is only right for stride 1 (tested), so strides
 * and padding are turned into a stride-1 'valid' problem first: x is padded explicitly, and dy is
 * dilated with zeros between its rows and columns.
 */
export function registerWasmGradKernels(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  const conv3dFilter = kernel('Conv3DBackpropFilterV2');
  const padV2 = kernel('PadV2');
  const slice = kernel('Slice');
  if (!conv3dFilter || !padV2 || !slice) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }: KernelArgs) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as { strides: number | [number, number]; pad: Pad; dataFormat?: string; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
      if (a.dataFormat === 'NCHW') throw new Error('graft: the Conv2D filter gradient on wasm supports channels-last (NHWC) only');
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
      const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
      const temps: tf.TensorInfo[] = [];
      const run = (k: tf.KernelConfig, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>): tf.TensorInfo => {
        const out = k.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
        temps.push(out);
        return out;
      };
      try {
        // Rows of x a stride-1 valid convolution needs: (oh - 1) * sh + kh, starting at -top.
        const needH = (oh - 1) * sh + kh;
        const needW = (ow - 1) * sw + kw;
        const top = info.padInfo.top;
        const left = info.padInfo.left;
        let xs = run(padV2, { x }, { paddings: [[0, 0], [top, Math.max(0, needH - h - top)], [left, Math.max(0, needW - w - left)], [0, 0]], constantValue: 0 });
        if (xs.shape[1] !== needH || xs.shape[2] !== needW) xs = run(slice, { x: xs }, { begin: [0, 0, 0, 0], size: [n, needH, needW, c] });
        let dys = dy;
        if (sh > 1 || sw > 1) {
          // [n, oh, 1, ow, 1, oc] padded to [n, oh, sh, ow, sw, oc] is dy with zeros between samples.
          const spread = run(padV2, { x: { ...dy, shape: [n, oh, 1, ow, 1, oc] } }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
          dys = run(slice, { x: { ...spread, shape: [n, oh * sh, ow * sw, oc] } }, { begin: [0, 0, 0, 0], size: [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, oc] });
        }
        const [dh, dw] = [dys.shape[1]!, dys.shape[2]!];
        const grad = conv3dFilter.kernelFunc({
          inputs: { x: { ...xs, shape: [n, 1, needH, needW, c] }, dy: { ...dys, shape: [n, 1, dh, dw, oc] } },
          backend,
          attrs: { strides: [1, 1, 1], pad: 'valid', filterShape: [1, kh, kw, c, oc] } as unknown as tf.NamedAttrMap,
        }) as tf.TensorInfo;
        return { dataId: grad.dataId, shape: [...a.filterShape], dtype: grad.dtype };
      } finally {
        for (const t of temps) (backend as tf.KernelBackend).disposeData(t.dataId);
      }
    },
  });
}

function kernel(name: string): tf.KernelConfig | undefined {
  return tf.getKernel(name, 'wasm');
}
