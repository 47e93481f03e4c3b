// Exports graft models to .keras with graft's predictions on fixed inputs, for
// scripts/keras_roundtrip.py to load in real Keras and compare. Usage: node scripts/keras-roundtrip.mjs OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, buildMlp, buildSmallCnn, transfer, loadModel } from '../dist/index.js';
import { toKerasArchive } from '../dist/io/keras/export.js';

const out = process.argv[2] ?? '/tmp/graft-roundtrip';
mkdirSync(out, { recursive: true });
await initBackend('wasm');
const models = {
  mlp: buildMlp({ classes: 8, seed: 3 }),
  cnn: buildSmallCnn({ classes: 10, seed: 4 }),
  transferred: (await transfer(buildSmallCnn({ classes: 10, seed: 5 }), { head: { classes: 2, hidden: 16 } })).model,
};
for (const f of ['functional', 'nested', 'nested_functional', 'cnn']) models[`keras_${f}`] = (await loadModel(`fixtures/keras/${f}.keras`)).model;
for (const [name, model] of Object.entries(models)) {
  const shape = model.inputs[0].shape.slice(1);
  const x = tf.randomUniform([3, ...shape], 0, 1, 'float32', 7);
  const y = model.predict(x);
  writeFileSync(path.join(out, `${name}.keras`), await toKerasArchive(model));
  writeFileSync(path.join(out, `${name}.json`), JSON.stringify({ shape: [3, ...shape], input: Array.from(x.dataSync()), output: Array.from(y.dataSync()) }));
  console.log('exported', name);
}
