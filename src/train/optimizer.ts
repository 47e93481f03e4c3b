import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../errors.js';

export type OptimizerName = 'sgd' | 'adam';

export interface OptimizerSpec {
  /** Default 'sgd'. */
  name?: OptimizerName;
  /** Default 0.01 (the write-up's Model A). */
  learningRate?: number;
  /** SGD momentum; 0 is plain SGD. Default 0. */
  momentum?: number;
}

export const OPTIMIZER_DEFAULTS = { name: 'sgd', learningRate: 0.01, momentum: 0 } as const;

export function resolveOptimizer(spec: OptimizerSpec | undefined): Required<OptimizerSpec> {
  const o = { ...OPTIMIZER_DEFAULTS, ...spec };
  if (o.name !== 'sgd' && o.name !== 'adam') {
    throw new GraftError('BAD_ARGUMENT', `Unknown optimizer ${JSON.stringify(o.name)}. Choose sgd or adam.`);
  }
  if (!(o.learningRate > 0) || !Number.isFinite(o.learningRate)) {
    throw new GraftError('BAD_ARGUMENT', `Learning rate must be a positive number; received ${o.learningRate}. Typical values: 0.01 for SGD, 0.001 for Adam.`);
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) {
    throw new GraftError('BAD_ARGUMENT', `Momentum must be in [0, 1); received ${o.momentum}. Try 0.9, or 0 for plain SGD.`);
  }
  return o;
}

export function makeOptimizer(spec: OptimizerSpec | undefined): tf.Optimizer {
  const o = resolveOptimizer(spec);
  if (o.name === 'adam') return tf.train.adam(o.learningRate);
  return o.momentum > 0 ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate);
}

export function describeOptimizer(spec: Required<OptimizerSpec>): string {
  return spec.name === 'sgd' && spec.momentum > 0 ? `sgd(lr=${spec.learningRate}, momentum=${spec.momentum})` : `${spec.name}(lr=${spec.learningRate})`;
}
