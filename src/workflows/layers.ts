import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { GraftError } from '../errors.js';
import { evaluate } from '../evaluate/evaluate.js';
import { confidenceInterval, type Interval } from '../evaluate/stats.js';
import type { LayersArm, LayersPoint, LayersResult } from '../evaluate/layers-result.js';
import { disposeModel } from '../models/dispose.js';
import { reinitialize } from '../models/reinit.js';
import { fit } from '../train/fit.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import { applyFreeze } from '../transfer/freeze.js';
import { transfer } from '../transfer/transfer.js';
import { GRAFT_VERSION } from '../version.js';

export type { LayersArm, LayersPoint, LayersResult } from '../evaluate/layers-result.js';
import { prepareTask, type DataOptions } from './prepare.js';

export const LAYERS_DEFAULTS = { epochs: 10, seeds: 3, optimizer: { name: 'adam', learningRate: 1e-3 }, batchSize: 32 } as const;

export interface LayersOptions extends Pick<DataOptions, 'dataDir' | 'download' | 'perClass' | 'resize'> {
  source: tfl.LayersModel;
  sourcePath?: string;
  task: string;
  epochs?: number;
  seeds?: number;
  optimizer?: OptimizerSpec;
  batchSize?: number;
  onPoint?: (n: number, arm: LayersArm, seed: number, testAccuracy: number) => void;
}

/**
 * Layer transferability: for n = 1..L, copy the source's first n weight layers and re-initialise
 * the rest of the same architecture; train with the copied layers frozen, or fine-tuned, and compare
 * with the whole architecture from scratch. Every arm gets the same epochs, optimizer and data.
 */
export async function layerTransferability(options: LayersOptions): Promise<LayersResult> {
  const epochs = options.epochs ?? LAYERS_DEFAULTS.epochs;
  const seeds = Array.from({ length: options.seeds ?? LAYERS_DEFAULTS.seeds }, (_, i) => i);
  const optimizer = resolveOptimizer(options.optimizer ?? LAYERS_DEFAULTS.optimizer);
  const probe = await transfer(options.source, { head: { classes: 2 } });
  const weightLayers = probe.reused.filter((l) => l.weights.length > 0).map((l) => l.name);
  disposeModel(probe.model);
  if (weightLayers.length === 0) throw new GraftError('BAD_ARGUMENT', 'The source has no weight layers before its output; there is nothing to transfer layer by layer.');
  const values = new Map<string, number[]>();
  for (const seed of seeds) {
    const data = await prepareTask(options.task, {
      seed,
      modelInput: options.source.inputs[0]!.shape,
      ...(options.resize !== undefined && { resize: options.resize }),
      ...(options.perClass !== undefined && { perClass: options.perClass }),
      ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      ...(options.download !== undefined && { download: options.download }),
    });
    for (let n = 1; n <= weightLayers.length; n++) {
      for (const arm of ['frozen', 'fine-tuned', 'scratch'] as const) {
        if (arm === 'scratch' && n > 1) continue; // the baseline does not depend on n
        const t = await transfer(options.source, { head: { classes: data.train.classNames.length }, seed, freeze: 'none' });
        const lastCopied = t.reused.findIndex((l) => l.name === weightLayers[n - 1]);
        const copied = arm === 'scratch' ? [] : t.reused.slice(0, lastCopied + 1);
        reinitialize(t.reused.filter((l) => !copied.includes(l)), seed);
        applyFreeze(t.reused, arm === 'frozen' ? { names: copied.map((l) => l.name) } : 'none');
        await fit(t.model, data.train, { epochs, optimizer, seed, batchSize: options.batchSize ?? LAYERS_DEFAULTS.batchSize, phase: arm });
        const acc = evaluate(t.model, data.test).accuracy;
        disposeModel(t.model);
        const key = `${arm === 'scratch' ? 0 : n}|${arm}`;
        values.set(key, [...(values.get(key) ?? []), acc]);
        options.onPoint?.(n, arm, seed, acc);
      }
    }
  }
  const interval = (xs: number[]): Interval & { values: number[] } => ({ ...confidenceInterval(xs), values: xs });
  const scratch = interval(values.get('0|scratch') ?? []);
  return {
    kind: 'layers',
    createdAt: new Date().toISOString(),
    graftVersion: GRAFT_VERSION,
    backend: activeBackend()?.name ?? 'unknown',
    source: options.sourcePath ?? '(in memory)',
    task: options.task,
    epochs,
    seeds,
    points: weightLayers.map((layer, i) => ({
      n: i + 1,
      layer,
      arms: { frozen: interval(values.get(`${i + 1}|frozen`) ?? []), 'fine-tuned': interval(values.get(`${i + 1}|fine-tuned`) ?? []), scratch },
    })),
  };
}
