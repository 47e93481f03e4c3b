import { GraftError } from '../../errors.js';
import { parseFreezePolicy, parseUnfreezePolicy } from '../../transfer/freeze.js';
import { parseLayerRef } from '../../transfer/layer-ref.js';
import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, batchSizeOption, useEngine, DATA_OPTIONS, FIT_OPTIONS, OUTPUT_OPTIONS, dataOptions, optimizerOption, printJson, SCHEDULE_HELP, scheduleOption, startBackend, trainingCallbacks } from '../common.js';
import { transferModel, type TransferModelOptions } from '../../workflows/transfer-model.js';
import { loadBackbone } from '../../workflows/backbone.js';
import { BACKBONE_OPTIONS, BATCH_NORM_OPTION, PHASE_OPTIONS, parseAugment, parseBatchNormOption, parseHeadPool } from '../cnn-options.js';
import { BATCH_NORM_AUTO } from '../../train/batchnorm-mode.js';
import { checkRecipe, describeRecipe, RECIPES, RECIPE_NAMES, type RecipeRecord, type RecipeSettings } from '../../transfer/recipes.js';
import { printEvaluation } from './evaluate.js';
import { INTERRUPT_HELP, RESUME_OPTION, interruptible, resumeArgs } from '../interrupt.js';
import { printErr, printOut } from '../terminal-text.js';
import { phaseEngines } from '../engine-text.js';
import { CLASS_WEIGHT_OPTION, classWeightOption } from '../class-weight-option.js';
import { FIT_CONTROL_OPTIONS, fitControlOptions } from '../fit-controls-option.js';
import { timeSpent } from '../time-spent.js';
import { onnxSourceRecord } from '../../workflows/onnx-source.js';
import { ONNX_SOURCE_OPTIONS, loadFromSource, refuseOnnxOptions } from '../source-options.js';

export const transferCommand = defineCommand({
  name: 'transfer',
  summary: "Reuse a trained model's layers for a new task: new head, frozen phase, then unfrozen fine-tuning at a lower rate.",
  usage: 'graft transfer (--from MODEL | --backbone NAME --input SIDE) --task SPEC --out DIR [options]',
  options: {
    from: { type: 'string', value: 'MODEL', description: 'Source model: a graft run directory, TF.js model.json, Keras .h5/.keras, an ONNX file or hf:ORG/NAME[@REV][:PATH.onnx] (never modified)' },
    ...ONNX_SOURCE_OPTIONS,
    ...BACKBONE_OPTIONS,
    task: { type: 'string', value: 'SPEC', description: 'Target task, e.g. fashion-mnist:binary=tshirt-top,sandal, or your own images: folder:PATH, csv:FILE (fitted to the source input)' },
    out: { type: 'string', value: 'DIR', description: 'Run directory to write' },
    cut: { type: 'string', value: 'LAYER', description: 'Last reused layer, by name or index (default: all but the output layer); for ONNX sources a tensor or node name (default: the input of the final classifier)' },
    'head-hidden': { type: 'string', value: 'UNITS', description: 'Add a hidden Dense (relu) layer to the new head' },
    'head-dropout': { type: 'string', value: 'RATE', description: 'Dropout before the new output layer' },
    recipe: { type: 'string', value: 'NAME', default: 'auto', description: `Defaults for every head and phase option not given (listed below): ${RECIPE_NAMES.join(', ')}, or auto (keras-guide, measured best, for a pretrained image source: --backbone with weights, or an image model given to --from; writeup otherwise). run.json records each value and whether it came from an option or the recipe` },
    freeze: { type: 'string', value: 'POLICY', default: 'all', description: 'Reused layers frozen in phase 1: all, none, first:N, /regex/, name,name, or weights:/regex/ (single weights, e.g. an ONNX source\'s initializers)' },
    'frozen-epochs': { type: 'string', value: 'N', description: 'Epochs of the frozen phase (default: the recipe\'s)' },
    'frozen-optimizer': { type: 'string', value: 'NAME', description: 'Optimizer of the frozen phase: sgd, adam, adamw or rmsprop (default: the recipe\'s)' },
    'frozen-lr': { type: 'string', value: 'RATE', description: 'Learning rate of the frozen phase (default: the recipe\'s)' },
    unfreeze: { type: 'string', value: 'POLICY', description: 'Layers unfrozen in phase 2: all, last:N, from:LAYER (default: the recipe\'s; all in each)' },
    epochs: { type: 'string', value: 'N', description: 'Epochs of the unfrozen phase, 0 skips it (default: the recipe\'s)' },
    optimizer: { type: 'string', value: 'NAME', description: 'Optimizer of the unfrozen phase (default: the recipe\'s; writeup: as the frozen phase)' },
    lr: { type: 'string', value: 'RATE', description: 'Learning rate of the unfrozen phase (default: the recipe\'s; writeup: a tenth of --frozen-lr)' },
    momentum: { type: 'string', value: 'M', description: 'SGD or RMSprop momentum for both phases (default 0)' },
    'weight-decay': { type: 'string', value: 'W', description: 'Weight decay for both phases: L2 for sgd/adam, decoupled for adamw/rmsprop (default 0; adamw 0.01)' },
    'frozen-schedule': { type: 'string', value: 'SPEC', description: 'Learning-rate schedule of the frozen phase (forms as --schedule; default constant)' },
    schedule: { type: 'string', value: 'SPEC', description: `Of the unfrozen phase. ${SCHEDULE_HELP}` },
    ...PHASE_OPTIONS,
    // No fixed defaults here: the recipe gives them, so that run.json can tell a flag from a default.
    'head-pool': { ...BACKBONE_OPTIONS['head-pool'], default: undefined, description: 'How a feature map becomes a vector in the new head: flatten (the write-up) or avg (default: the recipe\'s)' },
    bn: { ...BATCH_NORM_OPTION.bn, default: undefined, description: `BatchNorm where reused layers train: frozen (moving statistics used and kept, γ/β still train; Keras's fine-tuning guide), train (batch statistics, moving averages updated), or auto (${BATCH_NORM_AUTO}: measured better, README "Recipes and BatchNorm"). Default: the recipe's (writeup: auto; keras-guide: frozen; fastai: train)` },
    ...FIT_OPTIONS,
    ...CLASS_WEIGHT_OPTION,
    ...FIT_CONTROL_OPTIONS,
    ...DATA_OPTIONS,
    ...OUTPUT_OPTIONS,
    ...BACKEND_OPTION,
    ...ENGINE_OPTION,
    ...RESUME_OPTION,
  },
  epilog:
    `Recipes (--recipe; explicit options win):\n${RECIPE_NAMES.map((n) => `  ${describeRecipe(RECIPES[n])}`).join('\n')}\n\n` +
    'Examples:\n  graft transfer --from runs/seed/model-a --task fashion-mnist:binary=tshirt-top,sandal --out runs/model-b\n' +
    '  graft transfer --backbone vgg16 --input 64 --task cifar10:binary=cat,dog --data-dir DIR --head-hidden 256 \\\n' +
    '    --frozen-optimizer adam --frozen-lr 0.001 --frozen-epochs 10 --unfreeze last:4 --epochs 10 --out runs/vgg16-cats-dogs\n' +
    INTERRUPT_HELP,
  async run(args) {
    const { values: v, checkpoint, invocation } = await resumeArgs('transfer', args);
    if (!v.from === !v.backbone) throw new GraftError('BAD_ARGUMENT', `graft transfer needs exactly one source: --from MODEL (a run directory, model.json, .h5 or .keras) or --backbone NAME; received ${v.from ? 'both' : 'neither'}.`);
    const input = numberOption('input', v.input, { integer: true, min: 1, max: 4096 });
    if (v.backbone && input === undefined) throw new GraftError('BAD_ARGUMENT', 'graft transfer --backbone needs --input SIDE, the image size the backbone sees (the write-up: --input 64; Keras\'s default 224 is about 12× slower).');
    if (!v.task) throw new GraftError('BAD_ARGUMENT', 'graft transfer needs --task, e.g. --task fashion-mnist:binary=tshirt-top,sandal.');
    if (!v.out) throw new GraftError('BAD_ARGUMENT', 'graft transfer needs --out DIR for the run directory.');
    const freeze = parseFreezePolicy(v.freeze);
    const recipe = checkRecipe(v.recipe, '--recipe');
    // Every flag is checked before a source or backbone is loaded.
    const patience = numberOption('early-stopping', v['early-stopping'], { integer: true, min: 1 });
    const controls = fitControlOptions(v, patience);
    const settings = settingsFromFlags(v, controls.keepBest !== undefined);
    const classWeight = classWeightOption(v['class-weight']);
    useEngine(v.engine);
    await startBackend(v.backend, v.json);
    const backbone = v.backbone ? await loadBackbone({ backbone: v.backbone, input: input!, weights: v.weights, seed: numberOption('seed', v.seed, { integer: true, min: 0 })! }) : undefined;
    if (backbone && !v.json) printErr(`graft: backbone ${backbone.description}\n`);
    if (backbone) refuseOnnxOptions(v, 'a backbone');
    const source = backbone ? { model: backbone.model, run: undefined, onnx: undefined } : await loadFromSource({ ...v, from: v.from! }, input);
    const onnx = source.onnx;
    const inputShape = source.model.inputs[0]?.shape;
    const opts: TransferModelOptions = {
      ...dataOptions(v, v.json),
      source: source.model,
      sourcePath: v.from ?? backbone!.description,
      ...(input !== undefined && { image: { height: input, width: input, ...(inputShape?.length === 4 && { channels: inputShape[3] === 1 ? (1 as const) : (3 as const) }) } }),
      // A backbone is reused whole; a trained model loses its output layer.
      ...(backbone && v.cut === undefined && { cut: -1 }),
      ...(source.run && { sourceTask: source.run.task }),
      task: v.task,
      out: v.out,
      force: v.force,
      freeze,
      // Head and phase settings: the flags given, the rest from the recipe (transferModel resolves it).
      recipe,
      settings,
      pretrained: backbone ? v.weights !== 'none' : true,
      ...(v.augment !== undefined && { augment: parseAugment(v.augment) }),
      ...(v['no-feature-cache'] && { featureCache: false }),
      batchSize: batchSizeOption(v['batch-size'])!,
      ...controls,
      ...(classWeight !== undefined && { classWeight }),
      ...(v.cut !== undefined && !onnx && { cut: parseLayerRef(v.cut) }),
      // An ONNX source is cut when it is read (--cut names a tensor there) and reused whole.
      ...(onnx && { cut: -1, sourceOnnx: onnxSourceRecord(onnx) }),
      callbacks: trainingCallbacks('transfer', v),
    };
    const outcome = await interruptible('transfer', v, (signal) => transferModel({ ...opts, signal, invocation, ...(checkpoint && { resumeFrom: checkpoint }) }));
    if ('exitCode' in outcome) return outcome.exitCode;
    const r = outcome.done;
    if (v.json) {
      printJson({ out: v.out, recipe: r.run.recipe?.name, seconds: r.seconds, evaluationSeconds: r.evaluationSeconds, frozenTestAccuracy: r.frozenTest.accuracy, testAccuracy: r.test.accuracy, testLoss: r.test.loss, phases: r.phases.map((p) => ({ name: p.name, epochs: p.history.length, stopReason: p.stopReason, seconds: p.seconds, engine: p.engine })) });
    } else {
      const t = r.run.transfer;
      if (r.run.recipe) printOut(`${recipeLine(r.run.recipe)}\n`);
      printOut(`Reused ${listLayers(t?.reused ?? [])}; new head ${t?.head.join(', ')}; frozen in phase 1: ${listLayers(t?.frozen ?? []) || 'none'}\n`);
      printOut(`Test accuracy after the frozen phase: ${r.frozenTest.accuracy.toFixed(4)}\n`);
      printEvaluation(r.test, r.run.classNames);
      printOut(`${phaseEngines(r.phases)}\n`);
      printOut(`Saved ${v.out} ${timeSpent(r.seconds, r.evaluationSeconds)}\n`);
    }
    return 0;
  },
});

type FlagValues = Record<string, string | boolean | undefined>;

/** The head and phase settings given as flags (checked); what is absent comes from the recipe. */
export function settingsFromFlags(v: FlagValues, keepBest: boolean): Partial<RecipeSettings> {
  const text = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const frozen = optimizerOption(text('frozen-optimizer'), text('frozen-lr'), text('momentum'), 'frozen-', text('weight-decay'));
  const unfrozen = optimizerOption(text('optimizer'), text('lr'), undefined, '');
  const s: Partial<RecipeSettings> = {};
  const put = <K extends keyof RecipeSettings>(k: K, value: RecipeSettings[K] | undefined): void => {
    if (value !== undefined) s[k] = value;
  };
  const pool = text('head-pool');
  put('headPooling', pool === undefined ? undefined : parseHeadPool(pool));
  put('headHidden', numberOption('head-hidden', text('head-hidden'), { integer: true, min: 1 }));
  put('headDropout', numberOption('head-dropout', text('head-dropout'), { min: 0, max: 0.99 }));
  put('frozenEpochs', numberOption('frozen-epochs', text('frozen-epochs'), { integer: true, min: 0 }));
  put('frozenOptimizer', frozen?.name);
  put('frozenLearningRate', frozen?.learningRate);
  put('frozenSchedule', scheduleOption('frozen-schedule', text('frozen-schedule')));
  const unfreeze = text('unfreeze');
  put('unfreeze', unfreeze === undefined ? undefined : parseUnfreezePolicy(unfreeze));
  if (v.gradual === true) s.gradual = true;
  put('epochs', numberOption('epochs', text('epochs'), { integer: true, min: 0 }));
  put('optimizer', unfrozen?.name);
  put('learningRate', unfrozen?.learningRate);
  put('schedule', scheduleOption('schedule', text('schedule')));
  put('discriminative', numberOption('discriminative', text('discriminative'), { min: 1e-6, max: 1 }));
  const bn = text('bn');
  put('batchNorm', bn === undefined ? undefined : parseBatchNormOption(bn));
  put('momentum', frozen?.momentum);
  put('weightDecay', frozen?.weightDecay);
  put('earlyStopping', numberOption('early-stopping', text('early-stopping'), { integer: true, min: 1 }));
  if (keepBest) s.keepBest = true;
  return s;
}

/** "Recipe backbone (auto): …", naming the values options changed. */
function recipeLine(r: RecipeRecord): string {
  const changed = (Object.keys(r.from) as (keyof RecipeSettings)[]).filter((k) => r.from[k] === 'option');
  return `Recipe ${r.name}${r.asked === 'auto' ? ' (auto)' : ''}${changed.length ? `; changed by options: ${changed.map((k) => `${k} ${JSON.stringify(r.values[k])}`).join(', ')}` : ''}`;
}

/** A layer list for one line: in full when short, else its count and ends (MobileNetV2 has 150). */
function listLayers(names: readonly string[]): string {
  return names.length <= 12 ? names.join(', ') : `${names.length} layers (${names.slice(0, 3).join(', ')} … ${names.slice(-3).join(', ')})`;
}
