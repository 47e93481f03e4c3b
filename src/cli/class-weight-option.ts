import type { OptionDef } from './command.js';
import { parseClassWeight, type ClassWeight } from '../train/class-weight.js';

export const CLASS_WEIGHT_OPTION = {
  'class-weight': {
    type: 'string',
    value: 'balanced|C=W,…',
    description: "Weight the training loss per class, as Keras's class_weight: balanced (n / (classes × count)) or class=weight pairs by name or index (others 1). Validation loss stays unweighted",
  },
} as const satisfies Record<string, OptionDef>;

/** --class-weight's value, parsed (bad text is a BAD_ARGUMENT naming it); classes are checked against the task when training starts. */
export function classWeightOption(text: string | undefined): ClassWeight | undefined {
  return text === undefined ? undefined : parseClassWeight(text);
}
