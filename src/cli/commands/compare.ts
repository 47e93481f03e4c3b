import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import type { CompareResult, TrainSize } from '../../evaluate/compare-result.js';
import { ONNX_SOURCE_OPTIONS, loadFromSource } from '../source-options.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { differencePoints } from '../../report/format.js';
import { claimStudyOutput } from '../../io/study-output.js';
import { parseFreezePolicy } from '../../transfer/freeze.js';
import { parseLayerRef } from '../../transfer/layer-ref.js';
import { COMPARE_DEFAULTS, describeTrial, type CompareOptions } from '../../workflows/compare.js';
import { prepareTask } from '../../workflows/prepare.js';
import { isUserTaskSpec } from '../../data/user-task.js';
import { compareParallel, defaultWorkers } from '../../workflows/compare-parallel.js';
import { claimShardOutput, compareShard, parseShard, writeShardFile } from '../../workflows/shard.js';
import { checkQueueFlags, compareOnQueue } from '../../workflows/queue/run.js';
import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, batchSizeOption, useEngine, optimizerOption, printJson, startBackend, RESIZE_OPTION, resizeOption } from '../common.js';
import { renderTable } from '../table.js';
import { writeReportFor } from '../report-file.js';
import { printErr, printOut } from '../terminal-text.js';
import { CLASS_WEIGHT_OPTION, classWeightOption } from '../class-weight-option.js';
import { STUDY_TRAINING_OPTIONS, studyTrainingOptions } from '../study-training-option.js';

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const ci = (m: number, h: number): string => `${pct(m)} ± ${Number.isFinite(h) ? (100 * h).toFixed(1) : '—'}`;

export const compareCommand = defineCommand({
  name: 'compare',
  summary: 'Did transfer help? Transfer vs the same architecture from scratch, over train sizes and seeds, with 95% CIs.',
  usage: 'graft compare --from MODEL --task SPEC [--per-class 10,50,200,all] [--seeds 5] [--out DIR] [--shard K/N | --queue redis://HOST:PORT]',
  options: {
    from: { type: 'string', value: 'MODEL', description: 'Source model (run dir, model.json, .h5, .keras, .onnx or hf:ORG/NAME)' },
    ...ONNX_SOURCE_OPTIONS,
    task: { type: 'string', value: 'SPEC', description: 'Target task, e.g. fashion-mnist:binary=shirt,sandal, or your own images: folder:PATH, csv:FILE' },
    'per-class': { type: 'string', value: 'LIST', default: COMPARE_DEFAULTS.trainSizes.join(','), description: 'Training images per class to compare at ("all" = the whole training set)' },
    seeds: { type: 'string', value: 'N', default: String(COMPARE_DEFAULTS.seeds), description: 'Seeds per train size (each: its own subsample, split and initialisation)' },
    out: { type: 'string', value: 'DIR', description: 'Write compare.json and report.html here (default runs/compare)' },
    workers: { type: 'string', value: 'N', description: 'Worker threads running trials in parallel (default: one per core)' },
    shard: { type: 'string', value: 'K/N', description: 'Run only the K-th of N shares of the trials and write compare.shard-K-of-N.json (join them with graft merge); auto/N reads K from JOB_COMPLETION_INDEX (+1) or SLURM_ARRAY_TASK_ID' },
    queue: { type: 'string', value: 'URL', description: 'Put the trials on a Redis queue (redis://HOST:PORT[/DB]) for `graft worker URL` processes on any machines, and collect their results (needs npm install bullmq)' },
    cut: { type: 'string', value: 'LAYER', description: 'Last reused layer (default: all but the output layer); for ONNX sources a tensor or node name' },
    freeze: { type: 'string', value: 'POLICY', default: 'all', description: 'Reused layers frozen in phase 1: all, none, first:N, /regex/, names, or weights:/regex/ (single weights)' },
    'frozen-epochs': { type: 'string', value: 'N', default: String(COMPARE_DEFAULTS.frozen.epochs), description: 'Epochs with the reused layers frozen' },
    'frozen-optimizer': { type: 'string', value: 'NAME', default: COMPARE_DEFAULTS.frozen.optimizer.name, description: 'Optimizer of the frozen phase (and, at --lr, the unfrozen one), and of the scratch arm: sgd, adam, adamw or rmsprop' },
    'frozen-lr': { type: 'string', value: 'RATE', default: String(COMPARE_DEFAULTS.frozen.optimizer.learningRate), description: 'Learning rate of the frozen phase and of the scratch arm' },
    epochs: { type: 'string', value: 'N', default: String(COMPARE_DEFAULTS.unfrozen.epochs), description: 'Epochs unfrozen (the scratch arm trains frozen + unfrozen epochs)' },
    lr: { type: 'string', value: 'RATE', description: 'Learning rate unfrozen (default: a tenth of --frozen-lr)' },
    'val-split': { type: 'string', value: 'F', default: String(COMPARE_DEFAULTS.valSplit), description: 'Fraction of training images held out for early stopping' },
    'early-stopping': { type: 'string', value: 'PATIENCE', default: String(COMPARE_DEFAULTS.earlyStoppingPatience), description: 'Patience on validation loss, or "off"' },
    'batch-size': { type: 'string', value: 'N', default: String(COMPARE_DEFAULTS.batchSize), description: 'Samples per step' },
    ...CLASS_WEIGHT_OPTION,
    ...STUDY_TRAINING_OPTIONS,
    'data-dir': { type: 'string', value: 'DIR', description: 'Folder with the dataset files' },
    offline: { type: 'boolean', description: 'Never download data' },
    ...RESIZE_OPTION,
    force: { type: 'boolean', description: 'Replace compare.json and report.html in --out (only files graft wrote)' },
    json: { type: 'boolean', description: 'Print the whole result (every trial) as JSON' },
    ...BACKEND_OPTION,
    ...ENGINE_OPTION,
  },
  epilog: 'Example: graft compare --from runs/seed/model-a --task fashion-mnist:binary=shirt,sandal --per-class 10,50,200 --seeds 5',
  async run({ values: v }) {
    if (!v.from) throw new GraftError('BAD_ARGUMENT', 'graft compare needs --from MODEL.');
    if (!v.task) throw new GraftError('BAD_ARGUMENT', 'graft compare needs --task SPEC, e.g. fashion-mnist:binary=shirt,sandal.');
    const out = v.out ?? path.join('runs', 'compare');
    const resultFile = path.join(out, 'compare.json');
    const classWeight = classWeightOption(v['class-weight']);
    checkQueueFlags(v.queue, v.shard);
    const shard = v.shard === undefined ? undefined : parseShard(v.shard);
    const trainSizes = v['per-class'].split(',').map((s): TrainSize => (s.trim() === 'all' ? 'all' : numberOption('per-class', s.trim(), { integer: true, min: 1 })!));
    useEngine(v.engine);
    const backend = await startBackend(v.backend, v.json);
    const source = await loadFromSource({ ...v, from: v.from });
    const frozenOptimizer = optimizerOption(v['frozen-optimizer'], v['frozen-lr'], v.momentum, 'frozen-', v['weight-decay'])!;
    const patience = v['early-stopping'] === 'off' ? null : numberOption('early-stopping', v['early-stopping'], { integer: true, min: 1 })!;
    const training = studyTrainingOptions(v, patience ?? undefined);
    const opts: CompareOptions = {
      source: source.model,
      sourcePath: v.from,
      task: v.task,
      trainSizes,
      seeds: numberOption('seeds', v.seeds, { integer: true, min: 1, max: 1000 })!,
      freeze: parseFreezePolicy(v.freeze),
      frozen: { epochs: numberOption('frozen-epochs', v['frozen-epochs'], { integer: true, min: 0 })!, optimizer: frozenOptimizer, ...training.frozen },
      unfrozen: {
        epochs: numberOption('epochs', v.epochs, { integer: true, min: 0 })!,
        optimizer: { ...frozenOptimizer, learningRate: numberOption('lr', v.lr, { above: 0 }) ?? frozenOptimizer.learningRate! / 10 },
        ...training.unfrozen,
      },
      ...training.study,
      valSplit: numberOption('val-split', v['val-split'], { min: 0.05, max: 0.5 })!,
      earlyStoppingPatience: patience,
      batchSize: batchSizeOption(v['batch-size'])!,
      ...(classWeight !== undefined && { classWeight }),
      // An ONNX source is cut when it is read and reused whole.
      ...(source.onnx ? { cut: -1 } : v.cut !== undefined && { cut: parseLayerRef(v.cut) }),
      ...(v['data-dir'] !== undefined && { dataDir: v['data-dir'] }),
      ...(v.offline && { download: false }),
      ...(v.resize !== undefined && { resize: resizeOption(v.resize)! }),
      onTrial: (t, done, total) => {
        if (!v.json) printErr(`${describeTrial(t, done, total)}\n`);
      },
    };
    // Fail now, not after every trial has run, if the results cannot be written.
    const shardFile = shard ? await claimShardOutput(out, 'compare', shard, { force: v.force }) : undefined;
    if (!shard) await claimStudyOutput(out, 'compare', resultFile, { force: v.force });
    // The user's images: decode them once now (the trials read the cache) and state sizes, imbalance and skipped files.
    if (isUserTaskSpec(v.task)) await prepareTask(v.task, { modelInput: source.model.inputs[0]!.shape, ...(opts.resize && { resize: opts.resize }), onNote: (l) => printErr(`graft: ${l}\n`) });
    const workers = numberOption('workers', v.workers, { integer: true, min: 1, max: 64 }) ?? defaultWorkers();
    if (!v.json) printErr(`graft compare: ${trainSizes.length} train sizes × ${opts.seeds} seeds × 2 arms on ${workers} worker${workers > 1 ? 's' : ''} (${backend.description})\n`);
    if (shard && shardFile) {
      const part = await compareShard(opts, { workers, sourceLocation: v.from, backend: backend.name }, shard);
      await writeShardFile(shardFile, part);
      if (v.json) printJson(part);
      else printOut(`\nShard ${shard.index} of ${shard.count}: ${part.results.length} of ${part.total} (train size, seed) pairs. Wrote ${shardFile}; when all ${shard.count} are done: graft merge ${out}\n`);
      return 0;
    }
    const onLine = (l: string): void => void (v.json || printErr(`graft compare: ${l}\n`));
    const result = v.queue !== undefined ? (await compareOnQueue(opts, { queue: v.queue, out, force: v.force, sourceLocation: v.from, onLine })).result : await compareParallel(opts, { workers, sourceLocation: v.from, backend: backend.name });
    await writeFileAtomic(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    const report = await writeReportFor(out);
    if (v.json) {
      printJson(result);
      return 0;
    }
    printCompare(result);
    printOut(`\nWrote ${resultFile}${report ? ` and ${report}` : ''}\n`);
    return 0;
  },
});

/** "+1.20 [-0.04, +2.44]": more decimals where 2 would print a bound that crosses zero as 0.00. */
function differenceCell(d: CompareResult['rows'][number]['difference']): string {
  const shown = differencePoints(d, 2);
  return `${shown.mean} [${shown.low}, ${shown.high}]`.replace(/−/g, '-');
}

export function printCompare(r: CompareResult): void {
  printOut(`\n${r.task}: transfer from ${r.source} vs the same architecture from scratch, ${r.seeds.length} seeds each (test error, mean ± 95% CI)\n`);
  const rows = r.rows.map((row) => [
    row.trainSize === 'all' ? 'all' : `${row.trainSize}/class`,
    ci(row.transfer.mean, row.transfer.halfWidth),
    ci(row.scratch.mean, row.scratch.halfWidth),
    differenceCell(row.difference),
    Number.isFinite(row.errorRatio) ? `${row.errorRatio.toFixed(2)}×` : '—',
    row.verdict,
  ]);
  printOut(`${renderTable(['train size', 'transfer error', 'scratch error', 'difference (points, 95% CI)', 'scratch/transfer', 'verdict'], rows)}\n`);
  printOut(
    `Budget per arm: transfer ${r.settings.frozenEpochs} frozen epochs (${r.settings.frozenOptimizer}) + ${r.settings.unfrozenEpochs} unfrozen (${r.settings.unfrozenOptimizer}); scratch ${r.settings.scratchEpochs} epochs (${r.settings.scratchOptimizer}); ` +
      `early stopping ${r.settings.earlyStoppingPatience === null ? 'off' : `patience ${r.settings.earlyStoppingPatience} on a ${r.settings.valSplit} validation split`}. Same subsample, split and test set for both arms of a seed.${r.settings.classWeight ? ` Class weight ${r.settings.classWeight} on both arms (per trial in compare.json).` : ''}\n`,
  );
}
