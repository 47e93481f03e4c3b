import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, useEngine, OUTPUT_OPTIONS, printJson, startBackend } from '../common.js';
import { progressCallbacks } from '../progress.js';
import { renderTable } from '../table.js';
import { writeReportFor } from '../report-file.js';
import { runSeed, SEED_RECIPE, type SeedOptions } from '../../workflows/seed.js';
import { runSeedCnn, SEED_CNN_RECIPE, type SeedCnnModel, type SeedCnnOptions } from '../../workflows/seed-cnn.js';
import type { OptionDef, ParsedArgs } from '../command.js';
import { GraftError } from '../../errors.js';
import { printErr, printOut } from '../terminal-text.js';
import { engineName, fallbackReasons } from '../engine-text.js';
import { BATCH_NORM_OPTION, parseBatchNormOption } from '../cnn-options.js';

const SEED_OPTIONS = {
  out: { type: 'string', value: 'DIR', description: 'Folder for the run directories (default runs/seed, or runs/seed-cnn with --cnn)' },
  'data-dir': { type: 'string', value: 'DIR', description: 'Folder with the Fashion-MNIST IDX files (with --cnn: CIFAR-10, binary batches or the JPEG tree)' },
  cnn: { type: 'boolean', description: "Run the write-up's second example: VGG16 (ImageNet) for cats vs dogs on CIFAR-10, or its small-CNN analogue without the weights" },
  weights: { type: 'string', value: 'W', description: 'With --cnn: VGG16 weights, imagenet (cache or download) or a file (default imagenet)' },
  'teachable-machine': { type: 'string', value: 'FILE', description: "With --cnn: a Teachable Machine model.json whose MobileNetV2 is a second source" },
  'per-class': { type: 'string', value: 'N', description: `With --cnn: training images per class, 0 for all (default ${SEED_CNN_RECIPE.perClass}; the write-up used all 5000)` },
  offline: { type: 'boolean', description: 'Never download data' },
  seed: { type: 'string', value: 'N', default: '0', description: 'Seed for weights, shuffling and dropout' },
  'epoch-scale': { type: 'string', value: 'F', default: '1', description: 'Multiply every epoch count (1 = the write-up)' },
  bn: { ...BATCH_NORM_OPTION.bn, description: `With --cnn: ${BATCH_NORM_OPTION.bn.description}, in every transfer's unfrozen phase` },
  ...OUTPUT_OPTIONS,
  ...BACKEND_OPTION,
  ...ENGINE_OPTION,
} as const satisfies Record<string, OptionDef>;

const LABELS = { modelA: 'Model A', modelB: 'Model B', scratchB: 'Scratch B' } as const;

export const seedCommand = defineCommand({
  name: 'seed',
  summary: "Run the write-up's walkthrough on real Fashion-MNIST: Model A, Model B by transfer, and Model B from scratch.",
  usage: 'graft seed [--out DIR] [--json] [--backend NAME]\n       graft seed --cnn --data-dir CIFAR10_DIR [--weights FILE] [--teachable-machine MODEL_JSON] [--per-class N]',
  options: SEED_OPTIONS,
  epilog: [
    `Model A: ${SEED_RECIPE.source.task}, MLP, SGD lr ${SEED_RECIPE.source.optimizer.learningRate}, ${SEED_RECIPE.source.epochs} epochs.`,
    `Model B: ${SEED_RECIPE.target.task}, A's layers + sigmoid head; frozen SGD lr ${SEED_RECIPE.target.frozen.optimizer.learningRate} × ${SEED_RECIPE.target.frozen.epochs}, unfrozen lr ${SEED_RECIPE.target.unfrozen.optimizer.learningRate} × ${SEED_RECIPE.target.unfrozen.epochs}.`,
    'Scratch B: the same architecture from random weights, for the same number of epochs.',
    `--cnn: ${SEED_CNN_RECIPE.target} at ${SEED_CNN_RECIPE.input}×${SEED_CNN_RECIPE.input}; VGG16 + Flatten → Dense 256 → sigmoid; frozen Adam ${SEED_CNN_RECIPE.frozen.optimizer.learningRate} × ${SEED_CNN_RECIPE.frozen.epochs}, last 4 base layers unfrozen at ${SEED_CNN_RECIPE.unfrozen.optimizer.learningRate} × ${SEED_CNN_RECIPE.unfrozen.epochs}.`,
    `       Without ImageNet weights: a small CNN on ${SEED_CNN_RECIPE.source.task} (Model A), transferred to cats vs dogs, plus the from-scratch baseline.`,
  ].join('\n'),
  async run(args): Promise<number> {
    const v = args.values;
    const quiet = v.json;
    useEngine(v.engine);
    const backend = await startBackend(v.backend, quiet);
    if (v.cnn) return runCnn(args, backend.description);
    if (v.bn !== 'auto') throw new GraftError('BAD_ARGUMENT', `--bn ${v.bn} belongs to graft seed --cnn; the Fashion-MNIST walkthrough's MLP has no BatchNorm. Fix: add --cnn, or leave out --bn.`);
    for (const flag of ['weights', 'teachable-machine', 'per-class'] as const) {
      if (v[flag] !== undefined) throw new GraftError('BAD_ARGUMENT', `--${flag} belongs to graft seed --cnn; the Fashion-MNIST walkthrough has no such setting.`);
    }
    const out = v.out ?? 'runs/seed';
    const opts: SeedOptions = {
      out,
      force: v.force,
      seed: numberOption('seed', v.seed, { integer: true, min: 0 })!,
      epochScale: numberOption('epoch-scale', v['epoch-scale'], { min: 0.01, max: 100 })!,
      callbacks: (m) => progressCallbacks({ label: LABELS[m], silent: quiet }),
    };
    if (v['data-dir'] !== undefined) opts.dataDir = v['data-dir'];
    if (v.offline) opts.download = false;
    const r = await runSeed(opts);
    const report = await writeReportFor(out);
    if (v.json) {
      printJson({ backend: r.backend, modelA: r.modelA, modelB: r.modelB, scratchB: r.scratchB });
      return 0;
    }
    printOut(`\nbackend: ${backend.description}\n`);
    printOut(`${renderTable(['model', 'phase', 'epochs', 'seconds', 'test accuracy', 'engine'], r.rows.map((row) => [row.model, row.phase, row.epochs, row.seconds.toFixed(1), row.testAccuracy.toFixed(4), engineName(row.engine, false)]))}\n${fallbackReasons(r.rows)}`);
    const diff = r.modelB.testAccuracy - r.scratchB.testAccuracy;
    printOut(
      `\nTransfer vs scratch on this one seed: ${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(2)} points of test accuracy. ` +
        'One seed is not evidence; compare several seeds before claiming transfer helped.\n',
    );
    printOut(`Run directories: ${Object.values(r.runDirs).join(', ')}\nReport: ${report}\n`);
    return 0;
  },
});

const CNN_LABELS: Record<SeedCnnModel, string> = { vgg16B: 'VGG16 B', modelA: 'Model A', modelB: 'Model B', scratchB: 'Scratch B', mobilenetB: 'MobileNetV2 B' };

async function runCnn({ values: v }: ParsedArgs<typeof SEED_OPTIONS>, backend: string): Promise<number> {
  if (v['data-dir'] === undefined && !process.env.GRAFT_DATA_DIR) {
    throw new GraftError('DATA_NOT_FOUND', 'graft seed --cnn needs CIFAR-10: pass --data-dir DIR (the binary batches, or the JPEG tree from cifar10-jpeg.tar extracted outside the repository) or set GRAFT_DATA_DIR.');
  }
  const out = v.out ?? 'runs/seed-cnn';
  const quiet = v.json;
  const opts: SeedCnnOptions = {
    out,
    force: v.force,
    seed: numberOption('seed', v.seed, { integer: true, min: 0 })!,
    epochScale: numberOption('epoch-scale', v['epoch-scale'], { min: 0.01, max: 100 })!,
    callbacks: (m) => progressCallbacks({ label: CNN_LABELS[m], silent: quiet }),
    onMessage: (text) => {
      if (!quiet) printErr(`graft: ${text}\n`);
    },
    ...(v['data-dir'] !== undefined && { dataDir: v['data-dir'] }),
    ...(v.weights !== undefined && { weights: v.weights }),
    ...(v['teachable-machine'] !== undefined && { teachableMachine: v['teachable-machine'] }),
  };
  const perClass = numberOption('per-class', v['per-class'], { integer: true, min: 0 });
  if (perClass !== undefined) opts.perClass = perClass;
  const batchNorm = parseBatchNormOption(v.bn);
  if (batchNorm !== 'auto') opts.batchNorm = batchNorm;
  const r = await runSeedCnn(opts);
  const report = await writeReportFor(out);
  if (v.json) {
    printJson({ backend: r.backend, path: r.path, rows: r.rows, messages: r.messages });
    return 0;
  }
  printOut(`\nbackend: ${backend}\n`);
  printOut(`${renderTable(['model', 'phase', 'epochs', 'seconds', 'test accuracy', 'engine'], r.rows.map((row) => [row.model, row.phase, row.epochs, row.seconds.toFixed(1), row.testAccuracy.toFixed(4), engineName(row.engine, false)]))}\n${fallbackReasons(r.rows)}`);
  printOut('\nOne seed is not evidence; use graft compare with several seeds before claiming transfer helped.\n');
  printOut(`Run directories: ${Object.values(r.runDirs).join(', ')}\nReport: ${report}\n`);
  return 0;
}
