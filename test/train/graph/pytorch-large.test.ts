import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missing } from './gradcheck.js';
import { checkCurves, checkGradients, fixture, type CurveLimit, type Fixture, type OnnxEntry } from './pytorch-reference.js';

/**
 * The checks of pytorch-fixtures.test.ts on the large torchvision models (ResNet-18,
 * MobileNetV3-Small, EfficientNet-B0 at 64×64, batch 8) that `make.py --large` writes outside the
 * repository ($GRAFT_ONNX_FIXTURES, else ~/.cache/graft/onnx-fixtures): gradients for every file
 * (folded and keep-bn, four exporter/opset pairs), curves for TorchScript 17 and dynamo 18.
 * Skipped, saying how to make them, when the folder lacks them.
 */
const DIR = process.env.GRAFT_ONNX_FIXTURES ?? path.join(os.homedir(), '.cache/graft/onnx-fixtures');
const MODELS = ['resnet18', 'mobilenet_v3_small', 'efficientnet_b0'];
const absent = MODELS.filter((m) => !existsSync(path.join(DIR, `${m}.ref.json`)));
const why = missing ?? (absent.length ? `no ${absent.join(', ')} references in ${DIR}: run \`python fixtures/onnx/make.py --large\` to make them` : undefined);
if (why) console.log(`pytorch-large: skipped — ${why}`);
// The curve cases take about 8 minutes on 2 cores: opt in, so CI on a machine that has the files stays short.
const curvesWhy = why ?? (process.env.GRAFT_LARGE_CURVES === '1' ? undefined : 'the 12 large-model curve cases take about 8 minutes; set GRAFT_LARGE_CURVES=1 to run them');
if (curvesWhy && !why) console.log(`pytorch-large curves: skipped — ${curvesWhy}`);

const CASES: { fx: Fixture; entry: OnnxEntry }[] = why ? [] : MODELS.flatMap((model) => {
  const fx = fixture(DIR, model);
  return fx.header.onnx.filter((e) => e.ok).map((entry) => ({ fx, entry }));
});
/**
 * PyTorch's own float32 CPU gradient of ResNet-18's 7×7 stride-2 stem convolution, behind
 * training-mode BatchNorm, is 1.2e-2 (relative to its largest element) off the same model's
 * float64 gradient; graft's is 2.4e-6 off it (measured with torch 2.13 on the fixture's batch).
 * Folded graphs (no BatchNorm) are unaffected. That one reference gets a bound above its noise.
 */
const NOISY: Record<string, Record<string, number>> = { resnet18: { 'conv1.weight': 2e-2 } };
/**
 * Curves that PyTorch itself does not reproduce, measured by rerunning its 30 steps (torch 2.13,
 * the fixture's weights and batch) with 2 threads or channels_last instead of 1 thread:
 * - ResNet-18 with BatchNorm folded (no normalisation left) at SGD lr 0.01 overshoots (loss 3.8 →
 *   6.9 at step 2) and becomes chaotic: PyTorch's reruns leave its own curve by more than 1e-3 from
 *   step 11 (SGD) and step 6 (Adam; 2 threads: step 14) and end 6–29% (SGD), 31–220% (Adam) away.
 *   Which branch a run takes is a coin flip: graft on the TorchScript file follows PyTorch's
 *   curve for the dynamo file to 6 digits for 10 steps, and the other way round. Only the steps
 *   PyTorch reproduces are compared.
 * - MobileNetV3-Small, dynamo keep-bn, SGD: graft is 1.9e-3 off at step 18 (loss 7.8e-3,
 *   |Δ| = 1.9e-5), the TorchScript file 5.0e-4; PyTorch's channels_last rerun 3.0e-4. Fed the same
 *   weights, graft's two graphs give losses within 1e-7 and gradients within 1.6e-5 of each other
 *   (float32 noise of BatchNorm-γ gradients, eps 1e-3), so this is the trajectory's sensitivity to
 *   that noise, not a wrong gradient; the bound there is 3e-3.
 */
const CURVE_LIMITS: Record<string, Partial<Record<'sgd' | 'adam', CurveLimit>>> = {
  'resnet18.torchscript-op17.onnx': { sgd: { steps: 11 }, adam: { steps: 6 } },
  'resnet18.dynamo-op18.onnx': { sgd: { steps: 11 }, adam: { steps: 6 } },
  'mobilenet_v3_small.dynamo-op18.keep-bn.onnx': { sgd: { bound: 3e-3 } },
};
// ResNet-18's step on batch 8 takes seconds on two cores; 30 steps twice take minutes.
const TIMEOUT = 600_000;

describe.skipIf(why)('gradients of the large PyTorch-exported models against PyTorch autograd', () => {
  for (const { fx, entry } of CASES) {
    it(`${entry.file}`, async () => {
      const t = performance.now();
      const { parameters, worst } = await checkGradients(fx, entry, 1e-4, entry.variant === 'keep-bn' ? NOISY[fx.model] : undefined);
      if (process.env.GRADCHECK_REPORT) console.log(`pytorch ${entry.file}: ${parameters} parameters, worst ${worst.toExponential(1)}, ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }, TIMEOUT);
  }
});

describe.skipIf(why)('the same gradients with the convolution forms heavy steps run in (conv-gemm.ts, nchwc.ts)', () => {
  // At 64×64 ResNet-18's layer3 and layer4 run on few positions: their Convs and input gradients become GEMMs;
  // the earlier layers' weight gradients become products per sample.
  for (const { fx, entry } of CASES.filter((c) => c.fx.model === 'resnet18' && /torchscript-op17/.test(c.entry.file))) {
    it(`${entry.file}`, async () => {
      const { forms } = await checkGradients(fx, entry, 1e-4, entry.variant === 'keep-bn' ? NOISY[fx.model] : undefined, true);
      expect(forms.gemm).toBeGreaterThanOrEqual(13);
      // layer1's and layer2's 3×3 weight gradients (16×16 and 8×8 positions) are summed per sample.
      expect(forms.batched).toBeGreaterThanOrEqual(7);
    }, TIMEOUT);
  }
});

describe.skipIf(curvesWhy)('30 training steps on the large models follow PyTorch\'s loss curves', () => {
  for (const { fx, entry } of CASES.filter((c) => /torchscript-op17|dynamo-op18/.test(c.entry.file))) {
    it(`${entry.file}: SGD with momentum and Adam`, async () => {
      const t = performance.now();
      const f = await checkCurves(fx, entry, CURVE_LIMITS[entry.file]);
      if (process.env.GRADCHECK_REPORT) console.log(`curves ${entry.file}: sgd ${f.sgd.toExponential(1)}, adam ${f.adam.toExponential(1)}, ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }, TIMEOUT);
  }
});
