import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-node';
import { GraftError } from '../../errors.js';
import type { OrtModule } from '../../engine/onnx/runtime.js';
import { sessionThreading, threadingOptions } from '../../engine/onnx/threads.js';
import { buildTrainingForward, type TrainingForward } from '../../engine/onnx/forward/forward-graph.js';
import { flatLayers } from '../forward.js';
import { smoothedTargets, type OutputHead } from '../loss.js';
import type { ResolvedOptimizer } from '../optimizer.js';
import type { LearningRateScale } from '../param-groups.js';
import type { OptimizerState } from '../checkpoint.js';
import type { EngineUse, Stepper } from '../stepper.js';
import { ADAM, isAdam, slotKinds } from './optimizer-graph.js';
import { dropoutMask, scoreLogits } from './batch-math.js';
import { buildStepGraph, rateInput, type StepGraph } from './training-graph.js';

/** One layer's optimizer, kept as TF.js keeps it (iterations, slots per kind per variable, Adam's β powers). */
interface LayerState {
  iterations: number;
  slots: Float32Array[];
  accBeta: [number, number];
}

/** One trainability pattern's compiled step: the graph's facts and its session. */
interface Compiled {
  forward: TrainingForward;
  step: StepGraph;
  /** Per training layer: its name, its trained variables' ONNX names (getWeights() order) and its factor on the phase's rate. */
  groups: Array<{ layer: string; variables: string[]; factor: number }>;
  session: Ort.InferenceSession;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Training steps of any TF.js model the forward translator handles, on onnxruntime, through graft's
 * training compiler: the model's training form (engine/onnx/forward), the loss, train/graph's
 * autodiff and the optimizer update in one graph (training-graph.ts), one run per batch. The
 * weights live here as typed arrays in TF.js layouts while an epoch runs; syncModel() writes the
 * trained ones and BatchNorm's moving statistics back into the TF.js model, which stays the model
 * everything else uses. One session per trainability pattern, cached.
 */
export class GraphStepper implements Stepper {
  readonly use: EngineUse = { engine: 'onnxruntime' };
  private readonly states = new Map<string, LayerState>();
  private readonly compiled = new Map<string, Promise<Compiled>>();
  private current: Compiled | undefined;
  /** Per variable (ONNX name): its TF.js variable and current values. */
  private values = new Map<string, { variable: tfl.LayerVariable; data: Float32Array }>();
  private readonly spares = new WeakMap<Float32Array, Float32Array>();
  private readonly batchBuffers = new Map<number, { y: Float32Array; logits: Float32Array; scale: Float32Array; masks: Float32Array[] }>();
  private readonly kinds: string[];
  private lossSum = 0;
  private correctSum = 0;
  /** setLearningRateFactor's factor on the scheduled rate; both are fed per step (no new session). */
  private rateFactor = 1;
  /** The phase's scheduled rate now (setLearningRate). */
  private rate: number;

  constructor(
    private readonly ort: OrtModule,
    private readonly model: tfl.LayersModel,
    private readonly head: OutputHead,
    private readonly spec: ResolvedOptimizer,
    private readonly scale: LearningRateScale | undefined,
    /** Loss weight per class (label), or none: every sample counts 1. */
    private readonly classWeights?: Float32Array,
    /** Label smoothing ε of the training loss (loss.ts); 0 for none. */
    private readonly labelSmoothing = 0,
    /** Whether trainable BatchNorm layers train (FitOptions.batchNorm 'train') or keep their statistics ('frozen'). */
    private readonly batchNormTraining = true,
  ) {
    this.kinds = slotKinds(spec);
    this.rate = spec.learningRate;
  }

  setLearningRate(rate: number): void {
    this.rate = rate;
  }

  async refresh(): Promise<number> {
    // model.trainableWeights honours nested models' own flags, as ParamGroups does.
    const live = new Set(this.model.trainableWeights.map((w) => w.read()));
    const layers = flatLayers(this.model);
    const trained = layers.flatMap((l) => l.trainableWeights.filter((w) => live.has(w.read())).map((w) => w.name));
    if (trained.length === 0) return 0;
    // As train/forward.ts: a BatchNorm whose own flag is off runs in inference mode, and all do when the fit keeps their statistics.
    const bnTraining = this.batchNormTraining ? layers.filter((l) => l.getClassName() === 'BatchNormalization' && l.trainable).map((l) => l.name) : [];
    const key = `${trained.join(',')}|${bnTraining.join(',')}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = this.compile(live, layers);
      this.compiled.set(key, compiled);
    }
    try {
      this.current = await compiled;
    } catch (e) {
      this.compiled.delete(key);
      throw e;
    }
    for (const g of this.current.groups) {
      if (!this.states.has(g.layer)) this.states.set(g.layer, { iterations: 0, slots: [], accBeta: [Math.fround(ADAM.beta1), Math.fround(ADAM.beta2)] });
    }
    return this.current.groups.reduce((n, g) => n + g.variables.length, 0);
  }

  private async compile(live: Set<tf.Tensor>, layers: tfl.layers.Layer[]): Promise<Compiled> {
    const forward = buildTrainingForward(this.model, { batchNormTraining: this.batchNormTraining });
    if (typeof forward === 'string') throw new GraftError('BACKEND_UNAVAILABLE', `The onnxruntime engine cannot train ${this.model.name} now: ${forward}. Train with --engine tfjs (GRAFT_ENGINE=tfjs).`);
    const nameOf = new Map(forward.variables.map((v) => [v.variable, v.name]));
    const groups = layers
      .map((layer) => ({ layer, variables: layer.trainableWeights.filter((w) => live.has(w.read()) && nameOf.has(w)).map((w) => nameOf.get(w)!) }))
      .filter((g) => g.variables.length > 0);
    const step = buildStepGraph({
      forward,
      groups: groups.map((g) => ({ variables: g.variables })),
      optimizer: this.spec,
    });
    let session: Ort.InferenceSession;
    try {
      // Measured on ResNet-18 (64×64, batch 32, 2 cores; bench/RESULTS.md): memory patterns off cut
      // peak RSS by ≈130 MB at the same step time within noise; threads stay onnxruntime's default
      // (the physical cores; 1 thread was 1.5× slower) and spinning stays on (off: 17% slower),
      // unless trial workers share the cores (shareCores: cores/workers threads, no spinning).
      session = await this.ort.InferenceSession.create(step.bytes, { graphOptimizationLevel: 'all', executionMode: 'sequential', enableMemPattern: false, logSeverityLevel: 3, ...threadingOptions(sessionThreading()) });
    } catch (e) {
      // graft wrote this graph; onnxruntime refusing it is graft's bug, and TF.js can still train.
      throw new GraftError(
        'BACKEND_UNAVAILABLE',
        `onnxruntime refused graft's training graph for ${this.model.name} (${(e as Error).message.split('\n')[0]}). Train with --engine tfjs (GRAFT_ENGINE=tfjs) instead, and please report this.`,
      );
    }
    return { forward, step, groups: groups.map((g) => ({ layer: g.layer.name, variables: g.variables, factor: this.scale?.(g.layer) ?? 1 })), session };
  }

  beginEpoch(lossSum: number, correctSum: number): void {
    this.lossSum = lossSum;
    this.correctSum = correctSum;
    this.values = new Map(this.current!.forward.variables.map((v) => [v.name, { variable: v.variable, data: (v.variable.read().dataSync() as Float32Array).slice() }]));
  }

  async step(x: Float32Array, labels: Float32Array, m: number): Promise<void> {
    const { ort } = this;
    const c = this.current!;
    const k = c.forward.units;
    const t = (data: Float32Array, dims: readonly number[]): Ort.Tensor => new ort.Tensor('float32', data, [...dims]);
    const io = this.buffersFor(m);
    io.y.fill(0);
    const cw = this.classWeights;
    // The loss's inputs (training-graph.ts lossPart): one unit, (smoothed) targets and per-sample
    // factors; else −factor × the (smoothed) target distribution.
    const e = this.labelSmoothing;
    const [on, off] = smoothedTargets(this.head, e);
    for (let i = 0; i < m; i++) {
      const label = labels[i]!;
      const factor = (cw ? cw[label]! : 1) / m;
      if (k === 1) {
        io.y[i] = e > 0 ? label * (1 - e) + e / 2 : label;
        io.scale[i] = factor;
      } else if (e > 0) {
        for (let c = 0; c < k; c++) io.y[i * k + c] = -factor * (c === label ? on : off);
      } else {
        io.y[i * k + label] = -factor;
      }
    }
    const feeds: Record<string, Ort.Tensor> = { x: t(x.subarray(0, m * size(c.forward.inputShape)), [m, ...c.forward.inputShape]) };
    if (k === 1) {
      feeds.y = t(io.y, [m, 1]);
      feeds.sample_scale = t(io.scale, [m, 1]);
    } else {
      feeds.minus_target = t(io.y, [m, k]);
    }
    const fetches: Record<string, Ort.Tensor> = { logits: t(io.logits, [m, k]) };
    const swaps: Array<{ get: () => Float32Array; set: (a: Float32Array) => void; spare: Float32Array }> = [];
    // Fed from `get()`, its new value fetched into a spare buffer that takes its place after the run.
    const updated = (input: string, output: string, get: () => Float32Array, set: (a: Float32Array) => void, dims: readonly number[]): void => {
      const now = get();
      feeds[input] = t(now, dims);
      const spare = this.spares.get(now) ?? new Float32Array(now.length);
      fetches[output] = t(spare, dims);
      swaps.push({ get, set, spare });
    };
    const changing = new Set([...c.step.trained, ...c.step.movingStatistics]);
    for (const name of c.step.variableInputs) {
      const v = this.values.get(name)!;
      const dims = v.variable.shape as number[];
      if (!changing.has(name)) feeds[name] = t(v.data, dims);
      else updated(name, c.step.trained.includes(name) ? `new_${name}` : `${name}.new`, () => v.data, (a) => (v.data = a), dims);
    }
    c.groups.forEach((g, gi) => {
      const st = this.states.get(g.layer)!;
      this.kinds.forEach((kind, ki) => {
        g.variables.forEach((name, vi) => {
          const at = ki * g.variables.length + vi;
          const v = this.values.get(name)!;
          st.slots[at] ??= new Float32Array(v.data.length);
          updated(`${kind}_${name}`, `new_${kind}_${name}`, () => st.slots[at]!, (a) => (st.slots[at] = a), v.variable.shape as number[]);
        });
      });
      // The rate as TF.js's optimizer holds it: scheduled rate × plateau factor × layer factor, as float32.
      feeds[rateInput(gi)] = t(Float32Array.of(this.rate * this.rateFactor * g.factor), []);
      if (isAdam(this.spec)) {
        feeds[`oma1_${gi}`] = t(Float32Array.of(1 - st.accBeta[0]), []);
        feeds[`oma2_${gi}`] = t(Float32Array.of(1 - st.accBeta[1]), []);
      }
    });
    c.forward.dropouts.forEach((d, j) => {
      feeds[d.input] = t(dropoutMask(d.layer, d.rate, m * size(d.shape), io.masks[j]!), [m, ...d.shape]);
    });
    await c.session.run(feeds, fetches);
    for (const s of swaps) {
      const old = s.get();
      s.set(s.spare);
      this.spares.set(s.spare, old);
    }
    for (const g of c.groups) {
      const st = this.states.get(g.layer)!;
      st.iterations++;
      if (isAdam(this.spec)) st.accBeta = [Math.fround(st.accBeta[0] * Math.fround(ADAM.beta1)), Math.fround(st.accBeta[1] * Math.fround(ADAM.beta2))];
    }
    const { loss, correct } = scoreLogits(io.logits, labels, m, k, cw, this.labelSmoothing);
    this.lossSum += loss;
    this.correctSum += correct;
  }

  private buffersFor(m: number): { y: Float32Array; logits: Float32Array; scale: Float32Array; masks: Float32Array[] } {
    let b = this.batchBuffers.get(m);
    if (!b) {
      const k = this.head.units;
      b = { y: new Float32Array(m * k), logits: new Float32Array(m * k), scale: new Float32Array(m), masks: this.current!.forward.dropouts.map((d) => new Float32Array(m * size(d.shape))) };
      this.batchBuffers.set(m, b);
    }
    return b;
  }

  sums(): { loss: number; correct: number } {
    return { loss: this.lossSum, correct: this.correctSum };
  }

  syncModel(): void {
    const c = this.current;
    if (!c) return;
    for (const name of [...c.step.trained, ...c.step.movingStatistics]) {
      const v = this.values.get(name);
      if (!v) continue;
      const t = tf.tensor(v.data, v.variable.shape as number[]);
      v.variable.write(t);
      t.dispose();
    }
  }

  setLearningRateFactor(factor: number): Promise<void> {
    // Rates are step-graph inputs: the next step feeds the new one, no recompiling.
    this.rateFactor = factor;
    return Promise.resolve();
  }

  saveState(): Promise<OptimizerState[]> {
    const out: OptimizerState[] = [];
    for (const [layer, s] of this.states) {
      const state: OptimizerState = { layer, iterations: s.iterations, slots: s.iterations > 0 ? s.slots.map((a) => a.slice()) : [] };
      if (isAdam(this.spec)) state.accBeta = [...s.accBeta];
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
    for (const p of this.compiled.values()) void p.then((c) => c.session.release()).catch(() => undefined);
    this.compiled.clear();
  }
}
