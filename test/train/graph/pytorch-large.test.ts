import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { missing } from './gradcheck.js';
import { checkCurves, checkGradients, fixture, type Fixture, type OnnxEntry } from './pytorch-reference.js';

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

const CASES: { fx: Fixture; entry: OnnxEntry }[] = why ? [] : MODELS.flatMap((model) => {
  const fx = fixture(DIR, model);
  return fx.header.onnx.filter((e) => e.ok).map((entry) => ({ fx, entry }));
});
// ResNet-18's step on batch 8 takes seconds on two cores; 30 steps twice take minutes.
const TIMEOUT = 600_000;

describe.skipIf(why)('gradients of the large PyTorch-exported models against PyTorch autograd', () => {
  for (const { fx, entry } of CASES) {
    it(`${entry.file}`, async () => {
      const t = performance.now();
      const { parameters, worst } = await checkGradients(fx, entry);
      if (process.env.GRADCHECK_REPORT) console.log(`pytorch ${entry.file}: ${parameters} parameters, worst ${worst.toExponential(1)}, ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }, TIMEOUT);
  }
});

describe.skipIf(why)('30 training steps on the large models follow PyTorch\'s loss curves', () => {
  for (const { fx, entry } of CASES.filter((c) => /torchscript-op17|dynamo-op18/.test(c.entry.file))) {
    it(`${entry.file}: SGD with momentum and Adam`, async () => {
      const t = performance.now();
      const f = await checkCurves(fx, entry);
      if (process.env.GRADCHECK_REPORT) console.log(`curves ${entry.file}: sgd ${f.sgd.toExponential(1)}, adam ${f.adam.toExponential(1)}, ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }, TIMEOUT);
  }
});
