import { writeReportFor } from '../report-file.js';
import { GraftError } from '../../errors.js';
import { loadExperiment } from '../../workflows/config/load.js';
import { assertSourcesExist } from '../../workflows/config/sources.js';
import type { SweepResult } from '../../workflows/sweep.js';
import { defineCommand } from '../command.js';
import { printJson } from '../common.js';
import { renderTable } from '../table.js';
import { EXPERIMENT_FLAGS, printShard, runWithFlags } from './run.js';
import { parseShard } from '../../workflows/shard.js';
import { checkQueueFlags } from '../../workflows/queue/run.js';
import { printOut, terminalJson } from '../terminal-text.js';

export const sweepCommand = defineCommand({
  name: 'sweep',
  summary: 'Try configurations of the transfer recipe from a sweep file; choose on validation, test the choice once.',
  usage: 'graft sweep FILE [--out DIR] [--json] [--force] [--backend NAME] [--engine NAME] [--check] [--shard K/N | --queue redis://HOST:PORT]',
  options: EXPERIMENT_FLAGS,
  epilog: [
    'FILE: a kind: sweep experiment, or a file with only the sweep fields (kind may be left out).',
    'Example: graft sweep examples/sweep-shirt-sandal.yaml   (`graft run --help` lists every field)',
    'Writes sweep.json into the file\'s out folder; with --shard K/N, sweep.shard-K-of-N.json (graft merge joins them into sweep.json).',
    'With --queue URL, `graft worker URL` processes train the configurations and score them on validation only; this',
    'process then chooses, trains the chosen configuration again (same seed) and scores it on the test set once: sweep.json as without --queue.',
  ].join('\n'),
  async run({ values: v, positionals }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new GraftError('BAD_ARGUMENT', `graft sweep takes one sweep file; received ${positionals.length}. Fix: graft sweep examples/sweep-shirt-sandal.yaml.`);
    checkQueueFlags(v.queue, v.shard);
    const shard = v.shard === undefined ? undefined : parseShard(v.shard);
    const exp = await loadExperiment(file, { defaultKind: 'sweep', ...(v.out !== undefined && { out: v.out }) });
    if (exp.kind !== 'sweep') {
      throw new GraftError('BAD_ARGUMENT', `${file} is a kind: ${exp.kind} experiment; graft sweep takes kind: sweep. Fix: run it with graft run ${file}.`);
    }
    await assertSourcesExist(exp, file);
    if (v.check) {
      printOut(`${file}: a valid sweep.\n${terminalJson(exp, 2)}\n`);
      return 0;
    }
    const summary = await runWithFlags(exp, v, file, shard);
    if (summary.kind === 'shard') {
      if (v.json) printJson(summary.result);
      else printShard(summary);
      return 0;
    }
    if (summary.kind !== 'sweep') throw new Error(`expected a sweep summary, got ${summary.kind}`);
    const report = await writeReportFor(summary.out);
    if (v.json) printJson(summary.result);
    else {
      printSweep(summary.result);
      printOut(`\nWrote ${summary.file} and ${report}\n`);
    }
    return 0;
  },
});

/** Every configuration tried with its validation score, the chosen one with its single test score, and the caveat. */
export function printSweep(r: SweepResult): void {
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  const chosen = JSON.stringify(r.best.config);
  printOut(`\n${r.task}: ${r.tried} configuration${r.tried === 1 ? '' : 's'} (${r.mode}) of transfer from ${r.source}, scored on the validation split\n`);
  const rows = r.trials.map((t, i) => {
    const c = t.config;
    return [String(i + 1), String(c.cut ?? 'default'), c.freeze, c.frozenEpochs, c.unfrozenEpochs, String(c.frozenLr), String(c.unfrozenLr), pct(t.valAccuracy), t.valLoss, t.seconds.toFixed(1), JSON.stringify(c) === chosen ? '← chosen' : t.stopped ? `(${t.stopped === 'diverged' ? 'diverged' : 'loss not finite'}: untrained)` : ''];
  });
  printOut(`${renderTable(['#', 'cut', 'freeze', 'frozen epochs', 'unfrozen epochs', 'frozen lr', 'unfrozen lr', 'val accuracy', 'val loss', 'seconds', ''], rows)}\n`);
  const c = r.best.config;
  printOut(
    `\nChosen: cut ${c.cut ?? 'default'}, freeze ${c.freeze}, ${c.frozenEpochs} frozen + ${c.unfrozenEpochs} unfrozen epochs, lr ${c.frozenLr} then ${c.unfrozenLr}: ` +
      `validation accuracy ${pct(r.best.valAccuracy)}, test accuracy ${pct(r.best.testAccuracy)} (the test set, scored once).\n`,
  );
  if (r.classWeights) printOut(`Class weight ${r.classWeight} in every configuration: ${Object.entries(r.classWeights).map(([n, w]) => `${n} ${w}`).join(', ')}.\n`);
  printOut(`${r.caveat}\n`);
}
