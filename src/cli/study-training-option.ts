import type { OptionDef } from './command.js';
import { SCHEDULE_HELP, scheduleOption } from './common.js';
import { BATCH_NORM_OPTION, parseBatchNormOption } from './cnn-options.js';
import { FIT_CONTROL_OPTIONS, fitControlOptions } from './fit-controls-option.js';
import type { StudyTraining } from '../workflows/study-training.js';

/** Optimizer details beside a study's --frozen-optimizer/--optimizer and rates (both phases and the baseline). */
export const STUDY_OPTIMIZER_OPTIONS = {
  momentum: { type: 'string', value: 'M', description: 'SGD or RMSprop momentum, every training (default 0)' },
  'weight-decay': { type: 'string', value: 'W', description: 'Weight decay, every training: L2 for sgd/adam, decoupled for adamw/rmsprop (default 0; adamw 0.01)' },
} as const satisfies Record<string, OptionDef>;

/** Issue 16's options as graft layers takes them: one phase per trial. */
export const ONE_PHASE_TRAINING_OPTIONS = {
  ...STUDY_OPTIMIZER_OPTIONS,
  schedule: { type: 'string', value: 'SPEC', description: SCHEDULE_HELP },
  ...BATCH_NORM_OPTION,
  ...FIT_CONTROL_OPTIONS,
} as const satisfies Record<string, OptionDef>;

/** Issue 16's options as graft compare takes them: a schedule per phase (the scratch arm follows the frozen phase's). */
export const STUDY_TRAINING_OPTIONS = {
  ...STUDY_OPTIMIZER_OPTIONS,
  'frozen-schedule': { type: 'string', value: 'SPEC', description: 'Learning-rate schedule of the frozen phase and of the scratch arm (forms as --schedule; default constant)' },
  schedule: { type: 'string', value: 'SPEC', description: `Of the unfrozen phase. ${SCHEDULE_HELP}` },
  ...BATCH_NORM_OPTION,
  ...FIT_CONTROL_OPTIONS,
} as const satisfies Record<string, OptionDef>;

type Values = Parameters<typeof fitControlOptions>[0] & { 'frozen-schedule'?: string | undefined; schedule?: string | undefined; bn: string };

/** The flags as study options, through the same parsers as graft train and transfer; `patience` is --early-stopping's (undefined when off). */
export function studyTrainingOptions(v: Values, patience: number | undefined): { frozen: { schedule?: string }; unfrozen: { schedule?: string }; study: StudyTraining } {
  const frozenSchedule = scheduleOption('frozen-schedule', v['frozen-schedule']);
  const schedule = scheduleOption('schedule', v.schedule);
  const { earlyStopping, ...controls } = fitControlOptions(v, patience);
  const monitor = earlyStopping && earlyStopping.monitor;
  return {
    frozen: frozenSchedule !== undefined ? { schedule: frozenSchedule } : {},
    unfrozen: schedule !== undefined ? { schedule } : {},
    study: { ...controls, batchNorm: parseBatchNormOption(v.bn), ...(monitor && { monitor }) },
  };
}
