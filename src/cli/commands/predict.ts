import { GraftError } from '../../errors.js';
import { loadModel } from '../../io/run-dir.js';
import { predictFiles } from '../../workflows/predict.js';
import { defineCommand } from '../command.js';
import { BACKEND_OPTION, printJson, startBackend } from '../common.js';
import { renderTable } from '../table.js';
import { printOut } from '../terminal-text.js';

export const predictCommand = defineCommand({
  name: 'predict',
  summary: 'Predict classes of PNG images or IDX image files with a trained model.',
  usage: 'graft predict --model MODEL FILE... [--json]',
  options: {
    model: { type: 'string', value: 'MODEL', description: 'A graft run directory or a TF.js model.json' },
    json: { type: 'boolean', description: 'Print the predictions as a JSON array' },
    ...BACKEND_OPTION,
  },
  epilog: 'PNG files are converted to grayscale and resized to the model input; IDX files give one prediction per image.',
  async run({ values: v, positionals }) {
    if (!v.model) throw new GraftError('BAD_ARGUMENT', 'graft predict needs --model MODEL (a run directory or model.json).');
    if (positionals.length === 0) throw new GraftError('BAD_ARGUMENT', 'graft predict needs at least one PNG or IDX file after the options.');
    await startBackend(v.backend, v.json);
    const loaded = await loadModel(v.model);
    const opts: { classNames?: readonly string[]; pixelScale?: number } = {};
    if (loaded.run) {
      opts.classNames = loaded.run.classNames;
      opts.pixelScale = loaded.run.preprocessing.pixelScale;
    }
    const preds = await predictFiles(loaded.model, positionals, opts);
    if (v.json) printJson(preds);
    else
      printOut(
        `${renderTable(['file', 'index', 'class', 'probability'], preds.map((p) => [p.file, p.index === undefined ? '' : String(p.index), p.className, p.probabilities[p.label] ?? NaN]))}\n`,
      );
    return 0;
  },
});
