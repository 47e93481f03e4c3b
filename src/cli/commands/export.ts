import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { loadModel } from '../../io/run-dir.js';
import { exportModel } from '../../io/export-model.js';
import { defineCommand } from '../command.js';
import { BACKEND_OPTION, startBackend } from '../common.js';
import { printOut } from '../terminal-text.js';
import { predictPreprocessing } from '../../workflows/predict.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'Write a model as a Keras 3 .keras file, an ONNX .onnx model or a TF.js layers model folder.',
  usage: 'graft export MODEL --to OUT.keras|OUT.onnx|OUT_DIR [--force]',
  options: {
    to: { type: 'string', value: 'PATH', description: 'OUT.keras for Keras 3; OUT.onnx for onnxruntime (inference); any other path is a folder for TF.js (model.json + weights.bin)' },
    force: { type: 'boolean', description: 'Replace an existing output' },
    ...BACKEND_OPTION,
  },
  epilog:
    'MODEL: a graft run directory, a TF.js model.json, a Keras .h5 or .keras file.\n' +
    'ONNX: input "image" float32 [n, height, width, channels] (channels last; pixels as graft feeds them, in [0, 1] for graft runs), ' +
    'output "probabilities" [n, classes] (as graft predict reports them); class names, task and input convention are in the metadata. ' +
    'A layer with no ONNX translation is refused, named.',
  async run({ values: v, positionals }) {
    const [location] = positionals;
    if (!location || positionals.length > 1) throw new GraftError('BAD_ARGUMENT', `graft export takes one model path; received ${positionals.length}.`);
    if (!v.to) throw new GraftError('BAD_ARGUMENT', 'graft export needs --to OUT.keras (Keras 3), --to OUT.onnx (ONNX) or --to OUT_DIR (TF.js layers model).');
    await startBackend(v.backend, true);
    const loaded = await loadModel(location);
    const format = await exportModel(loaded.model, v.to, {
      force: v.force,
      ...(loaded.run && { run: loaded.run }),
      input: predictPreprocessing(loaded.model, loaded.run),
    });
    printOut(`Wrote ${path.resolve(v.to)} (${format})\n`);
    return 0;
  },
});
