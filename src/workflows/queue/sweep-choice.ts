import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { betterTrial } from '../../evaluate/sweep-result.js';
import { disposeModel } from '../../models/dispose.js';
import { buildSweepResult, scoreSweepChoice, sweepClassWeights, trainSweepConfig, type SweepPlan, type SweepResult, type SweepRunTrial } from '../sweep.js';
import { sweepData } from './studies.js';

/**
 * The end of a queued sweep, in the coordinator: the workers scored every configuration on the
 * validation split only; the choice is made here as a single-machine sweep makes it (first best in
 * plan order), and only the chosen configuration is trained again here, from the same seed, and
 * scored on the test set: the one look at it the sweep gets. A worker cannot keep a model for
 * later, and the workers' trainings never see the test set.
 */
export async function finishQueuedSweep(
  plan: SweepPlan,
  source: tfl.LayersModel,
  received: readonly SweepRunTrial[],
  info: { sourceLocation: string; backend: string; say: (line: string) => void },
): Promise<SweepResult> {
  // JSON (Redis, the partial file) carries a NaN score as null; the choice must see NaN, as in one process.
  const trials = received.map((t) => ({ ...t, valAccuracy: t.valAccuracy ?? Number.NaN, valLoss: t.valLoss ?? Number.NaN }));
  let chosen: number | undefined;
  trials.forEach((t, i) => {
    if (chosen === undefined || betterTrial(t, trials[chosen]!)) chosen = i;
  });
  if (chosen === undefined) throw new GraftError('RUN_INCOMPLETE', 'a queued sweep came back with no configurations; received 0 results. Fix: rerun it (this is a bug in graft if it happens again).', { userError: false });
  const fromWorker = trials[chosen]!;
  const data = await sweepData(plan);
  info.say(`chose configuration ${chosen + 1} on validation (${(100 * fromWorker.valAccuracy).toFixed(2)}%); training it again here to score it on the test set once`);
  const { trial: again, model } = await trainSweepConfig(source, plan, data, chosen);
  // The retraining must be the worker's training: the fingerprint made both machines alike; check the outcome too.
  if (!sameScore(again.valAccuracy, fromWorker.valAccuracy) || !sameScore(again.valLoss, fromWorker.valLoss)) {
    disposeModel(model);
    throw new GraftError(
      'RUN_INCOMPLETE',
      `the chosen configuration ${chosen + 1}, trained again on this machine, gives validation accuracy ${again.valAccuracy} and loss ${again.valLoss}, but its worker reported ${fromWorker.valAccuracy} and ${fromWorker.valLoss}: this machine does not reproduce the workers' training, so its test score would belong to another model. Fix: run the coordinator with the workers' backend and engine (--backend, --engine), or run the sweep without --queue.`,
    );
  }
  const scored: SweepRunTrial = { ...fromWorker };
  await scoreSweepChoice(model, scored, data.test);
  const runs = trials.map((t, i) => (i === chosen ? scored : t));
  return buildSweepResult(plan, runs, { task: data.task, source: info.sourceLocation, classWeights: sweepClassWeights(plan, data.train), backend: info.backend });
}

/** Equal, counting NaN (a diverged configuration) as equal to itself. */
function sameScore(here: number, worker: number): boolean {
  return here === worker || (Number.isNaN(here) && Number.isNaN(worker));
}
