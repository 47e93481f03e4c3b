// The whole-network models the step benchmarks train (step-time.mjs, step-ab.mjs, step-pair.mjs):
// ResNet-18 from the ONNX file bench/resnet18.mjs uses, or MobileNetV2 α 0.35 with cnn.mjs's head
// (Dense 256 relu), at 64×64, one sigmoid unit on top. Plain Node ESM.
import os from 'node:os';
import path from 'node:path';

export const RESNET18_INIT = path.join(os.homedir(), '.cache/graft/onnx-fixtures/resnet18-64.onnx');

/** The model `which` built with `index` (a graft build's index.js) and TF.js layers `tfl`. */
export async function stepModel(tfl, index, which, init = RESNET18_INIT) {
  let base;
  if (which === 'resnet18') base = (await index.loadOnnxSource(init, { preprocess: 'imagenet' })).model;
  else if (which === 'mobilenetv2') base = index.buildMobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3] });
  else throw new Error(`--model takes resnet18 or mobilenetv2, received ${which}`);
  const input = tfl.input({ shape: [64, 64, 3] });
  let h = base.apply(input);
  if (h.shape.length === 4) h = tfl.layers.globalAveragePooling2d({}).apply(h);
  if (which === 'mobilenetv2') h = tfl.layers.dense({ units: 256, activation: 'relu' }).apply(h);
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(h) });
}
