import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { claimStudyOutput } from '../../io/study-output.js';
import { ONNX_SOURCE_OPTIONS, loadFromSource } from '../source-options.js';
import { LAYERS_DEFAULTS, checkLayersValidation, layerTransferability, type LayersOptions, type LayersResult } from '../../workflows/layers.js';
import { claimShardOutput, layersShard, parseShard, writeShardFile } from '../../workflows/shard.js';
import { checkQueueFlags, layersOnQueue } from '../../workflows/queue/run.js';
import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, useEngine, optimizerOption, printJson, startBackend, RESIZE_OPTION, resizeOption } from '../common.js';
import { renderTable } from '../table.js';
import { writeReportFor } from '../report-file.js';
import { printErr, printOut } from '../terminal-text.js';
import { CLASS_WEIGHT_OPTION, classWeightOption } from '../class-weight-option.js';
import { ONE_PHASE_TRAINING_OPTIONS, studyTrainingOptions } from '../study-training-option.js';

export const layersCommand = defineCommand({
  name: 'layers',
  summary: 'Layer transferability (Yosinski et al. 2014): copy the first n layers, frozen vs fine-tuned vs scratch.',
  usage: 'graft layers --from MODEL --task SPEC [--per-class N] [--seeds 3] [--out DIR] [--shard K/N | --queue redis://HOST:PORT]',
  options: {
    from: { type: 'string', value: 'MODEL', description: 'Source model (run dir, model.json, .h5, .keras, .onnx or hf:ORG/NAME)' },
    ...ONNX_SOURCE_OPTIONS,
    task: { type: 'string', value: 'SPEC', description: 'Target task, e.g. fashion-mnist:binary=shirt,sandal or folder:PATH' },
    'per-class': { type: 'string', value: 'N', description: 'Training images per class (default: all)' },
    seeds: { type: 'string', value: 'N', default: String(LAYERS_DEFAULTS.seeds), description: 'Seeds per point' },
    epochs: { type: 'string', value: 'N', default: String(LAYERS_DEFAULTS.epochs), description: 'Epochs for every arm' },
    optimizer: { type: 'string', value: 'NAME', default: LAYERS_DEFAULTS.optimizer.name, description: 'sgd, adam, adamw or rmsprop' },
    lr: { type: 'string', value: 'RATE', default: String(LAYERS_DEFAULTS.optimizer.learningRate), description: 'Learning rate' },
    'val-split': { type: 'string', value: 'F', description: 'Hold out this fraction of the training images for --keep best and --reduce-on-plateau (default none)' },
    ...ONE_PHASE_TRAINING_OPTIONS,
    ...CLASS_WEIGHT_OPTION,
    out: { type: 'string', value: 'DIR', description: 'Write layers.json and report.html here (default runs/layers)' },
    shard: { type: 'string', value: 'K/N', description: 'Run only the K-th of N shares of the trials and write layers.shard-K-of-N.json (join them with graft merge); auto/N reads K from JOB_COMPLETION_INDEX (+1) or SLURM_ARRAY_TASK_ID' },
    queue: { type: 'string', value: 'URL', description: 'Put the trials on a Redis queue (redis://HOST:PORT[/DB]) for `graft worker URL` processes, and collect their results (needs npm install bullmq)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'Folder with the dataset files' },
    offline: { type: 'boolean', description: 'Never download data' },
    ...RESIZE_OPTION,
    force: { type: 'boolean', description: 'Replace layers.json and report.html in --out (only files graft wrote)' },
    json: { type: 'boolean', description: 'Print the result as JSON' },
    ...BACKEND_OPTION,
    ...ENGINE_OPTION,
  },
  async run({ values: v }) {
    if (!v.from || !v.task) throw new GraftError('BAD_ARGUMENT', 'graft layers needs --from MODEL and --task SPEC.');
    const out = v.out ?? path.join('runs', 'layers');
    const resultFile = path.join(out, 'layers.json');
    checkQueueFlags(v.queue, v.shard);
    const shard = v.shard === undefined ? undefined : parseShard(v.shard);
    const perClass = numberOption('per-class', v['per-class'], { integer: true, min: 1 });
    const epochs = numberOption('epochs', v.epochs, { integer: true, min: 1 })!;
    const seeds = numberOption('seeds', v.seeds, { integer: true, min: 1 })!;
    const optimizer = optimizerOption(v.optimizer, v.lr, v.momentum, '', v['weight-decay'])!;
    const training = studyTrainingOptions(v, undefined);
    const valSplit = numberOption('val-split', v['val-split'], { min: 0.05, max: 0.5 });
    const classWeight = classWeightOption(v['class-weight']);
    checkLayersValidation({ ...training.study, valSplit });
    useEngine(v.engine);
    await startBackend(v.backend, v.json);
    const source = await loadFromSource({ ...v, from: v.from });
    // After every option is checked and the source loads: a refused command leaves nothing behind.
    const shardFile = shard ? await claimShardOutput(out, 'layers', shard, { force: v.force }) : undefined;
    if (!shard) await claimStudyOutput(out, 'layers', resultFile, { force: v.force });
    const options: LayersOptions = {
      source: source.model,
      sourcePath: v.from,
      ...(source.onnx && { cut: -1 }),
      task: v.task,
      epochs,
      seeds,
      optimizer,
      ...training.unfrozen,
      ...training.study,
      ...(valSplit !== undefined && { valSplit }),
      ...(classWeight !== undefined && { classWeight }),
      ...(perClass !== undefined && { perClass }),
      ...(v['data-dir'] !== undefined && { dataDir: v['data-dir'] }),
      ...(v.offline && { download: false }),
      ...(v.resize !== undefined && { resize: resizeOption(v.resize)! }),
      onPoint: (n, arm, seed, acc) => {
        if (!v.json) printErr(`n=${n} ${arm.padEnd(10)} seed ${seed}: test accuracy ${(100 * acc).toFixed(2)}%\n`);
      },
    };
    if (shard && shardFile) {
      const part = await layersShard(options, v.from, shard);
      await writeShardFile(shardFile, part);
      if (v.json) printJson(part);
      else printOut(`Shard ${shard.index} of ${shard.count}: ${part.results.length} of ${part.total} trials. Wrote ${shardFile}; when all ${shard.count} are done: graft merge ${out}\n`);
      return 0;
    }
    const onLine = (l: string): void => void (v.json || printErr(`graft layers: ${l}\n`));
    const r = v.queue !== undefined ? (await layersOnQueue(options, { queue: v.queue, out, force: v.force, sourceLocation: v.from, onLine })).result : await layerTransferability(options);
    await writeFileAtomic(resultFile, `${JSON.stringify(r, null, 2)}\n`);
    const report = await writeReportFor(out);
    if (v.json) printJson(r);
    else {
      printLayers(r);
      printOut(`Wrote ${path.join(out, 'layers.json')} and ${report}\n`);
    }
    return 0;
  },
});

export function printLayers(r: LayersResult): void {
  const cell = (i: { mean: number; halfWidth: number }): string => `${(100 * i.mean).toFixed(2)}% ± ${Number.isFinite(i.halfWidth) ? (100 * i.halfWidth).toFixed(2) : '—'}`;
  printOut(`\n${r.task}: test accuracy with the first n weight layers of ${r.source} copied (${r.seeds.length} seeds, ${r.epochs} epochs, mean ± 95% CI)\n`);
  printOut(`${renderTable(['n', 'last copied layer', 'copied + frozen', 'copied + fine-tuned', 'scratch'], r.points.map((p) => [String(p.n), p.layer, cell(p.arms.frozen), cell(p.arms['fine-tuned']), cell(p.arms.scratch)]))}\n`);
}
