import * as tf from '@tensorflow/tfjs-core';
import { GraftError, describeValue } from '../errors.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop';

export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['sgd', 'adam', 'adamw', 'rmsprop'];

export interface OptimizerSpec {
  /** Default 'sgd'. */
  name?: OptimizerName;
  /** Default 0.01 (the write-up's Model A). */
  learningRate?: number;
  /** SGD's or RMSprop's momentum; 0 is none. Default 0. */
  momentum?: number;
  /**
   * Weight decay. sgd and adam: L2, w·decay added to the gradient (PyTorch's `weight_decay` on SGD
   * and Adam). adamw and rmsprop: decoupled, w ← w − rate·decay·w before the update (PyTorch's
   * AdamW, Keras's `weight_decay`). Default 0, and 0.01 for adamw (PyTorch's AdamW default).
   */
  weightDecay?: number;
  /** RMSprop's decay of the mean square (Keras's `rho`, PyTorch's `alpha`). Default 0.9 (Keras). */
  rho?: number;
  /**
   * Adam, AdamW and RMSprop's ε. Default 1e-7 (Keras and TF.js; PyTorch uses 1e-8). RMSprop adds it
   * inside the square root, as Keras and TF.js do (PyTorch adds it outside).
   */
  epsilon?: number;
}

export type ResolvedOptimizer = Required<OptimizerSpec>;

export const OPTIMIZER_DEFAULTS = { name: 'sgd', learningRate: 0.01, momentum: 0, weightDecay: 0, rho: 0.9, epsilon: 1e-7 } as const;

/** PyTorch's AdamW default decay, used when `weightDecay` is not given. */
export const ADAMW_DEFAULT_DECAY = 0.01;

/** Whether weight decay is applied to the weights (decoupled) rather than added to the gradient (L2). */
export function decoupledDecay(o: ResolvedOptimizer): boolean {
  return o.name === 'adamw' || o.name === 'rmsprop';
}

export function resolveOptimizer(spec: OptimizerSpec | undefined): ResolvedOptimizer {
  const name = spec?.name ?? OPTIMIZER_DEFAULTS.name;
  const o: ResolvedOptimizer = { ...OPTIMIZER_DEFAULTS, weightDecay: name === 'adamw' ? ADAMW_DEFAULT_DECAY : 0, ...stripUndefined(spec), name };
  const bad = (what: string, value: unknown, fix: string): GraftError => new GraftError('BAD_ARGUMENT', `${what}; received ${describeValue(value)}. ${fix}`);
  if (!OPTIMIZER_NAMES.includes(o.name)) throw bad('Unknown optimizer', o.name, `Choose one of ${OPTIMIZER_NAMES.join(', ')}.`);
  if (!(o.learningRate > 0) || !Number.isFinite(o.learningRate)) {
    throw bad('Learning rate must be a positive number', o.learningRate, 'Typical values: 0.01 for SGD, 0.001 for Adam, AdamW and RMSprop.');
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) throw bad('Momentum must be in [0, 1)', o.momentum, 'Try 0.9, or 0 for none.');
  if (o.momentum > 0 && o.name !== 'sgd' && o.name !== 'rmsprop') throw bad(`Momentum applies to sgd and rmsprop, not ${o.name}`, o.momentum, 'Leave momentum unset, or choose sgd or rmsprop.');
  if (!(o.weightDecay >= 0 && o.weightDecay < 1)) throw bad('Weight decay must be in [0, 1)', o.weightDecay, 'Typical values: 1e-4 (L2 on sgd/adam) to 0.01 (adamw); 0 for none.');
  if (!(o.rho > 0 && o.rho < 1)) throw bad("RMSprop's rho must be in (0, 1)", o.rho, 'The default is 0.9 (Keras); PyTorch uses 0.99.');
  if (!(o.epsilon > 0 && o.epsilon < 1)) throw bad('Epsilon must be in (0, 1)', o.epsilon, 'The default is 1e-7.');
  return o;
}

function stripUndefined(spec: OptimizerSpec | undefined): OptimizerSpec {
  return Object.fromEntries(Object.entries(spec ?? {}).filter(([, v]) => v !== undefined)) as OptimizerSpec;
}

/**
 * TF.js's optimizer for the update itself; weight decay is not in it (ParamGroups adds it, as L2 on
 * the gradient or decoupled on the weights), so AdamW is this Adam plus that.
 */
export function makeOptimizer(spec: OptimizerSpec | undefined): tf.Optimizer {
  const o = resolveOptimizer(spec);
  if (o.name === 'adam' || o.name === 'adamw') return tf.train.adam(o.learningRate, 0.9, 0.999, o.epsilon);
  if (o.name === 'rmsprop') return tf.train.rmsprop(o.learningRate, o.rho, o.momentum, o.epsilon);
  return o.momentum > 0 ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate);
}

export function describeOptimizer(spec: ResolvedOptimizer): string {
  const parts = [`lr=${spec.learningRate}`];
  if (spec.momentum > 0) parts.push(`momentum=${spec.momentum}`);
  if (spec.name === 'rmsprop') parts.push(`rho=${spec.rho}`);
  if (spec.epsilon !== OPTIMIZER_DEFAULTS.epsilon && spec.name !== 'sgd') parts.push(`epsilon=${spec.epsilon}`);
  if (spec.weightDecay > 0) parts.push(`weight_decay=${spec.weightDecay}${decoupledDecay(spec) ? ' decoupled' : ' L2'}`);
  return `${spec.name}(${parts.join(', ')})`;
}
