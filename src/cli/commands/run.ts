import { BACKEND_CHOICES } from '../../engine/backend.js';
import { ENGINE_CHOICES, engineFromEnv, type EngineChoice } from '../../engine/engine-choice.js';
import { GraftError } from '../../errors.js';
import { protectedReason } from '../../io/protected-paths.js';
import { loadExperiment } from '../../workflows/config/load.js';
import { assertSourcesExist } from '../../workflows/config/sources.js';
import { engineName, fallbackReasons } from '../engine-text.js';
import type { Experiment } from '../../workflows/config/schema.js';
import { schemaReference } from '../../workflows/config/validate.js';
import { checkQueueOptions, runExperiment, type ExperimentHooks, type ExperimentSummary, type RunExperimentOptions } from '../../workflows/run-experiment.js';
import { defineCommand, type OptionDef } from '../command.js';
import { parseShard, type Shard } from '../../workflows/shard.js';
import { checkQueueFlags } from '../../workflows/queue/run.js';
import { dataOptions, printJson, startBackend, useEngine } from '../common.js';
import { progressCallbacks } from '../progress.js';
import { writeReportFor } from '../report-file.js';
import { renderTable } from '../table.js';
import { printCompare } from './compare.js';
import { printLayers } from './layers.js';
import { printErr, printOut, terminalJson } from '../terminal-text.js';
import { timeSpent } from '../time-spent.js';

/** Flags `graft run` and `graft sweep` share; the file's own settings apply unless a flag is given. */
export const EXPERIMENT_FLAGS = {
  json: { type: 'boolean', description: 'Print the result as one JSON object on stdout and no progress' },
  out: { type: 'string', value: 'DIR', description: "Output folder, replacing the file's out (which must lie inside the file's folder; this one may lie anywhere)" },
  force: { type: 'boolean', description: 'Replace existing outputs that graft wrote (as force: true in the file)' },
  backend: { type: 'string', value: 'NAME', description: `Compute backend, overriding the file's: ${BACKEND_CHOICES.join(', ')} (default: the file's backend, else auto)` },
  engine: { type: 'string', value: 'NAME', description: `Training engine, overriding the file's: ${ENGINE_CHOICES.join(', ')} (default: the file's engine, else GRAFT_ENGINE, else auto)` },
  check: { type: 'boolean', description: 'Validate the file and print the experiment with paths resolved; train nothing' },
  shard: {
    type: 'string',
    value: 'K/N',
    description: 'compare, sweep and layers files: run only the K-th of N shares of the trials and write KIND.shard-K-of-N.json in the out folder (join them with graft merge); auto/N reads K from JOB_COMPLETION_INDEX (+1) or SLURM_ARRAY_TASK_ID',
  },
  queue: {
    type: 'string',
    value: 'URL',
    description: 'compare, sweep and layers files: put the trials on a Redis queue (redis://HOST:PORT[/DB]) for `graft worker URL` processes on any machines, collect their results and write the usual result file; a rerun resumes (needs npm install bullmq). A sweep chooses and scores its choice on test here, once',
  },
} as const satisfies Record<string, OptionDef>;

export const runCommand = defineCommand({
  name: 'run',
  summary: 'Run a whole experiment (train, transfer, seed, compare, sweep or layers) from a YAML or JSON file.',
  usage: 'graft run FILE [--out DIR] [--json] [--force] [--backend NAME] [--engine NAME] [--check] [--shard K/N | --queue redis://HOST:PORT]',
  options: EXPERIMENT_FLAGS,
  epilog: [
    'Example: graft run examples/model-a.yaml   (examples/ has one file per kind)',
    '',
    "Experiment file fields; relative paths resolve against the file's folder:",
    schemaReference(),
  ].join('\n'),
  async run({ values: v, positionals }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new GraftError('BAD_ARGUMENT', `graft run takes one experiment file; received ${positionals.length}. Fix: graft run examples/model-a.yaml.`);
    checkQueueFlags(v.queue, v.shard);
    const shard = v.shard === undefined ? undefined : parseShard(v.shard);
    const exp = await loadExperiment(file, { ...(v.out !== undefined && { out: v.out }) });
    await assertSourcesExist(exp, file);
    if (v.check) return printChecked(file, exp);
    const summary = await runWithFlags(exp, v, file, shard);
    const report = ['compare', 'seed', 'sweep', 'layers'].includes(summary.kind) ? await writeReportFor(summary.out) : undefined;
    if (v.json) printJson(summary);
    else await printSummary(summary, report);
    return 0;
  },
});

/** Applies --force/--backend, starts the backend and runs with progress on stderr (none with --json). */
export async function runWithFlags(exp: Experiment, v: { json: boolean; force: boolean; backend?: string | undefined; engine?: string | undefined; queue?: string | undefined }, file: string, shard?: Shard): Promise<ExperimentSummary> {
  // Before anything starts: a bad --engine or --queue must leave no trace.
  const options: RunExperimentOptions = { ...(shard && { shard }), ...(v.queue !== undefined && { queue: v.queue }) };
  checkQueueOptions(exp, options);
  const engine = v.engine ?? exp.engine;
  // Also without one: useEngine lets startBackend say when training will fall back to TF.js.
  useEngine(engine ?? engineFromEnv());
  const force = v.force || (exp.force ?? false);
  // An --out from the command line may lie anywhere, but never above the experiment file.
  const why = force ? await protectedReason(exp.out, { configFile: file }) : undefined;
  if (why) throw new GraftError('OUTPUT_PROTECTED', `Refusing to write ${exp.out} with --force: ${why}. Nothing was changed. Choose another --out.`);
  const backend = await startBackend(v.backend ?? exp.backend ?? 'auto', v.json);
  const hooks: ExperimentHooks = { callbacks: (label) => progressCallbacks({ label, silent: v.json }) };
  if (!v.json) hooks.log = (line) => printErr(`${line}\n`);
  const { onDownloadProgress } = dataOptions({ seed: '0' }, v.json);
  if (onDownloadProgress) hooks.onDownloadProgress = onDownloadProgress;
  return runExperiment({ ...exp, ...(engine !== undefined && { engine: engine as EngineChoice }), backend: backend.name, force }, hooks, options);
}

/** What a shard did and how to finish the study. */
export function printShard(s: Extract<ExperimentSummary, { kind: 'shard' }>): void {
  printOut(`\nShard ${s.shard.index} of ${s.shard.count}: ${s.trials} of ${s.total} ${s.study === 'compare' ? '(train size, seed) pairs' : s.study === 'sweep' ? 'configurations' : 'trials'}. Wrote ${s.file}; when all ${s.shard.count} are done: graft merge ${s.out}\n`);
}

function printChecked(file: string, exp: Experiment): number {
  printOut(`${file}: a valid kind: ${exp.kind} experiment.\n${terminalJson(exp, 2)}\n`);
  return 0;
}

async function printSummary(s: ExperimentSummary, report: string | undefined): Promise<void> {
  const wrote = (file: string): void => void printOut(`\nWrote ${file}${report ? ` and ${report}` : ''}\n`);
  switch (s.kind) {
    case 'train':
      printOut(`Test accuracy ${s.testAccuracy.toFixed(4)} (loss ${s.testLoss.toFixed(4)}; ${s.stopReason}). Saved ${s.out} ${timeSpent(s.seconds, s.evaluationSeconds)}\n`);
      return;
    case 'transfer':
      printOut(`Test accuracy after the frozen phase ${s.frozenTestAccuracy.toFixed(4)}; after the unfrozen phase ${s.testAccuracy.toFixed(4)} (loss ${s.testLoss.toFixed(4)}). Saved ${s.out} ${timeSpent(s.seconds, s.evaluationSeconds)}\n`);
      return;
    case 'seed':
      printOut(`${renderTable(['model', 'phase', 'epochs', 'seconds', 'test accuracy', 'engine'], s.result.rows.map((r) => [r.model, r.phase, r.epochs, r.seconds.toFixed(1), r.testAccuracy.toFixed(4), engineName(r.engine, false)]))}\n${fallbackReasons(s.result.rows)}`);
      printOut('One seed is not evidence; a kind: compare experiment runs several.\n');
      wrote(Object.values(s.result.runDirs).join(', '));
      return;
    case 'compare':
      printCompare(s.result);
      wrote(s.file);
      return;
    case 'sweep':
      // Imported here: sweep.ts builds on this file, so a static import would be a cycle.
      (await import('./sweep.js')).printSweep(s.result);
      wrote(s.file);
      return;
    case 'layers':
      printLayers(s.result);
      wrote(s.file);
      return;
    case 'shard':
      printShard(s);
      return;
  }
}
