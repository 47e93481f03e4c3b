import { afterEach, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../src/errors.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { sessionThreading, shareCores, threadingOptions } from '../../src/engine/onnx/threads.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { useBackend } from '../helpers.js';

const ort = await loadOnnxRuntime();

describe('onnxruntime threading for trial workers (shareCores)', () => {
  afterEach(() => shareCores(1, 1));

  it('gives each of several workers its share of the cores, without spinning; one worker keeps the defaults', () => {
    expect(sessionThreading()).toEqual({ intraOpNumThreads: 0, spinning: true });
    shareCores(2, 4);
    expect(sessionThreading()).toEqual({ intraOpNumThreads: 2, spinning: false });
    shareCores(3, 2);
    expect(sessionThreading()).toEqual({ intraOpNumThreads: 1, spinning: false });
    shareCores(1, 16);
    expect(sessionThreading()).toEqual({ intraOpNumThreads: 0, spinning: true });
  });

  it('writes only what differs from the defaults as session options', () => {
    expect(threadingOptions({ intraOpNumThreads: 0, spinning: true })).toEqual({});
    expect(threadingOptions({ intraOpNumThreads: 2, spinning: false })).toEqual({ intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  });

  it('refuses a count that is not a whole number ≥ 1, naming it', () => {
    expect(() => shareCores(0, 2)).toThrow(GraftError);
    expect(() => shareCores(2, 1.5)).toThrow(/cores ≥ 1; received 1.5/);
  });

  it.skipIf(typeof ort === 'string')('GraphStepper creates its session with them, and onnxruntime takes them', async () => {
    await useBackend();
    const real = ort as OrtModule;
    const seen: Array<Record<string, unknown>> = [];
    const spy = { ...real, InferenceSession: { create: (bytes: Uint8Array, o: Record<string, unknown>) => (seen.push(o), real.InferenceSession.create(bytes, o)) } } as unknown as OrtModule;
    const input = tfl.input({ shape: [3] });
    const model = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(input) as tfl.SymbolicTensor });
    shareCores(2, 2);
    const stepper = new GraphStepper(spy, model, { activation: 'sigmoid', units: 1, classes: 2 }, resolveOptimizer({ name: 'sgd' }), undefined);
    await stepper.refresh();
    stepper.beginEpoch(0, 0);
    await stepper.step(Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(0, 1), 2);
    await stepper.flush();
    expect(seen[0]).toMatchObject({ intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
    expect(Number.isFinite(stepper.sums().loss)).toBe(true);
    stepper.dispose();
    model.dispose();
  });
});
