import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { ENGINE_CHOICES, engineFromEnv, loadOnnxRuntime, type EngineChoice } from '../../engine/onnx/runtime.js';
import { buildTrainingForward } from '../../engine/onnx/forward/forward-graph.js';
import type { OutputHead } from '../loss.js';
import type { OptimizerSpec } from '../optimizer.js';
import type { LearningRateScale } from '../param-groups.js';
import type { Stepper } from '../stepper.js';
import { TfjsStepper } from '../tfjs-stepper.js';
import { CompileFallback } from './compile-fallback.js';
import { GraphStepper } from './graph-stepper.js';
import { stepSessions } from '../../platform/step-thread.js';
import { buildStepGraph } from './training-graph.js';

/**
 * The engine for a fit: onnxruntime (GraphStepper, graft's training compiler) when the forward
 * translator handles the model, every op on a path to a weight has a gradient, and
 * onnxruntime-node loads (much faster on CPU: native kernels on every core), else TF.js.
 * `engine` (or GRAFT_ENGINE) 'tfjs' turns the fast path off; 'onnxruntime' insists on it and says why it cannot.
 * Under 'auto', onnxruntime refusing to compile the first step graph also means TF.js (compile-fallback.ts).
 */
export async function chooseStepper(
  model: tfl.LayersModel,
  head: OutputHead,
  spec: Required<OptimizerSpec>,
  scale: LearningRateScale | undefined,
  sampleFloats: number,
  engine: EngineChoice | undefined,
  classWeights?: Float32Array,
  labelSmoothing = 0,
  batchNormTraining = true,
): Promise<Stepper> {
  const choice = engine ?? engineFromEnv();
  if (!ENGINE_CHOICES.includes(choice)) {
    throw new GraftError('BAD_ARGUMENT', `engine ${JSON.stringify(choice)} is not an engine; use one of ${ENGINE_CHOICES.join(', ')}.`);
  }
  if (choice === 'tfjs') return new TfjsStepper(model, head, spec, scale, { engine: 'tfjs', reason: 'TF.js was asked for' }, classWeights, labelSmoothing, batchNormTraining);
  let reason = compilerRefusal(model, head, spec, sampleFloats);
  if (reason === undefined) {
    const ort = await loadOnnxRuntime();
    if (typeof ort !== 'string') {
      const graph = new GraphStepper(ort, model, head, spec, scale, classWeights, labelSmoothing, batchNormTraining, stepSessions(ort));
      // 'auto' takes TF.js when onnxruntime will not compile the step graph; 'onnxruntime' says why it cannot.
      if (choice === 'onnxruntime') return graph;
      return new CompileFallback(graph, (why) => new TfjsStepper(model, head, spec, scale, { engine: 'tfjs', reason: why }, classWeights, labelSmoothing, batchNormTraining));
    }
    reason = ort;
  }
  if (choice === 'onnxruntime') {
    throw new GraftError('BACKEND_UNAVAILABLE', `The onnxruntime engine cannot train ${model.name}: ${reason}. Use --engine tfjs (or auto, which falls back by itself).`);
  }
  return new TfjsStepper(model, head, spec, scale, { engine: 'tfjs', reason }, classWeights, labelSmoothing, batchNormTraining);
}

/**
 * Why the training compiler cannot train the model, or undefined when it can: the step graph is
 * built once with every weight trainable (no session), so a layer without a gradient shows now,
 * not when a later phase unfreezes it.
 */
export function compilerRefusal(model: tfl.LayersModel, head: OutputHead, spec: Required<OptimizerSpec>, sampleFloats: number): string | undefined {
  const forward = buildTrainingForward(model);
  if (typeof forward === 'string') return forward;
  const reads = forward.inputShape.reduce((a, b) => a * b, 1);
  if (reads !== sampleFloats) return `${model.name} reads ${forward.inputShape.join('×')} values, a sample has ${sampleFloats}`;
  if (forward.units !== head.units) return `${model.name} ends in ${forward.units} units, the output has ${head.units}`;
  if (!forward.squashed && head.activation !== 'linear') return `the ${head.activation} of ${model.name}'s output cannot be separated from it to take the loss from logits`;
  try {
    // Every weight but BatchNorm's moving statistics (which no gradient updates).
    const stat = (v: (typeof forward.variables)[number]): boolean => {
      const l = v.layer as unknown as Record<string, unknown>;
      return v.variable === l.movingMean || v.variable === l.movingVariance;
    };
    buildStepGraph({ forward, groups: [{ variables: forward.variables.filter((v) => !stat(v)).map((v) => v.name), rate: spec.learningRate }], optimizer: spec });
  } catch (e) {
    if (e instanceof GraftError) return e.message;
    throw e;
  }
  return undefined;
}
