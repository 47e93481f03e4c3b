import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import type { OrtModule } from '../../engine/onnx/runtime.js';
import { sessionThreading, threadingOptions } from '../../engine/onnx/threads.js';
import { buildTrainingForward, type TrainingForward } from '../../engine/onnx/forward/forward-graph.js';
import { flatLayers } from '../forward.js';
import { smoothedTargets, type OutputHead } from '../loss.js';
import { decoupledDecay, type ResolvedOptimizer } from '../optimizer.js';
import type { LearningRateScale } from '../param-groups.js';
import type { OptimizerState } from '../checkpoint.js';
import type { EngineUse, Stepper } from '../stepper.js';
import { ADAM, isAdam, slotKinds } from './optimizer-graph.js';
import { dropoutMask, scoreLogits } from './batch-math.js';
import { buildStepGraph, rateInput, type StepGraph } from './training-graph.js';
import { endName, loopStepGraph, startName, stepsName, TRIPS } from './loop-graph.js';
import { BLOCKED_VIEWED_FLOATS, BLOCKED_WEIGHT_FLOATS, NCHWC_DOMAIN, nchwcBlock, nchwcConvs } from './nchwc.js';
import { gemmConvs } from './conv-gemm.js';
import { directGradientOutputs } from './gradient-outputs.js';
import { DepthwiseKernel, depthwiseKernelWanted } from './depthwise-kernel.js';
import { depthwiseFetches, depthwiseOutside, sumDepthwise, type OutsideDepthwise } from './depthwise-outside.js';
import { UpdateKernel, type Decay, type UpdateRule } from './update-kernel.js';
import { ViewKernel } from './view-kernel.js';
import { channelsFirst, channelsFirstInput } from './input-layout.js';
import { gatherView, weightViews, weightViewsWanted, type WeightView } from './weight-views.js';
import { encodeOnnxModel } from '../../engine/onnx/model-proto.js';
import { inlineStepSessions, type OpenStepSession, type StepSession, type StepValue } from './step-session.js';

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
  /** Whether the session runs the step graph looped (loop-graph.ts: queued steps, several a run) or as it is (one step a run). */
  looped: boolean;
  /** The step graph's inputs fed once per step (x, targets, masks, rates). */
  perStep: string[];
  /** Where the step graph takes the images channels first (input-layout.ts): pixels and channels per image, for the transposing copy. */
  inputChannelsFirst?: { pixels: number; channels: number };
  /** Per training layer: its name, its trained variables' ONNX names (getWeights() order) and its factor on the phase's rate. */
  groups: Array<{ layer: string; variables: string[]; factor: number }>;
  session: StepSession;
  /** Convolutions the session runs as one GEMM (conv-gemm.ts) and on onnxruntime's channel-blocked kernels (nchwc.ts). */
  convForms: { gemm: number; blocked: number; batchedWeightGradients: number };
  /**
   * The optimizer's update outside the graph (update-kernel.ts): each trained variable's index and
   * size, and the kernel while this session is the current one (its memory holds the weights,
   * gradients and slots), the shapes of the gradient outputs the session writes in their
   * producer's shape (gradient-outputs.ts), and the depthwise layers whose weight gradients a
   * kernel of their own sums from the session's X and dY outputs (depthwise-outside.ts).
   */
  outside?: { kernel: UpdateKernel | undefined; rule: UpdateRule; index: Map<string, number>; sizes: number[]; decay: Decay; gradientShapes?: Map<string, number[]>; depthwise?: { kernel: DepthwiseKernel | undefined; layers: OutsideDepthwise[] } };
  /**
   * Weights' rearrangements the session takes as inputs (weight-views.ts): each view's name and
   * dims, its buffer, and `fill`, which gathers every view from the weights `read` gives, by the
   * kernel where there is one (`inWasm`).
   */
  views: { list: Array<Omit<WeightView, 'index'>>; data: Float32Array[]; fill: (read: (name: string) => Float32Array) => void; inWasm: boolean };
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The views' buffers and their gather: the WebAssembly kernel's, whose table holds the indices (the
 * JavaScript index arrays are then let go: about 7 MB on ResNet-18), or a JavaScript loop over them.
 */
function gatherers(list: readonly WeightView[], floatsOf: ReadonlyMap<string, number>): Compiled['views'] {
  const names = list.map(({ name, source, dims }) => ({ name, source, dims }));
  const kernel = list.length > 0 ? ViewKernel.create(list, floatsOf) : undefined;
  if (kernel) return { list: names, data: kernel.views, fill: (read) => kernel.fill(read), inWasm: true };
  const data = list.map((v) => new Float32Array(v.index.length));
  return { list: names, data, fill: (read) => list.forEach((v, i) => gatherView(read(v.source), v.index, data[i]!)), inWasm: false };
}

/**
 * Steps queued before one run: up to 32, within 16 MB of per-step inputs. Measured on the
 * write-up's Model A (bench/RESULTS.md, issue 17): 264–299 µs a step one run each, 205–212 µs at 4
 * a run, 167–171 at 16, 162–164 at 32.
 */
const MAX_QUEUED = 32;
const QUEUE_BYTES = 16 * 2 ** 20;

/**
 * Steps are queued, looped and run in the step thread only when they are light: no convolution
 * and at most 4 M floats of weights and optimizer state. A heavy step takes long enough that a
 * run's set-up does not matter, fit's progress reads (every 250 ms) flush after nearly every step
 * anyway, and the Loop keeps copies of that state: on ResNet-18 (64×64, Adam) it was +300 MB of
 * peak RSS for no faster epoch (bench/RESULTS.md).
 */
const LIGHT_FLOATS = 4 * 2 ** 20;

/** Steps taken (their inputs written) but not yet run: per-step inputs stacked, labels for scoring. */
interface Queue {
  m: number;
  count: number;
  capacity: number;
  perStep: Map<string, { dims: number[]; size: number; data: Float32Array }>;
  labels: Float32Array;
  logits: Float32Array;
  /** With the update outside the graph: per group, the rate and Adam's bias corrections of the step queued (heavy steps queue one). */
  scalars: Array<{ rate: number; oma1: number; oma2: number }>;
}

/**
 * Training steps of any TF.js model the forward translator handles, on onnxruntime, through graft's
 * training compiler: the model's training form (engine/onnx/forward), the loss, train/graph's
 * autodiff and the optimizer update in one graph (training-graph.ts). Steps are queued and run
 * several at a time, the step graph looped (loop-graph.ts), while the next ones are assembled
 * (flush() runs what is queued). The weights live here as typed arrays in TF.js layouts while an
 * epoch runs; syncModel() writes the trained ones and BatchNorm's moving statistics back into the
 * TF.js model, which stays the model everything else uses. One session per trainability pattern, cached.
 */
export class GraphStepper implements Stepper {
  readonly use: EngineUse = { engine: 'onnxruntime' };
  private readonly states = new Map<string, LayerState>();
  private readonly compiled = new Map<string, Promise<Compiled>>();
  private current: Compiled | undefined;
  /** Per variable (ONNX name): its TF.js variable and current values. */
  private values = new Map<string, { variable: tfl.LayerVariable; data: Float32Array }>();
  private readonly spares = new WeakMap<Float32Array, Float32Array>();
  /** Steps taken but not yet run (launch, flush): the queue being filled. */
  private queue: Queue | undefined;
  /** Per batch size (a fit has two: the batch and the epoch's last): the one being filled and the one running, at most. */
  private pools = new Map<number, Queue[]>();
  /** The run launched last, until its results are in place. */
  private running: { queue: Queue; done: Promise<void> } | undefined;
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
    /** Where step sessions run: this thread unless the caller says (platform/step-thread.ts). */
    private readonly open: OpenStepSession = inlineStepSessions(ort),
  ) {
    this.kinds = slotKinds(spec);
    this.rate = spec.learningRate;
  }

  setLearningRate(rate: number): void {
    this.rate = rate;
  }

  async refresh(): Promise<number> {
    // Queued steps belong to the session they were queued for.
    await this.flush();
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
      const next = await compiled;
      if (next !== this.current) {
        this.queue = undefined;
        this.pools.clear();
        // The weights and slots move to the next session's kernel at its first run; this one's memory goes once they have.
        if (this.current?.outside) this.current.outside.kernel = undefined;
        // The depthwise layers' activations likewise: made again at this pattern's next run.
        if (this.current?.outside?.depthwise) this.current.outside.depthwise.kernel = undefined;
      }
      this.current = next;
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
    const trained = groups.flatMap((g) => g.variables);
    const floatsOf = new Map(forward.graph.initializers.map((t) => [t.name, size(t.dims)]));
    const statistics = forward.batchNorms.flatMap((b) => [b.mean, b.variance]);
    const carriedFloats = trained.reduce((a, n) => a + floatsOf.get(n)! * (1 + this.kinds.length), 0) + statistics.reduce((a, n) => a + (floatsOf.get(n) ?? 0), 0);
    const light = carriedFloats <= LIGHT_FLOATS && !forward.graph.nodes.some((n) => n.op === 'Conv' || n.op === 'ConvTranspose');
    // A heavy step's update runs as one fused pass outside onnxruntime (update-kernel.ts); a light one's stays in the looped graph.
    const sizes = trained.map((n) => floatsOf.get(n)!);
    const rule = ruleOf(this.spec);
    const kernel = light ? null : UpdateKernel.create(rule, sizes);
    const outside: Compiled['outside'] = kernel ? { kernel, rule, index: new Map(trained.map((n, i) => [n, i])), sizes, decay: decayOf(this.spec) } : undefined;
    const built = buildStepGraph({
      forward,
      groups: groups.map((g) => ({ variables: g.variables })),
      optimizer: this.spec,
      gradientsOut: outside !== undefined,
    });
    // A heavy step takes the batch channels first where its graph's first op made it so (input-layout.ts).
    const [, h, w, channels] = built.graph.inputs.find((i) => i.name === 'x')?.shape ?? [];
    const nchw = !light && typeof h === 'number' && typeof w === 'number' && typeof channels === 'number' ? channelsFirstInput(built.graph, 'x') : undefined;
    const step = nchw ? { ...built, graph: nchw, bytes: encodeOnnxModel({ irVersion: forward.irVersion, producerName: 'graft', opsets: [{ domain: '', version: forward.opset }], graphName: 'graft_train_step', graph: nchw }) } : built;
    const inputChannelsFirst = nchw ? { pixels: (h as number) * (w as number), channels: channels as number } : undefined;
    const changing = new Set([...step.trained, ...step.movingStatistics]);
    const carried = [
      ...step.variableInputs.filter((n) => changing.has(n) && !outside?.index.has(n)).map((n) => ({ input: n, output: step.trained.includes(n) ? `new_${n}` : `${n}.new` })),
      ...(outside ? [] : groups.flatMap((g) => this.kinds.flatMap((kind) => g.variables.map((v) => ({ input: `${kind}_${v}`, output: `new_${kind}_${v}` }))))),
    ];
    const constant = new Set(step.variableInputs.filter((n) => !changing.has(n)));
    const carriedIn = new Set(carried.map((x) => x.input));
    const perStep = step.graph.inputs.map((i) => i.name).filter((n) => !carriedIn.has(n) && !constant.has(n) && !outside?.index.has(n));
    const bytes = light ? loopStepGraph(step.graph, { carried, perStep, scanned: ['logits'], opset: forward.opset, irVersion: forward.irVersion }) : step.bytes;
    // Measured on ResNet-18 (64×64, batch 32, 2 cores; bench/RESULTS.md): memory patterns off cut
    // peak RSS by ≈130 MB at the same step time within noise; threads stay onnxruntime's default
    // (the physical cores; 1 thread was 1.5× slower) and spinning stays on (off: 17% slower),
    // unless trial workers share the cores (shareCores: cores/workers threads, no spinning).
    const options = { graphOptimizationLevel: 'all', executionMode: 'sequential', enableMemPattern: false, logSeverityLevel: 3, ...threadingOptions(sessionThreading()) } as const;
    let session: StepSession | undefined;
    // Heavy steps' convolutions on the forms onnxruntime runs fastest: large weights as one GEMM, small ones on its channel-blocked kernels.
    const asGemm = light ? undefined : gemmConvs(step.graph, forward.opset);
    // Depthwise weight gradients summed outside the graph where wanted (off by default); the update kernel's gradients written where they are computed, not copied there by a Reshape.
    const dwKernel = asGemm && outside && depthwiseKernelWanted() ? DepthwiseKernel.create() : null;
    const depthwise = dwKernel ? depthwiseOutside(asGemm!.graph, new Set(outside!.index.keys())) : undefined;
    const direct = asGemm && outside ? directGradientOutputs(depthwise?.graph ?? asGemm.graph, new Map(forward.graph.initializers.filter((t) => outside.index.has(t.name)).map((t) => [`grad.${t.name}`, t.dims]))) : undefined;
    const blocked = asGemm && nchwcConvs(direct?.graph ?? asGemm.graph, await nchwcBlock(this.ort), forward.opset, weightViewsWanted() ? BLOCKED_VIEWED_FLOATS : BLOCKED_WEIGHT_FLOATS);
    const opsets = [{ domain: '', version: forward.opset }, ...(blocked && blocked.rewritten > 0 ? [{ domain: NCHWC_DOMAIN, version: 1 }] : [])];
    // The weights' rearrangements (blocked layouts, flipped kernels) gathered outside the graph, once per run.
    const viewed = blocked && weightViewsWanted() ? await weightViews(this.ort, blocked.graph, new Set(step.variableInputs), opsets, forward.irVersion) : undefined;
    if (asGemm && blocked && asGemm.rewritten + asGemm.batched + blocked.rewritten + (direct?.shapes.size ?? 0) + (depthwise?.layers.length ?? 0) + (viewed?.views.length ?? 0) > 0) {
      // A build whose blocked kernels refuse the graph still runs the plain one.
      const graph = viewed?.graph ?? blocked.graph;
      session = await this.open(encodeOnnxModel({ irVersion: forward.irVersion, producerName: 'graft', opsets, graphName: 'graft_train_step', graph }), options, light).catch(() => undefined);
    }
    const list = session && viewed ? viewed.views : [];
    const views = gatherers(list, floatsOf);
    const convForms = session ? { gemm: asGemm!.rewritten, blocked: blocked!.rewritten, batchedWeightGradients: asGemm!.batched } : { gemm: 0, blocked: 0, batchedWeightGradients: 0 };
    if (session && outside && direct) outside.gradientShapes = direct.shapes;
    if (session && outside && dwKernel && depthwise && depthwise.layers.length > 0) outside.depthwise = { kernel: dwKernel, layers: depthwise.layers };
    try {
      session ??= await this.open(bytes, options, light);
    } catch (e) {
      // graft wrote this graph; onnxruntime refusing it is graft's bug, and TF.js can still train.
      throw new GraftError(
        'BACKEND_UNAVAILABLE',
        `onnxruntime refused graft's training graph for ${this.model.name} (${(e as Error).message.split('\n')[0]}). Train with --engine tfjs (GRAFT_ENGINE=tfjs) instead, and please report this.`,
      );
    }
    return { forward, step, looped: light, perStep, inputChannelsFirst, groups: groups.map((g) => ({ layer: g.layer.name, variables: g.variables, factor: this.scale?.(g.layer) ?? 1 })), session, convForms, views, ...(outside ? { outside } : {}) };
  }

  beginEpoch(lossSum: number, correctSum: number): void {
    this.mustHaveRun('beginEpoch');
    this.lossSum = lossSum;
    this.correctSum = correctSum;
    this.values = new Map(this.current!.forward.variables.map((v) => [v.name, { variable: v.variable, data: (v.variable.read().dataSync() as Float32Array).slice() }]));
  }

  async step(x: Float32Array, labels: Float32Array, m: number): Promise<void> {
    const c = this.current!;
    if (this.queue && this.queue.count > 0 && this.queue.m !== m) await this.launch();
    const q = (this.queue = this.queue?.m === m ? this.queue : this.freeQueue(c, m));
    const at = q.count;
    const k = c.forward.units;
    const put = (name: string, fill: (into: Float32Array) => void): void => {
      const per = q.perStep.get(name)!;
      fill(per.data.subarray(at * per.size, (at + 1) * per.size));
    };
    const nchw = c.inputChannelsFirst;
    put('x', (into) => (nchw ? channelsFirst(x, into, m, nchw.pixels, nchw.channels) : into.set(x.subarray(0, into.length))));
    q.labels.set(labels.subarray(0, m), at * m);
    const cw = this.classWeights;
    // The loss's inputs (training-graph.ts lossPart): one unit, (smoothed) targets and per-sample
    // factors; else −factor × the (smoothed) target distribution.
    const e = this.labelSmoothing;
    const [on, off] = smoothedTargets(this.head, e);
    const factor = (i: number): number => (cw ? cw[labels[i]!]! : 1) / m;
    if (k === 1) {
      put('y', (y) => y.forEach((_, i) => (y[i] = e > 0 ? labels[i]! * (1 - e) + e / 2 : labels[i]!)));
      put('sample_scale', (scale) => scale.forEach((_, i) => (scale[i] = factor(i))));
    } else {
      put('minus_target', (t) => {
        t.fill(0);
        for (let i = 0; i < m; i++) {
          if (e > 0) for (let j = 0; j < k; j++) t[i * k + j] = -factor(i) * (j === labels[i]! ? on : off);
          else t[i * k + labels[i]!] = -factor(i);
        }
      });
    }
    c.forward.dropouts.forEach((d) => put(d.input, (mask) => dropoutMask(d.layer, d.rate, mask.length, mask)));
    c.groups.forEach((g, gi) => {
      const st = this.states.get(g.layer)!;
      // The rate as TF.js's optimizer holds it: scheduled rate × plateau factor × layer factor, as float32.
      const rate = this.rate * this.rateFactor * g.factor;
      if (c.outside) q.scalars[gi] = { rate: Math.fround(rate), oma1: Math.fround(1 - st.accBeta[0]), oma2: Math.fround(1 - st.accBeta[1]) };
      else put(rateInput(gi), (r) => (r[0] = rate));
      if (isAdam(this.spec)) {
        if (!c.outside) {
          put(`oma1_${gi}`, (r) => (r[0] = 1 - st.accBeta[0]));
          put(`oma2_${gi}`, (r) => (r[0] = 1 - st.accBeta[1]));
        }
        st.accBeta = [Math.fround(st.accBeta[0] * Math.fround(ADAM.beta1)), Math.fround(st.accBeta[1] * Math.fround(ADAM.beta2))];
      }
      st.iterations++;
    });
    q.count++;
    if (q.count === q.capacity) await this.launch();
  }

  /** Runs every queued step and waits for the results. */
  async flush(): Promise<void> {
    await this.launch();
    const r = this.running;
    this.running = undefined;
    await r?.done;
  }

  /**
   * Starts the queued steps' run (loop-graph.ts: every step's inputs go in stacked; the weights,
   * slots and moving statistics come out once, after the last) and moves on to the other queue, so
   * the next steps are assembled while this one runs (in the step thread, where there is one). A
   * run starts from the previous run's weights, so it waits for that one first.
   */
  private async launch(): Promise<void> {
    const q = this.queue;
    if (!q || q.count === 0) return;
    const before = this.running;
    this.running = undefined;
    await before?.done;
    this.queue = this.freeQueue(this.current!, q.m, q);
    this.running = { queue: q, done: this.run(q) };
  }

  private async run(q: Queue): Promise<void> {
    const c = this.current!;
    const k = c.forward.units;
    const n = q.count;
    // The looped graph's names (loop-graph.ts), or the step graph's own.
    const same = (name: string): string => name;
    const [steps, start, end] = c.looped ? [stepsName, startName, endName] : [same, same, same];
    const stacked = (dims: readonly number[]): number[] => (c.looped ? [n, ...dims] : [...dims]);
    const feeds: Record<string, StepValue> = c.looped ? { [TRIPS]: { data: BigInt64Array.of(BigInt(n)), dims: [] } } : {};
    for (const [name, per] of q.perStep) feeds[steps(name)] = { data: per.data.subarray(0, n * per.size), dims: stacked(per.dims) };
    const fetches: Record<string, StepValue> = { [steps('logits')]: { data: q.logits.subarray(0, n * q.m * k), dims: stacked([q.m, k]) } };
    // After the run: every buffer by name (the step thread hands back new views of the same memory).
    const after: Array<(arrays: Record<string, Float32Array>) => void> = [];
    for (const [name, per] of q.perStep) after.push((a) => (per.data = whole(a[steps(name)]!)));
    after.push((a) => (q.logits = whole(a[steps('logits')]!)));
    // Fed from `get()`, its new value fetched into a spare buffer that takes its place after the run.
    const updated = (input: string, output: string, get: () => Float32Array, set: (a: Float32Array) => void, dims: readonly number[]): void => {
      const now = get();
      feeds[start(input)] = { data: now, dims };
      fetches[end(output)] = { data: this.spares.get(now) ?? new Float32Array(now.length), dims };
      after.push((a) => {
        const next = whole(a[end(output)]!);
        set(next);
        this.spares.set(next, whole(a[start(input)]!));
      });
    };
    const changing = new Set([...c.step.trained, ...c.step.movingStatistics]);
    const outside = c.outside;
    if (outside && !outside.kernel) {
      outside.kernel = UpdateKernel.create(outside.rule, outside.sizes) ?? undefined;
      if (!outside.kernel) throw new GraftError('BACKEND_UNAVAILABLE', `graft could not allocate ${Math.round((outside.sizes.reduce((a, n) => a + (2 + this.kinds.length) * n, 0) * 4) / 2 ** 20)} MB of WebAssembly memory for ${this.model.name}'s weights, gradients and optimizer state. Free memory, or train with --engine tfjs (GRAFT_ENGINE=tfjs).`);
    }
    const kernel = outside?.kernel;
    // Depthwise layers' X and dY go into their kernel's memory; their dW is summed there after the run.
    const depthwise = outside?.depthwise;
    const planes = depthwise && this.depthwiseArrays(depthwise, q.m);
    if (depthwise) Object.assign(fetches, depthwiseFetches(depthwise.layers, planes!, q.m));
    const outsideGradient = new Set(depthwise?.layers.map((l) => l.weight));
    for (const name of c.step.variableInputs) {
      const v = this.values.get(name)!;
      const dims = v.variable.shape as number[];
      const at = outside?.index.get(name);
      if (outside && at !== undefined) {
        // The weight is read from, and its gradient written into, the kernel's memory.
        const arrays = kernel!.arrays[at]!;
        v.data = adopt(v.data, arrays.w);
        feeds[name] = { data: arrays.w, dims };
        if (!outsideGradient.has(name)) fetches[`grad.${name}`] = { data: arrays.g, dims: outside.gradientShapes?.get(`grad.${name}`) ?? dims };
      } else if (!changing.has(name)) {
        feeds[name] = { data: v.data, dims };
        after.push((a) => (v.data = whole(a[name]!)));
      } else updated(name, c.step.trained.includes(name) ? `new_${name}` : `${name}.new`, () => v.data, (a) => (v.data = a), dims);
    }
    for (const g of c.groups) {
      const st = this.states.get(g.layer)!;
      this.kinds.forEach((kind, ki) => {
        g.variables.forEach((name, vi) => {
          const at = ki * g.variables.length + vi;
          const v = this.values.get(name)!;
          const inKernel = outside?.index.get(name);
          if (outside && inKernel !== undefined) {
            const arrays = kernel!.arrays[inKernel]!;
            st.slots[at] = adopt(st.slots[at], arrays.slots[ki]!);
            return;
          }
          st.slots[at] ??= new Float32Array(v.data.length);
          updated(`${kind}_${name}`, `new_${kind}_${name}`, () => st.slots[at]!, (a) => (st.slots[at] = a), v.variable.shape as number[]);
        });
      });
    }
    const views = c.views;
    views.fill((name) => feeds[name]!.data as Float32Array);
    // Heavy steps run in this thread (the update kernel's memory cannot move either): the views stay where they are.
    views.list.forEach((v, i) => (feeds[v.name] = { data: views.data[i]!, dims: v.dims }));
    const arrays = (await c.session.run(feeds, fetches)) as Record<string, Float32Array>;
    for (const f of after) f(arrays);
    if (depthwise) sumDepthwise(depthwise.kernel!, depthwise.layers, planes!, q.m, (w) => kernel!.arrays[outside!.index.get(w)!]!.g);
    if (outside) {
      const { epsilon, weightDecay, momentum, rho } = this.spec;
      // Every trained variable is a step-graph input with a gradient output (the autodiff makes each trainable an input).
      c.groups.forEach((g, gi) => {
        const scalars = { ...ADAM, ...q.scalars[gi]!, epsilon, weightDecay, momentum, rho };
        for (const name of g.variables) kernel!.update(outside.index.get(name)!, scalars, outside.decay);
      });
    }
    for (let i = 0; i < n; i++) {
      const at = i * q.m;
      const { loss, correct } = scoreLogits(q.logits.subarray(at * k, (at + q.m) * k), q.labels.subarray(at, at + q.m), q.m, k, this.classWeights, this.labelSmoothing);
      this.lossSum += loss;
      this.correctSum += correct;
    }
    q.count = 0;
  }

  /** The depthwise kernel's views for X and dY of each of its layers at batch m (its memory grows to fit). */
  private depthwiseArrays(d: NonNullable<NonNullable<Compiled['outside']>['depthwise']>, m: number): Float32Array[] {
    const floats = d.layers.flatMap((l) => [m * l.geometry.channels * size(l.geometry.inSize), m * l.geometry.channels * size(l.geometry.outSize)]);
    d.kernel ??= DepthwiseKernel.create() ?? undefined;
    const views = d.kernel?.arrays(floats, Math.max(...d.layers.map((l) => l.geometry.channels * size(l.geometry.kernel))));
    // Where the memory cannot grow, the step fails before it runs: nothing has changed yet.
    if (!views) throw new GraftError('BACKEND_UNAVAILABLE', `graft could not allocate ${Math.round((floats.reduce((a, n) => a + n, 0) * 4) / 2 ** 20)} MB of WebAssembly memory for ${this.model.name}'s depthwise activations at batch ${m}. Use a smaller batch, free memory, or train with --engine tfjs (GRAFT_ENGINE=tfjs).`);
    return views;
  }

  /** A queue for batch size m that is neither running nor `not`: one of this size's two. */
  private freeQueue(c: Compiled, m: number, not?: Queue): Queue {
    const pool = this.pools.get(m) ?? [];
    this.pools.set(m, pool);
    const free = pool.find((q) => q !== not && q !== this.running?.queue);
    if (free) return free;
    const q = this.newQueue(c, m);
    pool.push(q);
    return q;
  }

  /**
   * Buffers for up to `capacity` queued steps of batch size m: as many as fit in QUEUE_BYTES of
   * per-step inputs (at least 1, at most MAX_QUEUED), so large images queue few steps.
   */
  private newQueue(c: Compiled, m: number): Queue {
    const perStep = new Map<string, { dims: number[]; size: number; data: Float32Array }>();
    for (const name of c.perStep) {
      const dims = c.step.graph.inputs.find((i) => i.name === name)!.shape!.map((d) => (typeof d === 'number' ? d : m));
      perStep.set(name, { dims, size: size(dims), data: new Float32Array(0) });
    }
    const bytes = [...perStep.values()].reduce((a, p) => a + 4 * p.size, 0);
    const capacity = c.looped ? Math.max(1, Math.min(MAX_QUEUED, Math.floor(QUEUE_BYTES / bytes))) : 1;
    for (const p of perStep.values()) p.data = new Float32Array(capacity * p.size);
    return { m, count: 0, capacity, perStep, labels: new Float32Array(capacity * m), logits: new Float32Array(capacity * m * c.forward.units), scalars: [] };
  }

  sums(): { loss: number; correct: number } {
    this.mustHaveRun('sums');
    return { loss: this.lossSum, correct: this.correctSum };
  }

  syncModel(): void {
    this.mustHaveRun('syncModel');
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

  async saveState(): Promise<OptimizerState[]> {
    await this.flush();
    const out: OptimizerState[] = [];
    for (const [layer, s] of this.states) {
      const state: OptimizerState = { layer, iterations: s.iterations, slots: s.iterations > 0 ? s.slots.map((a) => a.slice()) : [] };
      if (isAdam(this.spec)) state.accBeta = [...s.accBeta];
      out.push(state);
    }
    return out;
  }

  async restoreState(states: readonly OptimizerState[]): Promise<void> {
    this.mustHaveRun('restoreState');
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
  }

  /** Reading state while steps are queued would read it from before them: fit flushes first. */
  private mustHaveRun(what: string): void {
    const n = (this.queue?.count ?? 0) + (this.running?.queue.count ?? 0);
    if (n > 0) throw new Error(`GraphStepper.${what}: ${n} queued steps have not run; await flush() first.`);
  }

  dispose(): void {
    this.queue = undefined;
    this.pools.clear();
    for (const p of this.compiled.values()) void p.then((c) => c.session.release()).catch(() => undefined);
    this.compiled.clear();
  }
}

/** The update rule of TF.js's optimizer (optimizer-graph.ts writes the same). */
function ruleOf(o: ResolvedOptimizer): UpdateRule {
  if (isAdam(o)) return 'adam';
  if (o.name === 'rmsprop') return 'rmsprop';
  return o.momentum > 0 ? 'momentum' : 'sgd';
}

/** How the optimizer's weight decay enters its update (optimizer-graph.ts writes the same). */
function decayOf(o: ResolvedOptimizer): Decay {
  if (o.weightDecay <= 0) return 'none';
  return decoupledDecay(o) ? 'decoupled' : 'l2';
}

/**
 * `home` holding `current`'s values: copied in when `current` is another array (a new epoch's
 * weights, restored optimizer state, another session's kernel), zeros when there is none yet.
 */
function adopt(current: Float32Array | undefined, home: Float32Array): Float32Array {
  if (current === home) return home;
  if (current) home.set(current);
  else home.fill(0);
  return home;
}

/** The whole buffer under a view that started at its beginning (a queue's or a weight's array). */
function whole(view: Float32Array): Float32Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : new Float32Array(view.buffer, 0, view.buffer.byteLength / 4);
}
