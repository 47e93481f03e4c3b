import type * as tfl from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-node';
import { engineFromEnv, loadOnnxRuntime, type EngineChoice, type OrtModule } from '../runtime.js';
import { buildForwardGraph } from './forward-graph.js';
import { sessionThreading, threadingOptions } from '../threads.js';

/** A TF.js model's inference pass on onnxruntime (see buildForwardGraph), run batch by batch. */
export class OnnxForward {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    /** One sample's input and output shapes (NHWC, as TF.js has them). */
    readonly inputShape: number[],
    readonly outputShape: number[],
    /** Whether the outputs are logits: the output's softmax/sigmoid left out (asked for with `logits`, and there was one). */
    readonly squashed: boolean,
  ) {}

  /** The model on onnxruntime (with `logits`, ending before its output's softmax/sigmoid), or the reason it cannot run there. */
  static async create(ort: OrtModule, model: tfl.LayersModel, options: { logits?: boolean } = {}): Promise<OnnxForward | string> {
    const graph = buildForwardGraph(model, options);
    if (typeof graph === 'string') return graph;
    try {
      // Severity 3 (errors only): onnxruntime's warnings are about graft's generated graph, not the user's data.
      const session = await ort.InferenceSession.create(graph.bytes, { graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3, ...threadingOptions(sessionThreading()) });
      return new OnnxForward(ort, session, graph.inputShape, graph.outputShape, graph.squashed);
    } catch (e) {
      return `onnxruntime could not load the graph graft made of ${model.name} (${(e as Error).message.split('\n')[0]})`;
    }
  }

  /** The outputs of the first n samples of x (row-major, inputShape each), `batch` samples per run. */
  async run(x: Float32Array, n: number, batch: number): Promise<Float32Array> {
    const inSize = this.inputShape.reduce((a, b) => a * b, 1);
    const outSize = this.outputShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * outSize);
    for (let start = 0; start < n; start += batch) {
      const m = Math.min(n, start + batch) - start;
      const feeds = { x: new this.ort.Tensor('float32', x.subarray(start * inSize, (start + m) * inSize), [m, ...this.inputShape]) };
      // Written straight into `out`: no copy per batch.
      const fetches = { y: new this.ort.Tensor('float32', out.subarray(start * outSize, (start + m) * outSize), [m, ...this.outputShape]) };
      await this.session.run(feeds, fetches);
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * The model on onnxruntime unless the engine is 'tfjs' (the argument, else --engine/GRAFT_ENGINE),
 * or the reason it runs on TF.js. Unlike training, inference never insists: a model onnxruntime
 * cannot run still gets its features from TF.js, with the reason recorded.
 */
export async function onnxForward(model: tfl.LayersModel, engine?: EngineChoice, options: { logits?: boolean } = {}): Promise<OnnxForward | string> {
  if ((engine ?? engineFromEnv()) === 'tfjs') return 'TF.js was asked for';
  const ort = await loadOnnxRuntime();
  if (typeof ort === 'string') return ort;
  return OnnxForward.create(ort, model, options);
}
