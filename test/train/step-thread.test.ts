import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { encodeModel } from '../../src/engine/onnx/model-proto.js';
import { GraphBuilder } from '../../src/engine/onnx/graph-builder.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';
import type { OpenStepSession } from '../../src/train/onnx/step-session.js';
import { sameValues, useBackend, weightValues } from '../helpers.js';

/**
 * The step thread (src/platform/step-thread.ts) needs its worker's compiled file, so these tests
 * use graft's build in dist/ (npm test builds it first); the sources under a test runner run
 * steps in their own thread.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(REPO, 'dist');
const built = fs.existsSync(path.join(DIST, 'platform/step-thread-worker.js'));
const ort = await loadOnnxRuntime();
const why = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : !built ? 'dist/ has no build (run npm run build)' : undefined;
if (why) console.log(`skipping the step-thread tests: ${why}`);
const dist = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(DIST, file)).href)) as T;

type StepSessions = (o: OrtModule) => OpenStepSession;

function reluGraph(): Uint8Array {
  const g = new GraphBuilder();
  g.output(g.op('Relu', [g.input('x', [4])]), 'y', [4]);
  return encodeModel(g.graph);
}

describe.skipIf(why !== undefined)('the step thread (platform/step-thread.ts)', () => {
  let stepSessions: StepSessions;
  beforeAll(async () => {
    await useBackend();
    ({ stepSessions } = await dist<{ stepSessions: StepSessions }>('platform/step-thread.js'));
  });

  /** Relu on 4 values through a session from stepSessions; whether the input came back detached (moved to the step thread). */
  async function reluRun(light: boolean): Promise<{ moved: boolean; x: number[]; y: number[] }> {
    const session = await stepSessions(ort as OrtModule)(reluGraph(), {}, light);
    const x = Float32Array.of(-1, 2, -3, 4);
    const out = await session.run({ x: { data: x, dims: [4] } }, { y: { data: new Float32Array(4), dims: [4] } });
    session.release();
    return { moved: x.byteLength === 0, x: Array.from(out.x as Float32Array), y: Array.from(out.y as Float32Array) };
  }

  it('runs a light step in another thread: the buffers move there and come back holding the results', async () => {
    // Transferred, so detached here: the run happened on the other side.
    expect(await reluRun(true)).toEqual({ moved: true, x: [-1, 2, -3, 4], y: [0, 2, 0, 4] });
  });

  it('stays in this thread with GRAFT_STEP_THREAD=0', async () => {
    process.env.GRAFT_STEP_THREAD = '0';
    try {
      expect(await reluRun(true)).toEqual({ moved: false, x: [-1, 2, -3, 4], y: [0, 2, 0, 4] });
    } finally {
      delete process.env.GRAFT_STEP_THREAD;
    }
  });

  it('refuses a GRAFT_STEP_THREAD other than 0 or 1, naming it', () => {
    process.env.GRAFT_STEP_THREAD = 'off';
    try {
      expect(() => stepSessions(ort as OrtModule)).toThrow(/GRAFT_STEP_THREAD is "off"; set it to 0 .* or 1/);
    } finally {
      delete process.env.GRAFT_STEP_THREAD;
    }
  });

  it('a training command refuses a bad GRAFT_STEP_THREAD before it writes anything', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graft-step-thread-'));
    try {
      const run = promisify(execFile)(process.execPath, [path.join(REPO, 'bin/graft.js'), 'seed'], { cwd: dir, env: { ...process.env, GRAFT_STEP_THREAD: 'yes' }, timeout: 60_000 });
      await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/GRAFT_STEP_THREAD is "yes"; set it to 0/) });
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a heavy step (light false) in this thread: nothing to overlap it with', async () => {
    expect(await reluRun(false)).toEqual({ moved: false, x: [-1, 2, -3, 4], y: [0, 2, 0, 4] });
  });

  it("passes on onnxruntime's refusal of a graph", async () => {
    await expect(stepSessions(ort as OrtModule)(Uint8Array.of(1, 2, 3), {}, true)).rejects.toThrow(/protobuf|parsing|Load model/i);
  });

  it('trains the same weights, optimizer state and sums in the step thread as in this thread, bit for bit', async () => {
    const { GraphStepper } = await dist<{ GraphStepper: new (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown> }>('train/onnx/graph-stepper.js');
    const { inlineStepSessions } = await dist<{ inlineStepSessions: StepSessions }>('train/onnx/step-session.js');
    const train = async (open: OpenStepSession): Promise<{ w: Float32Array[]; sums: unknown; state: unknown }> => {
      const input = tfl.input({ shape: [6] });
      let h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tfl.SymbolicTensor;
      const dropout = tfl.layers.dropout({ rate: 0.3 });
      h = dropout.apply(h) as tfl.SymbolicTensor;
      const net = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }).apply(h) as tfl.SymbolicTensor });
      const stepper = new GraphStepper(ort, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'adam', learningRate: 0.01 }), undefined, undefined, 0, true, open);
      await stepper.refresh!();
      stepper.beginEpoch!(0, 0);
      const rng = new Rng(2);
      // 75 steps: two full queues of 32 and one of 11, then a smaller last batch.
      for (let b = 0; b < 76; b++) {
        const m = b === 75 ? 3 : 8;
        const labels = Float32Array.from({ length: 8 }, (_, i) => (i + b) % 3);
        const x = Float32Array.from({ length: 48 }, (_, i) => rng.next() - 0.5 + (labels[Math.floor(i / 6)]! === i % 3 ? 0.5 : 0));
        (dropout as unknown as { seed: number }).seed = rng.seed();
        stepper.setLearningRate!(0.01 / (1 + b / 10));
        await stepper.step!(x, labels, m);
      }
      await stepper.flush!();
      const sums = stepper.sums!();
      stepper.syncModel!();
      // Without layer names, which differ between the copies.
      const state = ((await stepper.saveState!()) as Array<{ layer: string }>).map(({ layer: _layer, ...rest }) => rest);
      stepper.dispose!();
      // In order: the two copies' layers get different automatic names.
      const w = [...weightValues(net).values()];
      net.dispose();
      return { w, sums, state };
    };
    const here = await train(inlineStepSessions(ort as OrtModule));
    const there = await train(stepSessions(ort as OrtModule));
    here.w.forEach((w, i) => expect(sameValues(w, there.w[i]!), `weight ${i}`).toBe(true));
    expect(there.sums).toEqual(here.sums);
    expect(there.state).toEqual(here.state);
  });

  it('lets a Node process that trained in the step thread exit by itself', async () => {
    const script = `
      const { initBackend, buildMlp, fit } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'index.js')).href)});
      await initBackend('cpu');
      const n = 64, x = new Float32Array(n * 16).map((_, i) => (i % 7) / 7), y = Int32Array.from({ length: n }, (_, i) => i % 2);
      const r = await fit(buildMlp({ classes: 2, inputShape: [4, 4], hidden: 8 }), { x, y, sampleShape: [4, 4], classNames: ['a', 'b'], pixelRange: 'features', source: 'images' }, { epochs: 2, engine: 'onnxruntime' });
      console.log(r.engine.engine, r.history.length);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, timeout: 60_000 });
    expect(stdout.trim().split('\n').pop()).toBe('onnxruntime 2');
  });
});
