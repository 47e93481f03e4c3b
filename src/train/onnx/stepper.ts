import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-node';
import { GraftError } from '../../errors.js';
import type { OrtModule } from '../../engine/onnx/runtime.js';
import { isWeighted, trainedIndices, weightShapes, type LayerChain, type LayerStep, type WeightedStep } from '../layer-chain.js';
import type { OptimizerSpec } from '../optimizer.js';
import type { LearningRateScale } from '../param-groups.js';
import type { OptimizerState } from '../checkpoint.js';
import type { EngineUse, Stepper } from '../stepper.js';
import { buildChainGraph, drops } from './chain-graph.js';
import { ADAM, slotKinds } from './optimizer-graph.js';
import { dropoutMask, scoreLogits } from './batch-math.js';

type Drop = Extract<LayerStep, { kind: 'dropout' }>;

/** One layer's optimizer, kept as TF.js keeps it (see stepper.ts). */
interface LayerState {
  iterations: number;
  /** Per slot kind, per trained variable (getWeights() order). */
  slots: Float32Array[];
  accBeta: [number, number];
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Training steps of a layer chain (Dense, conv, BatchNorm, pooling, dropout) on onnxruntime: one
 * graph run per batch (chain-graph.ts: forward, cross-entropy from logits, backward, the optimizer
 * update with TF.js's formulas). The weights live here as typed arrays (TF layouts) while an epoch
 * runs; syncModel() writes them back into the TF.js model — BatchNorm moving statistics included —
 * which stays the model everything else (validation, saving, reports, checkpoints) uses.
 */
export class OnnxStepper implements Stepper {
  readonly use: EngineUse = { engine: 'onnxruntime' };
  private readonly layers: WeightedStep[];
  private readonly drops: Drop[];
  private weights: Float32Array[][] = [];
  private readonly states = new Map<string, LayerState>();
  private trainable: boolean[] = [];
  private bnTraining: boolean[] = [];
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
  private session: Ort.InferenceSession | undefined;
  private lossSum = 0;
  private correctSum = 0;
  private readonly kinds: string[];
  private readonly spares = new WeakMap<Float32Array, Float32Array>();
  private readonly batchBuffers = new Map<number, { y: Float32Array; logits: Float32Array; masks: Float32Array[] }>();

  constructor(
    private readonly ort: OrtModule,
    private readonly model: tfl.LayersModel,
    private readonly chain: LayerChain,
    private readonly spec: Required<OptimizerSpec>,
    private readonly scale: LearningRateScale | undefined,
    /** Loss weight per class (label), or none: every sample counts 1. */
    private readonly classWeights?: Float32Array,
  ) {
    this.layers = chain.steps.filter(isWeighted);
    this.drops = chain.steps.filter((s): s is Drop => drops(s));
    this.kinds = slotKinds(spec);
  }

  async refresh(): Promise<number> {
    // model.trainableWeights honours nested models' own flags, as ParamGroups does.
    const live = new Set(this.model.trainableWeights.map((w) => w.read()));
    let count = 0;
    this.trainable = this.layers.map((s) => {
      const vars = s.layer.trainableWeights.filter((w) => live.has(w.read()));
      count += vars.length;
      if (vars.length > 0 && !this.states.has(s.layer.name)) {
        this.states.set(s.layer.name, { iterations: 0, slots: [], accBeta: [Math.fround(ADAM.beta1), Math.fround(ADAM.beta2)] });
      }
      return vars.length > 0;
    });
    // As forward.ts: a BatchNorm whose own flag is off runs in inference mode.
    this.bnTraining = this.layers.map((s) => s.kind === 'bn' && s.layer.trainable);
    if (count === 0) return 0;
    const key = `${this.trainable.map(Number).join('')}/${this.bnTraining.map(Number).join('')}`;
    let session = this.sessions.get(key);
    if (!session) {
      const rates = this.layers.map((s) => this.spec.learningRate * (this.scale?.(s.layer) ?? 1));
      const bytes = buildChainGraph({ chain: this.chain, trainable: this.trainable, bnTraining: this.bnTraining, rates, optimizer: this.spec, weighted: this.classWeights !== undefined });
      session = this.ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3 });
      this.sessions.set(key, session);
    }
    try {
      this.session = await session;
    } catch (e) {
      // graft wrote this graph; onnxruntime refusing it is graft's bug, and TF.js can still train.
      this.sessions.delete(key);
      throw new GraftError(
        'BACKEND_UNAVAILABLE',
        `onnxruntime refused graft's training graph for ${this.model.name} (${(e as Error).message.split('\n')[0]}). Train with --engine tfjs (GRAFT_ENGINE=tfjs) instead, and please report this.`,
      );
    }
    return count;
  }

  beginEpoch(lossSum: number, correctSum: number): void {
    this.lossSum = lossSum;
    this.correctSum = correctSum;
    this.weights = this.layers.map((s) => s.layer.getWeights().map((t) => (t.dataSync() as Float32Array).slice()));
  }

  async step(x: Float32Array, labels: Float32Array, m: number): Promise<void> {
    const { ort, chain } = this;
    const k = chain.outputs;
    const t = (data: Float32Array, dims: number[]): Ort.Tensor => new ort.Tensor('float32', data, dims);
    const io = this.buffersFor(m);
    io.y.fill(0);
    for (let i = 0; i < m; i++) {
      if (k === 1) io.y[i] = labels[i]!;
      else io.y[i * k + labels[i]!] = 1;
    }
    const feeds: Record<string, Ort.Tensor> = {
      x: t(x.subarray(0, m * size(chain.sampleShape)), [m, ...chain.sampleShape]),
      y: t(io.y, [m, k]),
    };
    const cw = this.classWeights;
    if (cw) feeds.sample_scale = t(Float32Array.from(labels.subarray(0, m), (l) => cw[l]! / m), [m, 1]);
    else feeds.inv_n = t(Float32Array.of(1 / m), []);
    const fetches: Record<string, Ort.Tensor> = { logits: t(io.logits, [m, k]) };
    const swaps: Array<[Float32Array[], number, Float32Array]> = [];
    const updated = (name: string, list: Float32Array[], at: number, dims: number[]): void => {
      feeds[name] = t(list[at]!, dims);
      const spare = this.spares.get(list[at]!) ?? new Float32Array(list[at]!.length);
      fetches[`new_${name}`] = t(spare, dims);
      swaps.push([list, at, spare]);
    };
    this.layers.forEach((s, i) => {
      const shapes = weightShapes(s);
      const trained = this.trainable[i] ? trainedIndices(s) : [];
      const stats = this.bnTraining[i] ? [2, 3] : [];
      this.weights[i]!.forEach((w, v) => {
        if (trained.includes(v) || stats.includes(v)) updated(`L${i}_${v}`, this.weights[i]!, v, shapes[v]!);
        else feeds[`L${i}_${v}`] = t(w, shapes[v]!);
      });
      if (trained.length === 0) return;
      const st = this.states.get(s.layer.name)!;
      this.kinds.forEach((kind, ki) => {
        trained.forEach((v, vi) => {
          st.slots[ki * trained.length + vi] ??= new Float32Array(this.weights[i]![v]!.length);
          updated(`${kind}_L${i}_${v}`, st.slots, ki * trained.length + vi, shapes[v]!);
        });
      });
      if (this.spec.name === 'adam') {
        feeds[`oma1_${i}`] = t(Float32Array.of(1 - st.accBeta[0]), []);
        feeds[`oma2_${i}`] = t(Float32Array.of(1 - st.accBeta[1]), []);
      }
    });
    this.drops.forEach((d, j) => {
      const units = size(d.in);
      feeds[`mask${j}`] = t(dropoutMask(d.layer, d.rate, m * units, io.masks[j]!), [m, ...d.in]);
    });
    await this.session!.run(feeds, fetches);
    for (const [list, at, spare] of swaps) {
      const old = list[at]!;
      list[at] = spare;
      this.spares.set(spare, old);
    }
    this.layers.forEach((s, i) => {
      if (!this.trainable[i]) return;
      const st = this.states.get(s.layer.name)!;
      st.iterations++;
      if (this.spec.name === 'adam') st.accBeta = [Math.fround(st.accBeta[0] * Math.fround(ADAM.beta1)), Math.fround(st.accBeta[1] * Math.fround(ADAM.beta2))];
    });
    const { loss, correct } = scoreLogits(io.logits, labels, m, k, this.classWeights);
    this.lossSum += loss;
    this.correctSum += correct;
  }

  private buffersFor(m: number): { y: Float32Array; logits: Float32Array; masks: Float32Array[] } {
    let b = this.batchBuffers.get(m);
    if (!b) {
      const k = this.chain.outputs;
      b = { y: new Float32Array(m * k), logits: new Float32Array(m * k), masks: this.drops.map((d) => new Float32Array(m * size(d.in))) };
      this.batchBuffers.set(m, b);
    }
    return b;
  }

  sums(): { loss: number; correct: number } {
    return { loss: this.lossSum, correct: this.correctSum };
  }

  syncModel(): void {
    this.layers.forEach((s, i) => {
      if (!this.trainable[i] && !this.bnTraining[i]) return;
      const shapes = weightShapes(s);
      const tensors = this.weights[i]!.map((w, v) => tf.tensor(w, shapes[v]));
      s.layer.setWeights(tensors);
      tf.dispose(tensors);
    });
  }

  saveState(): Promise<OptimizerState[]> {
    const out: OptimizerState[] = [];
    for (const [layer, s] of this.states) {
      const state: OptimizerState = { layer, iterations: s.iterations, slots: s.iterations > 0 ? s.slots.map((a) => a.slice()) : [] };
      if (this.spec.name === 'adam') state.accBeta = [...s.accBeta];
      out.push(state);
    }
    return Promise.resolve(out);
  }

  restoreState(states: readonly OptimizerState[]): Promise<void> {
    const names = states.map((s) => s.layer);
    if (states.length !== this.states.size || names.some((n) => !this.states.has(n))) {
      throw new GraftError(
        'CHECKPOINT_MISMATCH',
        `The checkpoint has optimizer state for layers ${names.join(', ') || '(none)'}, but the layers training now are ${[...this.states.keys()].join(', ') || '(none)'}: freeze settings or the model differ from the interrupted run's.`,
      );
    }
    for (const saved of states) {
      const s = this.states.get(saved.layer)!;
      s.iterations = saved.iterations;
      s.slots = saved.slots.map((a) => a.slice());
      if (saved.accBeta) s.accBeta = [...saved.accBeta];
    }
    return Promise.resolve();
  }

  dispose(): void {
    for (const p of this.sessions.values()) void p.then((s) => s.release()).catch(() => undefined);
    this.sessions.clear();
  }
}
