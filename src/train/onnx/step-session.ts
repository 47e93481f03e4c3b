import type * as Ort from 'onnxruntime-node';
import type { OrtModule } from '../../engine/onnx/runtime.js';

/** A graph input or output: its values and dimensions. */
export interface StepValue {
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

/**
 * Where GraphStepper's step graph runs. `run` may move the buffers it is given to another thread
 * and back (a transfer, not a copy): after it resolves, read every feed and fetch from the arrays
 * it returns, by name; the arrays passed in may be detached.
 */
export interface StepSession {
  run(feeds: Record<string, StepValue>, fetches: Record<string, StepValue>): Promise<Record<string, Float32Array | BigInt64Array>>;
  release(): void;
}

/**
 * Opens a step graph's session; options are onnxruntime's session options. `light`: a short step
 * (graph-stepper.ts LIGHT_FLOATS), as long as the work of assembling the next one.
 */
export type OpenStepSession = (bytes: Uint8Array, options: Ort.InferenceSession.SessionOptions, light: boolean) => Promise<StepSession>;

/** onnxruntime tensors over the values' own buffers (no copy). */
export function ortTensors(ort: OrtModule, values: Record<string, StepValue>): Record<string, Ort.Tensor> {
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [name, new ort.Tensor(v.data instanceof BigInt64Array ? 'int64' : 'float32', v.data, [...v.dims])]));
}

/** Each distinct buffer under the arrays once: a transfer list refuses duplicates. */
export function distinctBuffers(arrays: Iterable<Float32Array | BigInt64Array>): ArrayBuffer[] {
  return [...new Set([...arrays].map((a) => a.buffer as ArrayBuffer))];
}

/** The session in this thread: each run holds the thread while onnxruntime works. */
export function inlineStepSessions(ort: OrtModule): OpenStepSession {
  return async (bytes, options) => {
    const session = await ort.InferenceSession.create(bytes, options);
    return {
      async run(feeds, fetches) {
        await session.run(ortTensors(ort, feeds), ortTensors(ort, fetches));
        const out: Record<string, Float32Array | BigInt64Array> = {};
        for (const [name, v] of [...Object.entries(feeds), ...Object.entries(fetches)]) out[name] = v.data;
        return out;
      },
      release: () => void session.release(),
    };
  };
}
