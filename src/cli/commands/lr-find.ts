import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { parseFreezePolicy } from '../../transfer/freeze.js';
import { parseLayerRef } from '../../transfer/layer-ref.js';
import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, batchSizeOption, useEngine, DATA_OPTIONS, OUTPUT_OPTIONS, dataOptions, optimizerOption, printJson, startBackend } from '../common.js';
import { loadBackbone } from '../../workflows/backbone.js';
import { BACKBONE_OPTIONS, parseHeadPool } from '../cnn-options.js';
import { printErr, printOut } from '../terminal-text.js';
import { ONNX_SOURCE_OPTIONS, loadFromSource, refuseOnnxOptions } from '../source-options.js';
import { lrFindRun, LR_FIND_FILE } from '../../workflows/lr-find-run.js';
import { checkLrRange, LR_FIND_DEFAULTS } from '../../workflows/lr-find-curve.js';

const rate = (r: number | undefined): string => (r === undefined ? 'none' : r.toExponential(2).replace('e+', 'e'));

export const lrFindCommand = defineCommand({
  name: 'lr-find',
  summary: "Learning-rate range test (Smith's, as fastai's lr_find) on the model graft transfer would train: loss curve, plot and a suggested rate.",
  usage: 'graft lr-find (--from MODEL | --backbone NAME --input SIDE) --task SPEC [--min 1e-7 --max 10 --steps 100] [--out DIR] [options]',
  options: {
    from: { type: 'string', value: 'MODEL', description: 'Source model, as graft transfer --from (never modified)' },
    ...ONNX_SOURCE_OPTIONS,
    ...BACKBONE_OPTIONS,
    task: { type: 'string', value: 'SPEC', description: 'Target task, as graft transfer --task' },
    out: { type: 'string', value: 'DIR', description: `Write ${LR_FIND_FILE} (the curve) and report.html (its plot) here; default: print only` },
    min: { type: 'string', value: 'RATE', default: String(LR_FIND_DEFAULTS.min), description: 'First learning rate' },
    max: { type: 'string', value: 'RATE', default: String(LR_FIND_DEFAULTS.max), description: 'Last learning rate (the test stops earlier once the smoothed loss passes 4× its best)' },
    steps: { type: 'string', value: 'N', default: String(LR_FIND_DEFAULTS.steps), description: 'Mini-batches; the rate rises by a constant factor each step' },
    cut: { type: 'string', value: 'LAYER', description: 'As graft transfer --cut' },
    'head-hidden': { type: 'string', value: 'UNITS', description: 'Add a hidden Dense (relu) layer to the new head' },
    'head-dropout': { type: 'string', value: 'RATE', description: 'Dropout before the new output layer' },
    freeze: { type: 'string', value: 'POLICY', default: 'all', description: 'Reused layers frozen (as graft transfer --freeze; none tests the unfrozen phase)' },
    optimizer: { type: 'string', value: 'NAME', default: 'sgd', description: 'Optimizer whose rate is swept: sgd, adam, adamw or rmsprop' },
    momentum: { type: 'string', value: 'M', description: 'SGD or RMSprop momentum (default 0)' },
    'weight-decay': { type: 'string', value: 'W', description: 'Weight decay (default 0; adamw 0.01)' },
    'batch-size': { type: 'string', value: 'N', default: '32', description: 'Samples per step' },
    ...DATA_OPTIONS,
    ...OUTPUT_OPTIONS,
    ...BACKEND_OPTION,
    ...ENGINE_OPTION,
  },
  epilog:
    'Prints the suggested rate: where the smoothed loss falls fastest (steepest descent, as torch-lr-finder; the minimum ÷ 10, fastai\'s other rule, is printed beside it).\n' +
    'Pass it as --frozen-lr (with --freeze all) or --lr (with --freeze none) to graft transfer.\n' +
    'Example:\n  graft lr-find --from runs/seed/model-a --task fashion-mnist:binary=tshirt-top,sandal --optimizer adam --out runs/lr-find\n',
  async run(args) {
    const v = args.values;
    if (!v.from === !v.backbone) throw new GraftError('BAD_ARGUMENT', `graft lr-find needs exactly one source: --from MODEL or --backbone NAME; received ${v.from ? 'both' : 'neither'}.`);
    if (!v.task) throw new GraftError('BAD_ARGUMENT', 'graft lr-find needs --task, e.g. --task fashion-mnist:binary=tshirt-top,sandal.');
    const min = numberOption('min', v.min, { above: 0 })!;
    const max = numberOption('max', v.max, { above: 0 })!;
    const steps = numberOption('steps', v.steps, { integer: true, min: 2 })!;
    try {
      checkLrRange(min, max, steps);
    } catch (e) {
      throw e instanceof GraftError ? new GraftError('BAD_ARGUMENT', `--min ${v.min} and --max ${v.max}: ${e.message}`) : e;
    }
    const input = numberOption('input', v.input, { integer: true, min: 1, max: 4096 });
    if (v.backbone && input === undefined) throw new GraftError('BAD_ARGUMENT', 'graft lr-find --backbone needs --input SIDE, the image size the backbone sees (e.g. --input 64).');
    const freeze = parseFreezePolicy(v.freeze);
    const optimizer = optimizerOption(v.optimizer, undefined, v.momentum, '', v['weight-decay']);
    const hidden = numberOption('head-hidden', v['head-hidden'], { integer: true, min: 1 });
    const dropout = numberOption('head-dropout', v['head-dropout'], { min: 0, max: 0.99 });
    useEngine(v.engine);
    await startBackend(v.backend, v.json);
    const data = dataOptions(v, v.json);
    const backbone = v.backbone ? await loadBackbone({ backbone: v.backbone, input: input!, weights: v.weights, seed: data.seed ?? 0 }) : undefined;
    if (backbone) refuseOnnxOptions(v, 'a backbone');
    const source = backbone ? { model: backbone.model, onnx: undefined } : await loadFromSource({ ...v, from: v.from! }, input);
    const inputShape = source.model.inputs[0]?.shape;
    let step = 0;
    const done = await lrFindRun({
      ...data,
      source: source.model,
      sourcePath: v.from ?? backbone!.description,
      ...(input !== undefined && { image: { height: input, width: input, ...(inputShape?.length === 4 && { channels: inputShape[3] === 1 ? (1 as const) : (3 as const) }) } }),
      task: v.task,
      min,
      max,
      steps,
      freeze,
      head: { pooling: parseHeadPool(v['head-pool']), ...(hidden !== undefined && { hidden }), ...(dropout !== undefined && { dropout }) },
      ...(optimizer && { optimizer }),
      batchSize: batchSizeOption(v['batch-size'])!,
      // A backbone and an ONNX source are reused whole; a trained model loses its output layer.
      ...((backbone || source.onnx) && v.cut === undefined && { cut: -1 }),
      ...(v.cut !== undefined && !source.onnx && { cut: parseLayerRef(v.cut) }),
      ...(v.out !== undefined && { out: v.out }),
      force: v.force,
      ...(!v.json && process.stderr.isTTY && { onStep: (i: number, n: number): void => {
        step = i;
        printErr(`\rstep ${i}/${n}`);
      } }),
    });
    source.model.dispose();
    const { record, files } = done;
    const s = record.suggestion;
    if (v.json) {
      printJson({ suggested: s.suggested ?? null, minimumOverTen: s.minimumOverTen ?? null, steepest: s.steepest ?? null, steps: record.rates.length, stoppedEarly: record.stoppedEarly, engine: record.engine, ...(files && { out: path.dirname(files.json) }) });
      return 0;
    }
    if (step > 0) printErr('\n');
    const end = record.stoppedEarly ? `stopped at step ${record.rates.length} of ${record.steps} (loss past 4× its best, rate ${rate(record.rates[record.rates.length - 1])})` : `all ${record.steps} steps`;
    printOut(`Range test ${rate(record.min)} → ${rate(record.max)} with ${record.optimizer}, batch ${record.batchSize}: ${end}.\n`);
    printOut(`Suggested learning rate: ${rate(s.suggested)} (steepest descent of the smoothed loss); its minimum ÷ 10: ${rate(s.minimumOverTen)}.\n`);
    if (files) printOut(`Wrote ${files.json} and ${files.report}\n`);
    return 0;
  },
});
