import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { GraftError } from '../errors.js';
import { evaluate } from '../evaluate/evaluate.js';
import { disposeModel } from '../models/dispose.js';
import { resolveOptimizer, type OptimizerName } from '../train/optimizer.js';
import { fineTune } from '../transfer/fine-tune.js';
import { GUARD_STOPS } from '../train/divergence.js';
import { parseFreezePolicy } from '../transfer/freeze.js';
import { parseLayerRef } from '../transfer/layer-ref.js';
import { transfer } from '../transfer/transfer.js';
import { GRAFT_VERSION } from '../version.js';
import { betterTrial, type SweepConfig, type SweepResult, type SweepTrial } from '../evaluate/sweep-result.js';

export type { SweepConfig, SweepResult, SweepTrial } from '../evaluate/sweep-result.js';
import { prepareTask, type DataOptions } from './prepare.js';
import { classWeightRecord, formatClassWeight, resolveClassWeights, type ClassWeight } from '../train/class-weight.js';

/** The values to try for each knob; a knob left out keeps its single default. */
export interface SweepSpace {
  /** Last reused layer, by name or index. Default: all but the output layer. */
  cut?: Array<string | number>;
  /** Freeze policies in CLI form: all, none, first:N, /regex/, name,name. Default ['all']. */
  freeze?: string[];
  frozenEpochs?: number[];
  unfrozenEpochs?: number[];
  frozenLr?: number[];
  /** Default: a tenth of each frozenLr. */
  unfrozenLr?: number[];
}

export const SWEEP_DEFAULTS = { frozenEpochs: 10, unfrozenEpochs: 10, frozenLr: 1e-3, optimizer: 'adam', valSplit: 0.2, samples: 10, seed: 0, batchSize: 32 } as const;

export interface SweepOptions extends Pick<DataOptions, 'dataDir' | 'download' | 'perClass' | 'resize'> {
  source: tfl.LayersModel;
  sourcePath?: string;
  task: string;
  space: SweepSpace;
  /** 'grid' tries every combination; 'random' draws `samples` of them. Default 'grid'. */
  mode?: 'grid' | 'random';
  samples?: number;
  optimizer?: OptimizerName;
  valSplit?: number;
  seed?: number;
  batchSize?: number;
  /** Loss weight per class in every configuration, as Keras's class_weight (FitOptions.classWeight). Default none. */
  classWeight?: ClassWeight;
  onConfig?: (tried: SweepTrial, done: number, total: number) => void;
}

/** Every combination of the space, in a fixed order. */
export function gridOf(space: SweepSpace): SweepConfig[] {
  const frozenLrs = space.frozenLr ?? [SWEEP_DEFAULTS.frozenLr];
  const axes = {
    cut: (space.cut ?? [null]) as Array<string | number | null>,
    freeze: space.freeze ?? ['all'],
    frozenEpochs: space.frozenEpochs ?? [SWEEP_DEFAULTS.frozenEpochs],
    unfrozenEpochs: space.unfrozenEpochs ?? [SWEEP_DEFAULTS.unfrozenEpochs],
    frozenLr: frozenLrs,
    unfrozenLr: (space.unfrozenLr ?? [null]) as Array<number | null>,
  };
  for (const [name, values] of Object.entries(axes)) {
    if (!Array.isArray(values) || values.length === 0) throw new GraftError('BAD_ARGUMENT', `Sweep space "${name}" needs a non-empty list of values; received ${JSON.stringify(values)}.`);
  }
  const out: SweepConfig[] = [];
  for (const cut of axes.cut)
    for (const freeze of axes.freeze)
      for (const frozenEpochs of axes.frozenEpochs)
        for (const unfrozenEpochs of axes.unfrozenEpochs)
          for (const frozenLr of axes.frozenLr)
            for (const unfrozenLr of axes.unfrozenLr) out.push({ cut, freeze, frozenEpochs, unfrozenEpochs, frozenLr, unfrozenLr: unfrozenLr ?? frozenLr / 10 });
  return out;
}

/**
 * Tries configurations of the transfer recipe, choosing by validation accuracy only. The test set
 * is scored once, for the chosen configuration; the result says how many were tried, because the
 * best of N validation scores overstates what a new draw of data would give.
 */
export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const mode = options.mode ?? 'grid';
  const seed = options.seed ?? SWEEP_DEFAULTS.seed;
  let configs = gridOf(options.space);
  if (mode === 'random') {
    const n = Math.min(options.samples ?? SWEEP_DEFAULTS.samples, configs.length);
    configs = new Rng(deriveSeed(seed, 'sweep')).shuffle(configs.map((_, i) => i)).slice(0, n).sort((a, b) => a - b).map((i) => configs[i]!);
  }
  const data = await prepareTask(options.task, {
    seed,
    modelInput: options.source.inputs[0]!.shape,
    ...(options.resize !== undefined && { resize: options.resize }),
    valSplit: options.valSplit ?? SWEEP_DEFAULTS.valSplit,
    ...(options.perClass !== undefined && { perClass: options.perClass }),
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    ...(options.download !== undefined && { download: options.download }),
  });
  if (!data.validation) throw new GraftError('BAD_ARGUMENT', 'A sweep chooses on a validation split; pass valSplit > 0.');
  const optimizer = options.optimizer ?? SWEEP_DEFAULTS.optimizer;
  const trials: SweepTrial[] = [];
  let best: { trial: SweepTrial; model: tfl.LayersModel } | undefined;
  for (const config of configs) {
    const started = performance.now();
    const t = await transfer(options.source, {
      head: { classes: data.train.classNames.length },
      seed,
      freeze: parseFreezePolicy(config.freeze),
      ...(config.cut !== null && { cut: typeof config.cut === 'string' ? parseLayerRef(config.cut) : config.cut }),
    });
    const phases = await fineTune(t, data.train, {
      seed,
      batchSize: options.batchSize ?? SWEEP_DEFAULTS.batchSize,
      ...(options.classWeight !== undefined && { classWeight: options.classWeight }),
      frozen: { epochs: config.frozenEpochs, optimizer: resolveOptimizer({ name: optimizer, learningRate: config.frozenLr }) },
      unfrozen: { epochs: config.unfrozenEpochs, optimizer: resolveOptimizer({ name: optimizer, learningRate: config.unfrozenLr }) },
    });
    const v = evaluate(t.model, data.validation);
    const trial: SweepTrial = { config, valAccuracy: v.accuracy, valLoss: v.loss, seconds: (performance.now() - started) / 1000 };
    const stopped = phases.map((p) => p.stopReason).find((r) => GUARD_STOPS.includes(r));
    if (stopped) trial.stopped = stopped;
    trials.push(trial);
    options.onConfig?.(trial, trials.length, configs.length);
    if (!best || betterTrial(trial, best.trial)) {
      if (best) disposeModel(best.model);
      best = { trial, model: t.model };
    } else disposeModel(t.model);
  }
  // The one and only look at the test set.
  const test = evaluate(best!.model, data.test);
  disposeModel(best!.model);
  return {
    kind: 'sweep',
    createdAt: new Date().toISOString(),
    graftVersion: GRAFT_VERSION,
    backend: activeBackend()?.name ?? 'unknown',
    source: options.sourcePath ?? '(in memory)',
    task: data.task,
    mode,
    ...(options.classWeight !== undefined && { classWeight: formatClassWeight(options.classWeight), classWeights: classWeightRecord(resolveClassWeights(options.classWeight, data.train.y, data.train.classNames), data.train.classNames) }),
    tried: trials.length,
    trials,
    best: { ...best!.trial, testAccuracy: test.accuracy, testLoss: test.loss },
    caveat:
      `${trials.length} configuration${trials.length === 1 ? ' was' : 's were'} tried and the best was chosen on the validation split, so its validation accuracy ` +
      `(${(100 * best!.trial.valAccuracy).toFixed(2)}%) is optimistic: with many tries, one looks good by luck. The test accuracy (${(100 * test.accuracy).toFixed(2)}%) ` +
      'was measured once, for the chosen configuration only, and is the number to report.',
  };
}
