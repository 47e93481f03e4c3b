import { GraftError } from '../errors.js';
import type { OptionDef } from './command.js';
import { numberOption } from './command.js';
import { MONITOR_METRICS } from '../train/callbacks/monitor.js';
import { CLI_CONTROL_NAMES, controlsOf, type ControlsInput } from '../workflows/study-training.js';
import { REDUCE_ON_PLATEAU_DEFAULTS } from '../train/callbacks/reduce-on-plateau.js';
import type { TrainingControls } from '../train/callbacks/controls.js';
import type { EarlyStoppingOptions } from '../train/early-stopping.js';

/** Label smoothing and the callbacks that act (issue 16), for train and transfer. */
export const FIT_CONTROL_OPTIONS = {
  'label-smoothing': { type: 'string', value: 'E', description: "Smooth the training targets by E in [0, 1), as Keras's/PyTorch's label_smoothing: (1−E)·onehot + E/classes (one sigmoid unit: y·(1−E) + E/2); validation loss uses the same loss, as Keras's val_loss (default 0)" },
  keep: { type: 'string', value: 'best', description: 'best: end each phase with the weights of its best epoch by --monitor (run.json says which epoch; needs --val-split)' },
  'reduce-on-plateau': {
    type: 'string',
    value: 'PATIENCE[,FACTOR]',
    description: `Multiply the learning rate by FACTOR (default ${REDUCE_ON_PLATEAU_DEFAULTS.factor}) after PATIENCE epochs without improvement of --monitor, as Keras's ReduceLROnPlateau (min_delta ${REDUCE_ON_PLATEAU_DEFAULTS.minDelta}, cooldown 0, min_lr 0; needs --val-split)`,
  },
  monitor: { type: 'string', value: 'METRIC', description: `Validation metric that --early-stopping, --keep best and --reduce-on-plateau watch: ${MONITOR_METRICS.join(', ')} (default val_loss; auc for binary tasks, top_k with more than 5 classes)` },
} as const satisfies Record<string, OptionDef>;

type Values = { 'label-smoothing'?: string | undefined; keep?: string | undefined; 'reduce-on-plateau'?: string | undefined; monitor?: string | undefined };

/** The flags' values as fit options; `patience` is --early-stopping's, which --monitor also steers. */
export function fitControlOptions(v: Values, patience: number | undefined): TrainingControls & { earlyStopping?: EarlyStoppingOptions } {
  if (v.keep !== undefined && v.keep !== 'best') throw new GraftError('BAD_ARGUMENT', `--keep received ${JSON.stringify(v.keep)}; the only choice is best (--keep best --monitor val_accuracy keeps the epoch of highest validation accuracy).`);
  let reduceOnPlateau: ControlsInput['reduceOnPlateau'];
  if (v['reduce-on-plateau'] !== undefined) {
    const [p, f, ...rest] = v['reduce-on-plateau'].split(',');
    if (rest.length > 0) throw new GraftError('BAD_ARGUMENT', `--reduce-on-plateau received ${JSON.stringify(v['reduce-on-plateau'])}; give PATIENCE or PATIENCE,FACTOR, e.g. 3 or 3,0.5.`);
    const factor = numberOption('reduce-on-plateau factor', f, { above: 0, max: 0.999999 });
    reduceOnPlateau = { patience: numberOption('reduce-on-plateau patience', p, { integer: true, min: 1 })!, ...(factor !== undefined && { factor }) };
  }
  const labelSmoothing = numberOption('label-smoothing', v['label-smoothing'], { min: 0, max: 0.999999 });
  // One rule for the flags and the experiment file's fields (workflows/study-training.ts).
  const { monitor, ...out } = controlsOf(
    { ...(labelSmoothing !== undefined && { labelSmoothing }), ...(v.keep !== undefined && { keepBest: true }), ...(reduceOnPlateau && { reduceOnPlateau }), ...(v.monitor !== undefined && { monitor: v.monitor }) },
    patience !== undefined,
    CLI_CONTROL_NAMES,
  );
  return { ...out, ...(patience !== undefined && { earlyStopping: { patience, ...(monitor !== undefined && { monitor }) } }) };
}
