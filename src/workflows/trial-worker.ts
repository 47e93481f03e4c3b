// Worker thread for compareParallel: rebuilds the source model once, then runs the trial pairs it is sent.
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { setDefaultEngine } from '../engine/onnx/runtime.js';
import { shareCores } from '../engine/onnx/threads.js';
import { GraftError } from '../errors.js';
import { runTrialPair } from './compare.js';
// Registers OnnxBlock, so models imported from ONNX rebuild here too.
import '../models/onnx-block/layer.js';
import type { TrialWorkerData } from './compare-parallel.js';

const data = workerData as TrialWorkerData;
await initBackend(data.backend as BackendChoice);
setDefaultEngine(data.engine);
shareCores(data.workers, availableParallelism());
const json = JSON.parse(data.modelJson) as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
const weights = data.weights.slice().buffer;
const source = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weights }));

parentPort!.on('message', (m: { index: number; key: Parameters<typeof runTrialPair>[2] }) => {
  runTrialPair(source, data.plan, m.key).then(
    (pair) => parentPort!.postMessage({ index: m.index, pair }),
    (e: unknown) => parentPort!.postMessage({ index: m.index, error: e instanceof GraftError ? { message: e.message, code: e.code, userError: e.userError } : { message: (e as Error)?.stack ?? String(e) } }),
  );
});
