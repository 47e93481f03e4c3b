import { GraftError } from '../../errors.js';
import { ARCHITECTURES } from '../../models/architectures.js';
import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, batchSizeOption, useEngine, DATA_OPTIONS, FIT_OPTIONS, OUTPUT_OPTIONS, dataOptions, optimizerOption, printJson, SCHEDULE_HELP, scheduleOption, startBackend, trainingCallbacks } from '../common.js';
import { trainModel, TRAIN_DEFAULTS, type TrainModelOptions } from '../../workflows/train-model.js';
import { printEvaluation } from './evaluate.js';
import { INTERRUPT_HELP, RESUME_OPTION, interruptible, resumeArgs } from '../interrupt.js';
import { printOut } from '../terminal-text.js';
import { phaseEngines } from '../engine-text.js';
import { CLASS_WEIGHT_OPTION, classWeightOption } from '../class-weight-option.js';
import { FIT_CONTROL_OPTIONS, fitControlOptions } from '../fit-controls-option.js';
import { timeSpent } from '../time-spent.js';
import { BATCH_NORM_OPTION, parseBatchNormOption } from '../cnn-options.js';
import { USER_IMAGE_DEFAULT_SIDE } from '../../workflows/prepare-user.js';

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train a model from scratch on a task and save it as a run directory.',
  usage: 'graft train --task SPEC --out DIR [options] | graft train --resume DIR',
  options: {
    task: { type: 'string', value: 'SPEC', description: 'Task spec, e.g. fashion-mnist:exclude=sandal,shirt, or your own images: folder:PATH (a subfolder per class), csv:FILE (path,label rows), with :classes=a,b / :binary=neg,pos / :exclude=a' },
    out: { type: 'string', value: 'DIR', description: 'Run directory to write' },
    arch: { type: 'string', value: 'NAME', default: TRAIN_DEFAULTS.architecture, description: `Architecture: ${ARCHITECTURES.join(', ')}` },
    input: { type: 'string', value: 'SIDE', description: `Fit images to SIDE×SIDE: folder:/csv: tasks (default ${USER_IMAGE_DEFAULT_SIDE}) or built-in datasets (default as stored)` },
    epochs: { type: 'string', value: 'N', default: String(TRAIN_DEFAULTS.epochs), description: 'Epochs' },
    optimizer: { type: 'string', value: 'NAME', default: 'sgd', description: 'sgd, adam, adamw or rmsprop (RMSprop as Keras: rho 0.9, epsilon 1e-7)' },
    lr: { type: 'string', value: 'RATE', default: '0.01', description: 'Learning rate (the peak when scheduled)' },
    momentum: { type: 'string', value: 'M', description: 'SGD or RMSprop momentum (default 0)' },
    'weight-decay': { type: 'string', value: 'W', description: 'Weight decay: L2 on the gradient for sgd/adam (PyTorch weight_decay), decoupled for adamw/rmsprop (PyTorch AdamW, Keras). Default 0; adamw 0.01' },
    schedule: { type: 'string', value: 'SPEC', description: SCHEDULE_HELP },
    ...BATCH_NORM_OPTION,
    ...FIT_OPTIONS,
    ...CLASS_WEIGHT_OPTION,
    ...FIT_CONTROL_OPTIONS,
    ...DATA_OPTIONS,
    ...OUTPUT_OPTIONS,
    ...BACKEND_OPTION,
    ...ENGINE_OPTION,
    ...RESUME_OPTION,
  },
  epilog: `Examples:\n  graft train --task fashion-mnist:exclude=sandal,shirt --out runs/model-a\n  graft train --task folder:photos --arch cnn --input 64 --out runs/photos   (photos/cat/*.jpg, photos/dog/*.jpg, …)\n${INTERRUPT_HELP}`,
  async run(args) {
    const { values: v, checkpoint, invocation } = await resumeArgs('train', args);
    if (!v.task) throw new GraftError('BAD_ARGUMENT', 'graft train needs --task, e.g. --task fashion-mnist:exclude=sandal,shirt.');
    if (!v.out) throw new GraftError('BAD_ARGUMENT', 'graft train needs --out DIR for the run directory.');
    useEngine(v.engine);
    await startBackend(v.backend, v.json);
    const patience = numberOption('early-stopping', v['early-stopping'], { integer: true, min: 1 });
    const optimizer = optimizerOption(v.optimizer, v.lr, v.momentum, '', v['weight-decay']);
    const schedule = scheduleOption('schedule', v.schedule);
    const batchNorm = parseBatchNormOption(v.bn);
    const classWeight = classWeightOption(v['class-weight']);
    const input = numberOption('input', v.input, { integer: true, min: 1, max: 4096 });
    const options: TrainModelOptions = {
      ...dataOptions(v, v.json),
      task: v.task,
      out: v.out,
      force: v.force,
      architecture: v.arch,
      ...(input !== undefined && { image: { height: input, width: input } }),
      epochs: numberOption('epochs', v.epochs, { integer: true, min: 0 })!,
      batchSize: batchSizeOption(v['batch-size'])!,
      ...(optimizer && { optimizer }),
      ...(schedule !== undefined && { schedule }),
      // 'auto' given or left out is one choice: a resumed run checks its options, so only a mode chosen is recorded.
      ...(batchNorm !== 'auto' && { batchNorm }),
      ...fitControlOptions(v, patience),
      ...(classWeight !== undefined && { classWeight }),
      callbacks: trainingCallbacks('train', v),
      invocation,
      ...(checkpoint && { resumeFrom: checkpoint }),
    };
    const outcome = await interruptible('train', v, (signal) => trainModel({ ...options, signal }));
    if ('exitCode' in outcome) return outcome.exitCode;
    const r = outcome.done;
    if (v.json) printJson({ out: v.out, seconds: r.seconds, evaluationSeconds: r.evaluationSeconds, testAccuracy: r.test.accuracy, testLoss: r.test.loss, stopReason: r.run.phases[0]?.stopReason, engine: r.run.phases[0]?.engine });
    else {
      printEvaluation(r.test, r.run.classNames);
      printOut(`${phaseEngines(r.run.phases)}\n`);
      printOut(`Saved ${v.out} ${timeSpent(r.seconds, r.evaluationSeconds)}\n`);
    }
    return 0;
  },
});
