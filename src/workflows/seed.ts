import * as path from 'node:path';
import type { TrainCallbacks } from '../train/types.js';
import { activeBackend } from '../engine/backend.js';
import { assertRunDirFree } from '../io/run-dir.js';
import { writeFileAtomic } from '../io/atomic.js';
import { claimStudyOutput } from '../io/study-output.js';
import { GRAFT_VERSION } from '../version.js';
import { prepareTask, type DataOptions } from './prepare.js';
import { trainModel } from './train-model.js';
import { transferModel } from './transfer-model.js';
import type { EngineUse } from '../train/stepper.js';

/** The write-up's settings: everything `graft seed` runs, in one place. */
export const SEED_RECIPE = {
  source: { task: 'fashion-mnist:exclude=sandal,shirt', architecture: 'mlp', epochs: 10, optimizer: { name: 'sgd', learningRate: 0.01 } },
  target: {
    task: 'fashion-mnist:binary=tshirt-top,sandal',
    frozen: { epochs: 4, optimizer: { name: 'sgd', learningRate: 0.001 } },
    // "a lower learning rate": a tenth of the frozen phase's.
    unfrozen: { epochs: 16, optimizer: { name: 'sgd', learningRate: 0.0001 } },
  },
  batchSize: 32,
} as const;

export interface SeedOptions extends Pick<DataOptions, 'dataDir' | 'download' | 'onDownloadProgress'> {
  /** Where the three run directories go. Default "runs/seed". */
  out?: string;
  force?: boolean;
  seed?: number;
  /** Multiplies every epoch count (for quick checks; 1 is the write-up). Default 1. */
  epochScale?: number;
  /** Progress callbacks per model. */
  callbacks?: (model: 'modelA' | 'modelB' | 'scratchB') => TrainCallbacks | undefined;
}

export interface SeedRow {
  model: string;
  phase: string;
  epochs: number;
  seconds: number;
  testAccuracy: number;
  /** The engine that trained the phase (and why not onnxruntime, when not). */
  engine?: EngineUse | undefined;
}

export interface SeedResult {
  backend: string;
  modelA: { testAccuracy: number; seconds: number };
  modelB: { frozenTestAccuracy: number; testAccuracy: number; seconds: number };
  scratchB: { testAccuracy: number; seconds: number };
  rows: SeedRow[];
  runDirs: { modelA: string; modelB: string; scratchB: string };
}

/**
 * The write-up's walkthrough with its bugs fixed: Model A on 8 Fashion-MNIST classes; Model B for
 * T-shirt vs sandal from A's copied layers (frozen, then unfrozen at a lower rate); and Model B's
 * architecture trained from scratch for the same number of epochs, so the gain can be judged.
 */
export async function runSeed(options: SeedOptions = {}): Promise<SeedResult> {
  const out = options.out ?? path.join('runs', 'seed');
  const seed = options.seed ?? 0;
  const scale = options.epochScale ?? 1;
  const epochs = (n: number): number => Math.max(1, Math.round(n * scale));
  const dataOpts: DataOptions = { seed };
  if (options.dataDir !== undefined) dataOpts.dataDir = options.dataDir;
  if (options.download !== undefined) dataOpts.download = options.download;
  if (options.onDownloadProgress) dataOpts.onDownloadProgress = options.onDownloadProgress;
  const dirs = { modelA: path.join(out, 'model-a'), modelB: path.join(out, 'model-b'), scratchB: path.join(out, 'scratch-b') };
  const force = options.force ?? false;
  const cb = (m: 'modelA' | 'modelB' | 'scratchB'): { callbacks?: TrainCallbacks } => {
    const c = options.callbacks?.(m);
    return c ? { callbacks: c } : {};
  };

  for (const dir of Object.values(dirs)) await assertRunDirFree(dir, force);
  const { source, target } = SEED_RECIPE;
  const sourceData = await prepareTask(source.task, dataOpts);
  await claimStudyOutput(out, 'seed', path.join(out, 'seed.json'), { force });
  const a = await trainModel({
    task: source.task,
    data: sourceData,
    architecture: source.architecture,
    epochs: epochs(source.epochs),
    optimizer: source.optimizer,
    batchSize: SEED_RECIPE.batchSize,
    seed,
    out: dirs.modelA,
    force,
    ...cb('modelA'),
  });

  const targetData = await prepareTask(target.task, dataOpts);
  const b = await transferModel({
    source: a.model,
    sourcePath: dirs.modelA,
    sourceTask: a.run.task,
    task: target.task,
    data: targetData,
    frozen: { epochs: epochs(target.frozen.epochs), optimizer: target.frozen.optimizer },
    unfrozen: { epochs: epochs(target.unfrozen.epochs), optimizer: target.unfrozen.optimizer },
    batchSize: SEED_RECIPE.batchSize,
    seed,
    out: dirs.modelB,
    force,
    ...cb('modelB'),
  });

  // Same architecture as Model B, same total epochs, trained from random weights.
  const scratchEpochs = epochs(target.frozen.epochs) + epochs(target.unfrozen.epochs);
  const s = await trainModel({
    task: target.task,
    data: targetData,
    architecture: source.architecture,
    epochs: scratchEpochs,
    optimizer: target.frozen.optimizer,
    batchSize: SEED_RECIPE.batchSize,
    seed,
    kind: 'scratch',
    baselineFor: path.basename(dirs.modelB),
    out: dirs.scratchB,
    force,
    ...cb('scratchB'),
  });

  const [frozen, unfrozen] = b.phases;
  const rows: SeedRow[] = [
    { model: 'A (source, 8 classes)', phase: 'train', epochs: a.run.phases[0]?.history.length ?? 0, seconds: a.seconds, testAccuracy: a.test.accuracy, engine: a.run.phases[0]?.engine },
    { model: 'B (transfer)', phase: 'frozen', epochs: frozen?.history.length ?? 0, seconds: frozen?.seconds ?? 0, testAccuracy: b.frozenTest.accuracy, engine: frozen?.engine },
    { model: 'B (transfer)', phase: 'unfrozen', epochs: unfrozen?.history.length ?? 0, seconds: unfrozen?.seconds ?? 0, testAccuracy: b.test.accuracy, engine: unfrozen?.engine },
    { model: 'B (from scratch)', phase: 'train', epochs: s.run.phases[0]?.history.length ?? 0, seconds: s.seconds, testAccuracy: s.test.accuracy, engine: s.run.phases[0]?.engine },
  ];
  const result: SeedResult = {
    backend: activeBackend()?.name ?? 'unknown',
    modelA: { testAccuracy: a.test.accuracy, seconds: a.seconds },
    modelB: { frozenTestAccuracy: b.frozenTest.accuracy, testAccuracy: b.test.accuracy, seconds: b.seconds },
    scratchB: { testAccuracy: s.test.accuracy, seconds: s.seconds },
    rows,
    runDirs: dirs,
  };
  // The summary the report reads beside the three run directories.
  await writeFileAtomic(path.join(out, 'seed.json'), `${JSON.stringify({ graftVersion: GRAFT_VERSION, ...result }, null, 2)}\n`);
  return result;
}
