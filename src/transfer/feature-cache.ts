import { sampleRange } from '../data/rows.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { flatLayers, forward } from '../train/forward.js';
import { inferenceBatch } from '../train/infer.js';
import { modelSampleShape } from '../train/input-shape.js';
import { isPreprocessLayer } from '../models/preprocess.js';
import { modelNodes, replayLayers } from '../models/replay.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { onnxForward, type OnnxForward } from '../engine/onnx/forward/forward-session.js';

/**
 * The frozen-base feature cache. While a prefix of the model cannot change (every layer in it is
 * frozen and behaves the same in training and inference), its output for an image is the same in
 * every epoch: compute it once per image and train the rest of the model on those features. The
 * rest (`top`) is the same layer objects applied to a new input, so training it trains the model.
 */

/** Layers that act differently while training even when frozen: a cached prefix must not hold one. */
const STOCHASTIC = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** Where the model can be split: everything up to `layer` is fixed. */
export interface SplitPoint {
  layer: tfl.layers.Layer;
  tensor: tfl.SymbolicTensor;
  /** Layers with weights inside the prefix (a prefix without any is not worth caching). */
  weightLayers: number;
}

export type SplitSearch = { split: SplitPoint } | { reason: string };

function isFixed(layer: tfl.layers.Layer): string | undefined {
  if (layer.trainableWeights.length > 0) return undefined;
  if (layer instanceof tfl.LayersModel) {
    const bad = flatLayers(layer).find((l) => STOCHASTIC.has(l.getClassName()));
    return bad ? `${bad.getClassName()} layer ${bad.name}` : '';
  }
  return STOCHASTIC.has(layer.getClassName()) ? `${layer.getClassName()} layer ${layer.name}` : '';
}

/**
 * The deepest point where the model reads a single tensor and everything before it is fixed. For
 * residual networks a point inside a block is skipped: the later Add also reads an earlier tensor.
 */
export function findSplit(model: tfl.LayersModel): SplitSearch {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return { reason: `${model.name} has several inputs or outputs` };
  const nodes = modelNodes(model);
  let best: SplitPoint | undefined;
  let weightLayers = 0;
  let stochastic: string | undefined;
  for (let i = 0; i < nodes.length - 1; i++) {
    const node = nodes[i]!;
    const fixed = isFixed(node.layer);
    if (fixed === undefined) break;
    if (fixed !== '') {
      stochastic = fixed;
      break;
    }
    // Caching only the fixed preprocessing would store the images again for nothing.
    if (node.layer.weights.length > 0 && !isPreprocessLayer(node.layer)) weightLayers++;
    if (node.outputs.length !== 1) continue;
    const boundary = node.outputs[0]!;
    const produced = new Set<number>();
    let single = true;
    for (const later of nodes.slice(i + 1)) {
      if (later.inputs.some((t) => t.id !== boundary.id && !produced.has(t.id))) {
        single = false;
        break;
      }
      for (const t of later.outputs) produced.add(t.id);
    }
    if (single) best = { layer: node.layer, tensor: boundary, weightLayers };
  }
  if (best && best.weightLayers > 0) return { split: best };
  if (stochastic) return { reason: `the frozen layers include a ${stochastic}, which acts differently in training` };
  return { reason: 'no frozen layer with weights comes before the first trainable one' };
}

/** Which engine ran the frozen base; `reason` says why TF.js did when onnxruntime was not ruled out. */
export interface FeatureEngine {
  engine: 'onnxruntime' | 'tfjs';
  reason?: string;
}

/** Features of a dataset at a split point, with the model above it that reads them. */
export class FeatureCache {
  readonly top: tfl.LayersModel;
  private readonly base: tfl.LayersModel;
  private readonly memo = new WeakMap<Dataset, Dataset>();
  /** Images run through the base and seconds spent, for the record. */
  images = 0;
  seconds = 0;
  /** The engine of the latest features computed (undefined before any). */
  engine: FeatureEngine | undefined;
  private onnx: Promise<OnnxForward | string> | undefined;

  constructor(
    private readonly model: tfl.LayersModel,
    readonly split: SplitPoint,
    /** Engine for the base; default --engine / GRAFT_ENGINE. */
    private readonly engineChoice?: EngineChoice,
  ) {
    this.base = tfl.model({ inputs: model.inputs, outputs: split.tensor, name: `${model.name}_cached_base` });
    this.top = replayAbove(model, split.tensor);
  }

  /** Bytes the features of `count` samples take. */
  bytesFor(count: number): number {
    return count * sampleSize(this.featureShape) * 4;
  }

  get featureShape(): number[] {
    return this.split.tensor.shape.slice(1) as number[];
  }

  /**
   * Gives back the references the top model took: applying a layer to a new input counts as a use,
   * and the model's own dispose() would otherwise never free those layers' weights. The shared
   * layers keep their weights (the model still holds them). Never dispose `base`: it took none.
   */
  release(): void {
    this.top.dispose();
    const onnx = this.onnx;
    this.onnx = undefined;
    void onnx?.then((f) => (typeof f === 'string' ? undefined : f.release()));
  }

  /**
   * Computes the features of these datasets now, on onnxruntime when the base translates to ONNX
   * and the engine allows it (several times faster than TF.js on CPU), else on TF.js; later
   * `features` calls for them are then memo hits. Call it before `features` wherever a caller can wait.
   */
  async precompute(datasets: readonly Dataset[]): Promise<void> {
    const todo = datasets.filter((d, i) => !this.memo.has(d) && datasets.indexOf(d) === i);
    if (todo.length === 0) return;
    this.onnx ??= onnxForward(this.base, this.engineChoice);
    const onnx = await this.onnx;
    if (typeof onnx === 'string') {
      for (const d of todo) this.compute(d, { engine: 'tfjs', reason: onnx }, () => this.tfjsFeatures(d));
      return;
    }
    for (const d of todo) {
      const started = performance.now();
      const n = d.y.length;
      const shape = modelSampleShape(this.model, d.sampleShape, d.source);
      if (sampleSize(shape) !== sampleSize(onnx.inputShape)) throw new Error(`graft: feature cache: samples of shape [${shape.join(', ')}] for a base that reads [${onnx.inputShape.join(', ')}]`);
      const x = d.rows ? await this.onnxFromRows(onnx, d, n) : await onnx.run(d.x, n, inferenceBatch(this.base));
      this.compute(d, { engine: 'onnxruntime' }, () => x, started);
    }
  }

  /** The dataset's samples replaced by their features (computed once per dataset object; on TF.js unless `precompute` did it). */
  features(data: Dataset): Dataset {
    const hit = this.memo.get(data);
    if (hit) return hit;
    return this.compute(data, { engine: 'tfjs', reason: 'computed without precompute' }, () => this.tfjsFeatures(data));
  }

  private compute(data: Dataset, engine: FeatureEngine, run: () => Float32Array, started = performance.now()): Dataset {
    const x = run();
    // The features are in memory: a dataset streamed from disk must not keep its image rows.
    const { rows: _images, ...rest } = data;
    const out: Dataset = { ...rest, x, sampleShape: this.featureShape, pixelRange: 'features', source: `${data.source} (features at ${this.split.layer.name})` };
    this.memo.set(data, out);
    this.images += data.y.length;
    this.seconds += (performance.now() - started) / 1000;
    this.engine = engine;
    return out;
  }

  /** Features of a dataset read from disk, a chunk at a time: only the features are held whole. */
  private async onnxFromRows(onnx: { run(x: Float32Array, n: number, batch: number): Promise<Float32Array> }, d: Dataset, n: number): Promise<Float32Array> {
    const featSize = sampleSize(this.featureShape);
    const out = new Float32Array(n * featSize);
    const batch = inferenceBatch(this.base);
    const chunk = batch * 8;
    const buf = new Float32Array(chunk * sampleSize(d.sampleShape));
    for (let start = 0; start < n; start += chunk) {
      const end = Math.min(n, start + chunk);
      out.set(await onnx.run(sampleRange(d, start, end, buf), end - start, batch), start * featSize);
    }
    return out;
  }

  private tfjsFeatures(data: Dataset): Float32Array {
    const shape = modelSampleShape(this.model, data.sampleShape, data.source);
    const size = sampleSize(shape);
    const featSize = sampleSize(this.featureShape);
    const n = data.y.length;
    const x = new Float32Array(n * featSize);
    const batch = inferenceBatch(this.base);
    const buf = data.rows ? new Float32Array(batch * size) : undefined;
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      const f = tf.tidy(() => forward(this.base, tf.tensor(sampleRange(data, start, end, buf), [end - start, ...shape]), false));
      x.set(f.dataSync(), start * featSize);
      f.dispose();
    }
    return x;
  }
}

/** A model that starts at `boundary` and runs the same layer objects as `model` after it. */
function replayAbove(model: tfl.LayersModel, boundary: tfl.SymbolicTensor): tfl.LayersModel {
  const input = tfl.input({ shape: boundary.shape.slice(1) as number[], name: `${model.name}_features` });
  const output = replayLayers(model, new Map([[boundary.id, input]]));
  return tfl.model({ inputs: input, outputs: output, name: `${model.name}_top` });
}
