import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './dist/engine/backend.js';
import { loadKerasModel, loadKerasWeights } from './dist/io/keras/load.js';
import { readFileSync } from 'node:fs';
await initBackend('wasm');
for (const name of ['mlp', 'cnn', 'functional', 'nested', 'nested_functional', 'with_lambda']) {
  const ref = JSON.parse(readFileSync(`fixtures/keras/${name}.json`, 'utf8'));
  for (const ext of ['h5', 'keras']) {
    try {
      const { model, kerasVersion, format } = await loadKerasModel(`fixtures/keras/${name}.${ext}`);
      const x = tf.tensor(ref.input.flat(Infinity), ref.input_shape);
      const y = model.predict(x).dataSync();
      const want = ref.output.flat(Infinity);
      let max = 0; for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(y[i] - want[i]));
      console.log(name, ext, format, kerasVersion, 'maxdiff', max.toExponential(2));
    } catch (e) { console.log(name, ext, 'ERR', e.message.slice(0, 300)); }
  }
}
for (const f of ['/work/shared/fixtures/keras/tf-keras-2.1.6-mlp.h5', '/work/shared/fixtures/keras/keras-3.3.3-cnn.h5', '/work/shared/fixtures/keras/keras-3.3.3-cnn.keras', 'fixtures/keras/windows_paths.keras', 'fixtures/keras/zip_slip.keras', 'fixtures/keras/zip_slip_backslash.keras', 'fixtures/keras/model_a.h5']) {
  try { const { model, kerasVersion, format } = await loadKerasModel(f); console.log(f, format, kerasVersion, model.outputs[0].shape); } catch (e) { console.log(f, 'ERR', e.message.slice(0, 300)); }
}
