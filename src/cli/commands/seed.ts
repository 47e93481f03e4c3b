import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, OUTPUT_OPTIONS, printJson, startBackend } from '../common.js';
import { progressCallbacks } from '../progress.js';
import { renderTable } from '../table.js';
import { writeReportFor } from '../report-file.js';
import { runSeed, SEED_RECIPE, type SeedOptions } from '../../workflows/seed.js';

const LABELS = { modelA: 'Model A', modelB: 'Model B', scratchB: 'Scratch B' } as const;

export const seedCommand = defineCommand({
  name: 'seed',
  summary: "Run the write-up's walkthrough on real Fashion-MNIST: Model A, Model B by transfer, and Model B from scratch.",
  usage: 'graft seed [--out DIR] [--json] [--backend NAME]',
  options: {
    out: { type: 'string', value: 'DIR', default: 'runs/seed', description: 'Folder for the three run directories (model-a, model-b, scratch-b)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'Folder with the Fashion-MNIST IDX files' },
    offline: { type: 'boolean', description: 'Never download data' },
    seed: { type: 'string', value: 'N', default: '0', description: 'Seed for weights, shuffling and dropout' },
    'epoch-scale': { type: 'string', value: 'F', default: '1', description: 'Multiply every epoch count (1 = the write-up)' },
    ...OUTPUT_OPTIONS,
    ...BACKEND_OPTION,
  },
  epilog: [
    `Model A: ${SEED_RECIPE.source.task}, MLP, SGD lr ${SEED_RECIPE.source.optimizer.learningRate}, ${SEED_RECIPE.source.epochs} epochs.`,
    `Model B: ${SEED_RECIPE.target.task}, A's layers + sigmoid head; frozen SGD lr ${SEED_RECIPE.target.frozen.optimizer.learningRate} × ${SEED_RECIPE.target.frozen.epochs}, unfrozen lr ${SEED_RECIPE.target.unfrozen.optimizer.learningRate} × ${SEED_RECIPE.target.unfrozen.epochs}.`,
    'Scratch B: the same architecture from random weights, for the same number of epochs.',
  ].join('\n'),
  async run({ values: v }) {
    const quiet = v.json;
    const backend = await startBackend(v.backend, quiet);
    const opts: SeedOptions = {
      out: v.out,
      force: v.force,
      seed: numberOption('seed', v.seed, { integer: true, min: 0 })!,
      epochScale: numberOption('epoch-scale', v['epoch-scale'], { min: 0.01, max: 100 })!,
      callbacks: (m) => progressCallbacks({ label: LABELS[m], silent: quiet }),
    };
    if (v['data-dir'] !== undefined) opts.dataDir = v['data-dir'];
    if (v.offline) opts.download = false;
    const r = await runSeed(opts);
    const report = await writeReportFor(v.out);
    if (v.json) {
      printJson({ backend: r.backend, modelA: r.modelA, modelB: r.modelB, scratchB: r.scratchB });
      return 0;
    }
    process.stdout.write(`\nbackend: ${backend.description}\n`);
    process.stdout.write(`${renderTable(['model', 'phase', 'epochs', 'seconds', 'test accuracy'], r.rows.map((row) => [row.model, row.phase, row.epochs, row.seconds.toFixed(1), row.testAccuracy.toFixed(4)]))}\n`);
    const diff = r.modelB.testAccuracy - r.scratchB.testAccuracy;
    process.stdout.write(
      `\nTransfer vs scratch on this one seed: ${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(2)} points of test accuracy. ` +
        'One seed is not evidence; compare several seeds before claiming transfer helped.\n',
    );
    process.stdout.write(`Run directories: ${Object.values(r.runDirs).join(', ')}\nReport: ${report}\n`);
    return 0;
  },
});
