import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { ENGINE_CHOICES, engineFromEnv, loadOnnxRuntime, type EngineChoice } from '../../engine/onnx/runtime.js';
import { layerChain } from '../layer-chain.js';
import type { OutputHead } from '../loss.js';
import type { OptimizerSpec } from '../optimizer.js';
import type { LearningRateScale } from '../param-groups.js';
import type { Stepper } from '../stepper.js';
import { TfjsStepper } from '../tfjs-stepper.js';
import { OnnxStepper } from './stepper.js';

/**
 * The engine for a fit: onnxruntime when the model is a chain of layers it knows (layer-chain.ts) and onnxruntime-node loads
 * (much faster on CPU: native kernels on every core), else TF.js. `engine` (or GRAFT_ENGINE)
 * 'tfjs' turns the fast path off; 'onnxruntime' insists on it and says why it cannot.
 */
export async function chooseStepper(
  model: tfl.LayersModel,
  head: OutputHead,
  spec: Required<OptimizerSpec>,
  scale: LearningRateScale | undefined,
  sampleFloats: number,
  engine: EngineChoice | undefined,
  classWeights?: Float32Array,
): Promise<Stepper> {
  const choice = engine ?? engineFromEnv();
  if (!ENGINE_CHOICES.includes(choice)) {
    throw new GraftError('BAD_ARGUMENT', `engine ${JSON.stringify(choice)} is not an engine; use one of ${ENGINE_CHOICES.join(', ')}.`);
  }
  if (choice === 'tfjs') return new TfjsStepper(model, head, spec, scale, { engine: 'tfjs', reason: 'TF.js was asked for' }, classWeights);
  let reason: string;
  const chain = layerChain(model);
  if (typeof chain === 'string') reason = `${chain}; the onnxruntime path trains chains of Dense, conv, BatchNorm and pooling layers`;
  else if (chain.sampleShape.reduce((a, b) => a * b, 1) !== sampleFloats) reason = `${model.name} reads ${chain.sampleShape.join('×')} values, a sample has ${sampleFloats}`;
  else if (chain.outputs !== head.units) reason = `the chain ends in ${chain.outputs} units, the output has ${head.units}`;
  else {
    const ort = await loadOnnxRuntime();
    if (typeof ort !== 'string') return new OnnxStepper(ort, model, chain, spec, scale, classWeights);
    reason = ort;
  }
  if (choice === 'onnxruntime') {
    throw new GraftError('BACKEND_UNAVAILABLE', `The onnxruntime engine cannot train ${model.name}: ${reason}. Use --engine tfjs (or auto, which falls back by itself).`);
  }
  return new TfjsStepper(model, head, spec, scale, { engine: 'tfjs', reason }, classWeights);
}
