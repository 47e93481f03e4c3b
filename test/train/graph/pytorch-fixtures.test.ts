import * as path from 'node:path';
import { describe, it } from 'vitest';
import { missing } from './gradcheck.js';
import { checkCurves, checkGradients, fixture } from './pytorch-reference.js';

/**
 * The op-level autodiff on graphs PyTorch exported (the committed fixtures/onnx, made by make.py;
 * see its README), against PyTorch autograd: one backward of the mean cross-entropy of the logits
 * on the stored batch, every trained initializer's gradient within 1e-4 of its largest element,
 * and 30 SGD/Adam steps following PyTorch's loss curves (pytorch-reference.ts has the checks).
 * The large models are in pytorch-large.test.ts.
 */
const DIR = path.resolve(__dirname, '../../../fixtures/onnx');
const CASES = ['convnet', 'bert-tiny'].flatMap((model) => {
  const fx = fixture(DIR, model);
  return fx.header.onnx.filter((e) => e.ok).map((entry) => ({ fx, entry }));
});

describe.skipIf(missing)('gradients of PyTorch-exported graphs against PyTorch autograd', () => {
  for (const { fx, entry } of CASES) {
    it(`${entry.file}`, async () => {
      const { parameters, worst } = await checkGradients(fx, entry);
      if (process.env.GRADCHECK_REPORT) console.log(`pytorch ${entry.file}: ${parameters} parameters, worst ${worst.toExponential(1)}`);
    });
  }
});

describe.skipIf(missing)('30 training steps on PyTorch-exported graphs follow PyTorch\'s loss curves', () => {
  for (const { fx, entry } of CASES.filter((c) => /torchscript-op17|dynamo-op18/.test(c.entry.file))) {
    it(`${entry.file}: SGD with momentum and Adam`, async () => {
      const f = await checkCurves(fx, entry);
      if (process.env.GRADCHECK_REPORT) console.log(`curves ${entry.file}: sgd ${f.sgd.toExponential(1)}, adam ${f.adam.toExponential(1)}`);
    });
  }
});
