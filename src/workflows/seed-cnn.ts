import * as path from 'node:path';
import type { BatchNormMode } from '../train/batchnorm-mode.js';
import { GraftError } from '../errors.js';
import { activeBackend } from '../engine/backend.js';
import { assertRunDirFree } from '../io/run-dir.js';
import { writeFileAtomic } from '../io/atomic.js';
import { claimStudyOutput } from '../io/study-output.js';
import { GRAFT_VERSION } from '../version.js';
import { disposeModel } from '../models/dispose.js';
import { reinitialize } from '../models/reinit.js';
import { transfer, type HeadOptions } from '../transfer/transfer.js';
import type { UnfreezePolicy } from '../transfer/freeze.js';
import type { TrainCallbacks } from '../train/types.js';
import { loadBackbone } from './backbone.js';
import { prepareTask, type DataOptions, type PreparedData } from './prepare.js';
import type { SeedRow } from './seed.js';
import { trainModel } from './train-model.js';
import { transferModel, type TransferResult } from './transfer-model.js';

/**
 * The write-up's second example: VGG16 (ImageNet) at 64×64, Flatten → Dense 256 relu → Dense 1
 * sigmoid, base frozen for 10 epochs, then the last 4 base layers unfrozen at a tenth of the rate for
 * 10 more. Where ImageNet weights cannot be had, its image analogue of Model A → Model B.
 */
export const SEED_CNN_RECIPE = {
  target: 'cifar10:binary=cat,dog',
  input: 64,
  head: { hidden: 256, pooling: 'flatten' } as const,
  frozen: { epochs: 10, optimizer: { name: 'adam', learningRate: 0.001 } },
  unfrozen: { epochs: 10, optimizer: { name: 'adam', learningRate: 0.0001 }, unfreeze: { last: 4 } as UnfreezePolicy },
  /** The analogue of Model A: graft's small CNN on the eight other CIFAR-10 classes, at CIFAR's own 32×32. */
  source: { task: 'cifar10:exclude=cat,dog', architecture: 'cnn', epochs: 10, optimizer: { name: 'adam', learningRate: 0.001 }, cut: 'pool2' },
  /** Teachable Machine's MobileNetV2 (α = 0.35): global average pooling head; its last block unfrozen. */
  mobilenet: { backbone: 'mobilenetv2:0.35', head: { hidden: 256, pooling: 'avg' } as const, unfreeze: { from: 'block_16_expand' } as UnfreezePolicy },
  batchSize: 32,
  /**
   * Training images per class unless told otherwise. The write-up used every image (5,000 per
   * class); graft's CNN training on the wasm backend is still ~20 ms per 32×32 image (issue 6), so
   * the full run takes hours on 2 cores. 300 per class runs in about a quarter of an hour.
   */
  perClass: 300,
} as const;

export type SeedCnnModel = 'vgg16B' | 'modelA' | 'modelB' | 'scratchB' | 'mobilenetB';

export interface SeedCnnOptions extends Pick<DataOptions, 'dataDir'> {
  /** Default "runs/seed-cnn". */
  out?: string;
  force?: boolean;
  seed?: number;
  /** VGG16 weights: 'imagenet' (cache, Keras's cache or download) or a file. Default 'imagenet'. */
  weights?: string;
  /** A Teachable Machine export (model.json) whose MobileNetV2 serves as a second source. Default: none. */
  teachableMachine?: string;
  /** Training images per class, for every task (seeded subsample); 0 for all. Default SEED_CNN_RECIPE.perClass. */
  perClass?: number;
  /** Multiplies every epoch count (1 = the write-up). Default 1. */
  epochScale?: number;
  /** BatchNorm in every transfer's unfrozen phase (UnfrozenPhaseOptions.batchNorm; MobileNetV2 has BatchNorm, VGG16 none). Default 'auto'. */
  batchNorm?: BatchNormMode;
  callbacks?: (model: SeedCnnModel) => TrainCallbacks | undefined;
  /** Why a step was skipped or replaced, in words. */
  onMessage?: (text: string) => void;
}

export interface SeedCnnResult {
  backend: string;
  /** 'imagenet' when VGG16's weights were found; 'fallback' for the small-CNN analogue. */
  path: 'imagenet' | 'fallback';
  rows: SeedRow[];
  runDirs: Partial<Record<SeedCnnModel, string>>;
  messages: string[];
}

export async function runSeedCnn(options: SeedCnnOptions = {}): Promise<SeedCnnResult> {
  const out = options.out ?? path.join('runs', 'seed-cnn');
  const seed = options.seed ?? 0;
  const force = options.force ?? false;
  const scale = options.epochScale ?? 1;
  const epochs = (n: number): number => Math.max(1, Math.round(n * scale));
  const R = SEED_CNN_RECIPE;
  const messages: string[] = [];
  const say = (text: string): void => {
    messages.push(text);
    options.onMessage?.(text);
  };
  const perClass = options.perClass ?? R.perClass;
  const data: DataOptions = { seed, ...(options.dataDir !== undefined && { dataDir: options.dataDir }), ...(perClass > 0 && { perClass }) };
  const dir = (m: SeedCnnModel): string => path.join(out, { vgg16B: 'vgg16-b', modelA: 'model-a', modelB: 'model-b', scratchB: 'scratch-b', mobilenetB: 'mobilenet-b' }[m]);
  const cb = (m: SeedCnnModel): { callbacks?: TrainCallbacks } => {
    const c = options.callbacks?.(m);
    return c ? { callbacks: c } : {};
  };
  for (const m of ['vgg16B', 'modelA', 'modelB', 'scratchB', 'mobilenetB'] as const) await assertRunDirFree(dir(m), force);
  await claimStudyOutput(out, 'seed', path.join(out, 'seed.json'), { force });
  const phases = { frozen: { epochs: epochs(R.frozen.epochs), optimizer: R.frozen.optimizer }, unfrozen: { epochs: epochs(R.unfrozen.epochs), optimizer: R.unfrozen.optimizer, ...(options.batchNorm !== undefined && { batchNorm: options.batchNorm }) } };
  const rows: SeedRow[] = [];
  const runDirs: SeedCnnResult['runDirs'] = {};
  const transferRows = (label: string, r: TransferResult): void => {
    const [frozen, unfrozen] = r.phases;
    rows.push({ model: label, phase: 'frozen', epochs: frozen?.history.length ?? 0, seconds: frozen?.seconds ?? 0, testAccuracy: r.frozenTest.accuracy, engine: frozen?.engine });
    if (unfrozen) rows.push({ model: label, phase: 'unfrozen', epochs: unfrozen.history.length, seconds: unfrozen.seconds, testAccuracy: r.test.accuracy, engine: unfrozen.engine });
  };
  const common = { batchSize: R.batchSize, seed, force };

  // Cats vs dogs resized for the backbones; prepared only when a backbone runs.
  let resized: Promise<PreparedData> | undefined;
  const target64 = (): Promise<PreparedData> => (resized ??= prepareTask(R.target, { ...data, image: { height: R.input, width: R.input, channels: 3 } }));
  let vgg: Awaited<ReturnType<typeof loadBackbone>> | undefined;
  try {
    vgg = await loadBackbone({ backbone: 'vgg16', input: R.input, weights: options.weights ?? 'imagenet', seed });
  } catch (e) {
    if (!(e instanceof GraftError) || e.code !== 'WEIGHTS_NOT_FOUND') throw e;
    say(`VGG16's ImageNet weights are not available (${e.message}) Running the image analogue instead: a small CNN trained on CIFAR-10 without cats and dogs, transferred to cats vs dogs.`);
  }

  if (vgg) {
    const b = await transferModel({
      ...common,
      source: vgg.model,
      sourcePath: vgg.description,
      task: R.target,
      data: await target64(),
      cut: -1,
      head: R.head,
      frozen: phases.frozen,
      unfrozen: { ...phases.unfrozen, unfreeze: R.unfrozen.unfreeze },
      out: dir('vgg16B'),
      ...cb('vgg16B'),
    });
    transferRows('B from VGG16 (ImageNet)', b);
    runDirs.vgg16B = dir('vgg16B');
    disposeModel(b.model);
    disposeModel(vgg.model);
    say('VGG16 has no from-scratch baseline here (VGG16 from random weights would take hours on a CPU); the small-CNN transfer below has one.');
  }

  // The image analogue of Model A → Model B, and B's architecture from random weights: the baseline.
  const target32 = await prepareTask(R.target, data);
  const a = await trainModel({ ...common, task: R.source.task, architecture: R.source.architecture, epochs: epochs(R.source.epochs), optimizer: R.source.optimizer, out: dir('modelA'), ...data, ...cb('modelA') });
  rows.push({ model: 'A (small CNN, 8 classes)', phase: 'train', epochs: a.run.phases[0]?.history.length ?? 0, seconds: a.seconds, testAccuracy: a.test.accuracy, engine: a.run.phases[0]?.engine });
  runDirs.modelA = dir('modelA');
  const head: HeadOptions = { ...R.head, classes: 2 };
  const b = await transferModel({
    ...common,
    source: a.model,
    sourcePath: dir('modelA'),
    sourceTask: a.run.task,
    task: R.target,
    data: target32,
    cut: R.source.cut,
    head: R.head,
    frozen: phases.frozen,
    unfrozen: { ...phases.unfrozen, unfreeze: R.unfrozen.unfreeze },
    out: dir('modelB'),
    ...cb('modelB'),
  });
  transferRows('B from A (transfer)', b);
  runDirs.modelB = dir('modelB');
  disposeModel(b.model);

  const shape = await transfer(a.model, { cut: R.source.cut, head, freeze: 'none', seed });
  reinitialize(shape.model, seed);
  const s = await trainModel({
    ...common,
    task: R.target,
    data: target32,
    model: shape.model,
    kind: 'scratch',
    baselineFor: path.basename(dir('modelB')),
    epochs: phases.frozen.epochs + phases.unfrozen.epochs,
    optimizer: R.frozen.optimizer,
    out: dir('scratchB'),
    ...cb('scratchB'),
  });
  rows.push({ model: 'B from scratch (same architecture)', phase: 'train', epochs: s.run.phases[0]?.history.length ?? 0, seconds: s.seconds, testAccuracy: s.test.accuracy, engine: s.run.phases[0]?.engine });
  runDirs.scratchB = dir('scratchB');
  disposeModel(s.model);
  disposeModel(a.model);

  if (options.teachableMachine) {
    const mobile = await loadBackbone({ backbone: R.mobilenet.backbone, input: R.input, weights: options.teachableMachine, seed });
    const m = await transferModel({
      ...common,
      source: mobile.model,
      sourcePath: mobile.description,
      task: R.target,
      data: await target64(),
      cut: -1,
      head: R.mobilenet.head,
      frozen: phases.frozen,
      unfrozen: { ...phases.unfrozen, unfreeze: R.mobilenet.unfreeze },
      out: dir('mobilenetB'),
      ...cb('mobilenetB'),
    });
    transferRows('B from MobileNetV2 (Teachable Machine)', m);
    runDirs.mobilenetB = dir('mobilenetB');
    disposeModel(m.model);
    disposeModel(mobile.model);
  } else {
    say('Second source skipped: pass a Teachable Machine export (--teachable-machine model.json) to add its ImageNet MobileNetV2.');
  }

  const result: SeedCnnResult = { backend: activeBackend()?.name ?? 'unknown', path: vgg ? 'imagenet' : 'fallback', rows, runDirs, messages };
  await writeFileAtomic(path.join(out, 'seed.json'), `${JSON.stringify({ graftVersion: GRAFT_VERSION, ...result }, null, 2)}\n`);
  return result;
}
