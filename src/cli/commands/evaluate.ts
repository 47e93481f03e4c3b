import { GraftError } from '../../errors.js';
import type { Evaluation } from '../../evaluate/evaluate.js';
import { evaluateOn } from '../../evaluate/evaluate.js';
import { loadModel } from '../../io/run-dir.js';
import { prepareTestSet } from '../../workflows/prepare.js';
import { defineCommand } from '../command.js';
import { BACKEND_OPTION, dataOptions, printJson, resizeOption, startBackend } from '../common.js';
import { renderTable } from '../table.js';
import { printOut } from '../terminal-text.js';

export const evaluateCommand = defineCommand({
  name: 'evaluate',
  summary: "Score a model on a task's test set: accuracy, loss, confusion matrix, per-class precision/recall/F1.",
  usage: 'graft evaluate --model MODEL [--task SPEC] [--json]',
  options: {
    model: { type: 'string', value: 'MODEL', description: 'A graft run directory, a TF.js model.json (or its folder), or a Keras .keras/.h5 file' },
    task: { type: 'string', value: 'SPEC', description: "Task spec, e.g. folder:PATH (scores its test part) (default: the run's own task)" },
    'data-dir': { type: 'string', value: 'DIR', description: "Folder with the dataset files; the test files are enough (Fashion-MNIST's t10k images and labels, CIFAR-10's test batch)" },
    offline: { type: 'boolean', description: 'Never download data' },
    resize: { type: 'string', value: 'HOW', description: "folder:/csv: tasks: crop, squash or pad (default: the run's own, else crop)" },
    json: { type: 'boolean', description: 'Print {"accuracy", "loss", "confusion", "perClass"} as JSON' },
    ...BACKEND_OPTION,
  },
  async run({ values: v }) {
    if (!v.model) throw new GraftError('BAD_ARGUMENT', 'graft evaluate needs --model MODEL (a graft run directory, a TF.js model.json, or a Keras .keras/.h5 file).');
    await startBackend(v.backend, v.json);
    const loaded = await loadModel(v.model);
    const task = v.task ?? loaded.run?.task;
    if (!task) throw new GraftError('BAD_ARGUMENT', `${v.model} has no run.json naming its task; pass --task SPEC.`);
    // The user's images are fitted to the model's input the way its training fitted them.
    const resize = resizeOption(v.resize) ?? (loaded.run ? (loaded.run.preprocessing.resize ?? 'squash') : 'crop');
    const data = await prepareTestSet(task, { ...dataOptions({ ...v, seed: '0' }, v.json), resize, modelInput: loaded.model.inputs[0]!.shape });
    const result = (await evaluateOn(loaded.model, data.test)).evaluation;
    if (v.json) printJson({ accuracy: result.accuracy, loss: result.loss, confusion: result.confusion, perClass: result.perClass, count: result.count, task: data.task });
    else {
      printOut(`${v.model} on ${data.task} (test set, ${result.count} images)\n`);
      printEvaluation(result, data.test.classNames);
    }
    return 0;
  },
});

export function printEvaluation(e: Evaluation, classNames: readonly string[]): void {
  printOut(`Test accuracy ${e.accuracy.toFixed(4)}, loss ${e.loss.toFixed(4)}\n`);
  printOut(`${renderTable(['class', 'precision', 'recall', 'F1', 'support'], e.perClass.map((c) => [c.name, c.precision, c.recall, c.f1, c.support]))}\n`);
  const names = classNames.map((n, i) => `${i}:${n}`);
  printOut(`Confusion (rows true, columns predicted):\n${renderTable(['', ...names.map((_, i) => String(i))], e.confusion.map((row, i) => [names[i] ?? String(i), ...row]))}\n`);
}
