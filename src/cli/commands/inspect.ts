import { GraftError } from '../../errors.js';
import { describeModel } from '../../models/summary.js';
import { isOnnxFile } from '../../io/onnx/read.js';
import { loadModel } from '../../io/run-dir.js';
import { defineCommand } from '../command.js';
import { BACKEND_OPTION, printJson, startBackend } from '../common.js';
import { renderTable } from '../table.js';
import { inspectOnnx } from './inspect-onnx.js';
import { printOut } from '../terminal-text.js';

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'List a model\'s layers (name, class, output shape, parameters, trainable) and where it came from.',
  usage: 'graft inspect MODEL [--json]',
  options: {
    json: { type: 'boolean', description: 'Print the layer table as JSON' },
    ...BACKEND_OPTION,
  },
  epilog: 'MODEL: a graft run directory, a TF.js model.json, a Keras .h5 or .keras file, an ONNX .onnx file.',
  async run({ values: v, positionals }) {
    const [location] = positionals;
    if (!location || positionals.length > 1) throw new GraftError('BAD_ARGUMENT', `graft inspect takes one model path; received ${positionals.length}.`);
    // ONNX is read by graft itself: no TF.js backend to start.
    if (await isOnnxFile(location)) {
      await inspectOnnx(location, v.json);
      return 0;
    }
    await startBackend(v.backend, true);
    const loaded = await loadModel(location);
    const summary = describeModel(loaded.model);
    const origin = { format: loaded.format, ...(loaded.kerasVersion && { kerasVersion: loaded.kerasVersion }), ...(loaded.run && { task: loaded.run.task, classNames: loaded.run.classNames }) };
    if (v.json) {
      printJson({ ...origin, ...summary });
      return 0;
    }
    const from = loaded.kerasVersion ? `, written by Keras ${loaded.kerasVersion}` : '';
    printOut(`${location}: ${loaded.format}${from}${loaded.run ? `, task ${loaded.run.task}` : ''}\n`);
    printOut(`${renderTable(['layer', 'class', 'output shape', 'params', 'trainable'], summary.layers.map((l) => [l.name, l.className, `[${l.outputShape.map((d) => d ?? '?').join(', ')}]`, l.params, l.trainable ? 'yes' : 'no']))}\n`);
    printOut(`Total parameters ${summary.totalParams} (${summary.trainableParams} trainable); input [${summary.inputShape.map((d) => d ?? '?').join(', ')}]\n`);
    return 0;
  },
});
