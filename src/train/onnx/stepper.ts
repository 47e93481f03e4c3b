import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-node';
import { GraftError } from '../../errors.js';
import type { OrtModule } from '../../engine/onnx/runtime.js';
import type { ChainStep, DenseChain } from '../dense-chain.js';
import type { OptimizerSpec } from '../optimizer.js';
import type { LearningRateScale } from '../param-groups.js';
import type { OptimizerState } from '../checkpoint.js';
import type { EngineUse, Stepper } from '../stepper.js';
import { ADAM, activeDropout, buildStepGraph, slotKinds } from './step-graph.js';

type Dense = Extract<ChainStep, { kind: 'dense' }>;
type Drop = Extract<ChainStep, { kind: 'dropout' }>;

/** One layer's optimizer, kept as TF.js keeps it so checkpoints read the same from either engine. */
interface LayerState {
  iterations: number;
  /** Per slot kind (m, v or acc), per variable (kernel, bias): TF.js getWeights() order. */
  slots: Float32Array[];
  /** Adam's β1^t, β2^t as float32 values. */
  accBeta: [number, number];
}

/**
 * Training steps of a Dense chain on onnxruntime: one graph run per batch does the forward pass,
 * the gradients and the optimizer update (see step-graph.ts). The weights live here, as typed
 * arrays, while an epoch runs; syncModel() puts them back into the TF.js model, which stays the
 * model everything else (validation, saving, reports) uses.
 */
export class OnnxStepper implements Stepper {
  readonly use: EngineUse = { engine: 'onnxruntime' };
  private readonly denses: Dense[];
  private readonly drops: Drop[];
  private weights: Float32Array[][] = [];
  private readonly states = new Map<string, LayerState>();
  private trainable: boolean[] = [];
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
  private session: Ort.InferenceSession | undefined;
  private lossSum = 0;
  private correctSum = 0;
  private readonly kinds: string[];
  /** For each live weight or slot array, the array its next update is written into. */
  private readonly spares = new WeakMap<Float32Array, Float32Array>();
  private readonly batchBuffers = new Map<number, { y: Float32Array; logits: Float32Array; masks: Float32Array[] }>();

  constructor(
    private readonly ort: OrtModule,
    private readonly model: tfl.LayersModel,
    private readonly chain: DenseChain,
    private readonly spec: Required<OptimizerSpec>,
    private readonly scale: LearningRateScale | undefined,
  ) {
    this.denses = chain.steps.filter((s): s is Dense => s.kind === 'dense');
    this.drops = chain.steps.filter((s): s is Drop => activeDropout(s));
    this.kinds = slotKinds(spec);
  }

  async refresh(): Promise<number> {
    // model.trainableWeights honours nested models' own flags, as ParamGroups does.
    const live = new Set(this.model.trainableWeights.map((w) => w.read()));
    let count = 0;
    this.trainable = this.denses.map((d) => {
      const vars = d.layer.trainableWeights.filter((w) => live.has(w.read()));
      count += vars.length;
      if (vars.length > 0 && !this.states.has(d.layer.name)) {
        this.states.set(d.layer.name, { iterations: 0, slots: [], accBeta: [Math.fround(ADAM.beta1), Math.fround(ADAM.beta2)] });
      }
      return vars.length > 0;
    });
    if (count === 0) return 0;
    const key = this.trainable.map((t) => (t ? 1 : 0)).join('');
    let session = this.sessions.get(key);
    if (!session) {
      const bytes = buildStepGraph({ chain: this.chain, trainable: this.trainable, rates: this.denses.map((d) => this.spec.learningRate * (this.scale?.(d.layer) ?? 1)), optimizer: this.spec });
      // Severity 3 (errors only): onnxruntime's warnings are about graft's generated graph, not the user's data.
      session = this.ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3 });
      this.sessions.set(key, session);
    }
    this.session = await session;
    return count;
  }

  beginEpoch(lossSum: number, correctSum: number): void {
    this.lossSum = lossSum;
    this.correctSum = correctSum;
    this.weights = this.denses.map((d) => d.layer.getWeights().map((t) => (t.dataSync() as Float32Array).slice()));
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
    const feeds: Record<string, Ort.Tensor> = { x: t(x.subarray(0, m * chain.inputSize), [m, chain.inputSize]), y: t(io.y, [m, k]), inv_n: t(Float32Array.of(1 / m), []) };
    // Outputs go into buffers allocated once (a fresh array per step would keep the GC busy).
    const fetches: Record<string, Ort.Tensor> = { logits: t(io.logits, [m, k]) };
    const swaps: Array<[Float32Array[], number, Float32Array]> = [];
    const updated = (name: string, list: Float32Array[], at: number, dims: number[]): void => {
      feeds[name] = t(list[at]!, dims);
      const spare = (this.spares.get(list[at]!) ?? new Float32Array(list[at]!.length));
      fetches[`new_${name}`] = t(spare, dims);
      swaps.push([list, at, spare]);
    };
    this.denses.forEach((d, i) => {
      const dims = [[d.inputs, d.units], [d.units]];
      this.weights[i]!.forEach((w, vi) => {
        const name = `${vi === 0 ? 'w' : 'b'}${i}`;
        if (this.trainable[i]) updated(name, this.weights[i]!, vi, dims[vi]!);
        else feeds[name] = t(w, dims[vi]!);
      });
      if (!this.trainable[i]) return;
      const s = this.states.get(d.layer.name)!;
      const vars = d.useBias ? 2 : 1;
      this.kinds.forEach((kind, ki) => {
        for (let vi = 0; vi < vars; vi++) {
          s.slots[ki * vars + vi] ??= new Float32Array(this.weights[i]![vi]!.length);
          updated(`${kind}_${vi === 0 ? 'w' : 'b'}${i}`, s.slots, ki * vars + vi, dims[vi]!);
        }
      });
      if (this.spec.name === 'adam') {
        feeds[`oma1_${i}`] = t(Float32Array.of(1 - s.accBeta[0]), []);
        feeds[`oma2_${i}`] = t(Float32Array.of(1 - s.accBeta[1]), []);
      }
    });
    this.drops.forEach((d, j) => (feeds[`mask${j}`] = t(dropoutMask(d, m, io.masks[j]!), [m, d.units])));
    await this.session!.run(feeds, fetches);
    // The old arrays become the next step's output buffers.
    for (const [list, at, spare] of swaps) {
      const old = list[at]!;
      list[at] = spare;
      this.spares.set(spare, old);
    }
    this.denses.forEach((d, i) => {
      if (!this.trainable[i]) return;
      const s = this.states.get(d.layer.name)!;
      s.iterations++;
      if (this.spec.name === 'adam') s.accBeta = [Math.fround(s.accBeta[0] * Math.fround(ADAM.beta1)), Math.fround(s.accBeta[1] * Math.fround(ADAM.beta2))];
    });
    const { loss, correct } = scoreLogits(io.logits, labels, m, k);
    this.lossSum += loss;
    this.correctSum += correct;
  }

  /** Label, logit and mask buffers for batches of m samples (the last batch of an epoch may be short). */
  private buffersFor(m: number): { y: Float32Array; logits: Float32Array; masks: Float32Array[] } {
    let b = this.batchBuffers.get(m);
    if (!b) {
      b = { y: new Float32Array(m * this.chain.outputs), logits: new Float32Array(m * this.chain.outputs), masks: this.drops.map((d) => new Float32Array(m * d.units)) };
      this.batchBuffers.set(m, b);
    }
    return b;
  }

  sums(): { loss: number; correct: number } {
    return { loss: this.lossSum, correct: this.correctSum };
  }

  syncModel(): void {
    this.denses.forEach((d, i) => {
      if (!this.trainable[i]) return;
      const tensors = this.weights[i]!.map((w, vi) => tf.tensor(w, vi === 0 ? [d.inputs, d.units] : [d.units]));
      d.layer.setWeights(tensors);
      tf.dispose(tensors);
    });
  }

  saveState(): Promise<OptimizerState[]> {
    const out: OptimizerState[] = [];
    for (const [layer, s] of this.states) {
      // TF.js creates slots on the first step; before it there are none.
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

/**
 * The dropout multiplier TF.js would use for this batch: tf.randomUniform's numbers for the layer's
 * per-batch seed (seedrandom's alea seeded with the seed's string, stored as float32), then
 * floor(u + keep) / keep in float32. Drawn here directly: through TF.js it cost a tensor per batch.
 */
export function dropoutMask(d: Drop, m: number, mask: Float32Array): Float32Array {
  const seed = (d.layer as unknown as { seed?: number }).seed;
  // seedrandom seeds the generator (its Mash hash); the draws are the Alea recurrence inlined on
  // local variables, 3-4x faster than a call per number (test/train/dropout-mask.test.ts checks
  // they equal seedrandom's).
  let { s0, s1, s2, c } = seedrandom.alea(String(seed ?? Math.random()), { state: true }).state() as AleaState;
  const keep = Math.fround(1 - d.rate);
  const kept = Math.fround(1 / keep);
  const n = m * d.units;
  for (let i = 0; i < n; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10; // 2^-32
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    mask[i] = Math.fround(Math.fround(s2) + keep) >= 1 ? kept : 0;
  }
  return mask;
}

/** seedrandom's Alea state (lib/alea.js). */
interface AleaState {
  s0: number;
  s1: number;
  s2: number;
  c: number;
}

/** Loss sum (cross-entropy from logits, as TF.js's softmax/sigmoid losses) and correct count. */
export function scoreLogits(logits: Float32Array, labels: Float32Array, m: number, k: number): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < m; i++) {
    const label = labels[i]!;
    if (k === 1) {
      const z = logits[i]!;
      loss += Math.max(z, 0) - z * label + Math.log1p(Math.exp(-Math.abs(z)));
      if ((z > 0 ? 1 : 0) === label) correct++;
      continue;
    }
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const z = logits[i * k + c]!;
      if (z > max) {
        max = z;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(logits[i * k + c]! - max);
    loss += max + Math.log(sum) - logits[i * k + label]!;
    if (best === label) correct++;
  }
  return { loss, correct };
}
