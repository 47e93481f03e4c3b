// The training worker: decodes the dropped images, splits them, trains transfer and from-scratch
// arms on TF.js (wasm), and sends back numbers, the verdict and the exported model. Running here
// keeps the page responsive while the cpu-heavy steps run.
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  applyUnfreeze, confidenceInterval, disposeModel, fineTune, fit, initBrowserBackend, normalizePixels, pairedDifference, predictArrays, reinitialize,
  take, toKerasArchive, toOnnxBytes, toTfjsFiles, transfer, verdict, type Dataset, type EpochRecord, type TrainCallbacks,
} from '../src/browser.js';
import { transferOptionsFor } from './arms.js';
import { ByteRowStore } from './byte-rows.js';
import { decodeToPixels, decodeToRgba } from './decode.js';
import type { EpochInfo, FromWorker, SourceFiles, SplitCounts, ToWorker, TrainResult, TrainSettings } from './protocol.js';
import { reportJson } from './report.js';
import { prepareSource, type PreparedSource } from './source.js';
import { splitPerClass } from './split.js';
import { confidentlyWrong, probabilitiesOf, scoreOf, testImagesToSend } from './test-scores.js';

const scope = globalThis as unknown as { postMessage(message: FromWorker, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const send = (message: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

interface Loaded {
  source: PreparedSource;
  sourceFiles: SourceFiles;
  settings: TrainSettings;
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  split: SplitCounts;
}

let loaded: Loaded | undefined;
let finalModel: tfl.LayersModel | undefined;
let backend: Promise<string> | undefined;

scope.onmessage = (e) => {
  void handle(e.data).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};

async function handle(message: ToWorker): Promise<void> {
  // wasm files come from the app's own /wasm/ folder; cpu if they cannot start.
  backend ??= initBrowserBackend({ backend: 'wasm', wasmPaths: new URL('wasm/', self.location.href).href, onnxWasmPaths: new URL('ort/', self.location.href).href })
    .catch(() => initBrowserBackend({ backend: 'cpu' }))
    .then((b) => b.description);
  const description = await backend;
  if (message.type === 'load') {
    send({ type: 'status', text: `TF.js backend: ${description}` });
    await load(message);
  } else if (message.type === 'train') {
    if (!loaded) throw new Error('Load a source model and images first.');
    await train(loaded);
  } else {
    if (!finalModel || !loaded) throw new Error('Train a model first, then try an image.');
    const x = await decodeToPixels(message.file, loaded.source.input);
    send({ type: 'prediction', probabilities: Array.from(predictArrays(finalModel, x, [loaded.source.input, loaded.source.input, 3])), classNames: [...loaded.train.classNames] });
  }
}

async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  if (message.classes.length < 2) throw new Error(`Choose images for at least 2 classes; received ${message.classes.length}.`);
  if (loaded) disposeModel(loaded.source.model);
  loaded = undefined;
  const source = await prepareSource(message.source, message.settings.input);
  const side = source.input;
  const total = message.classes.reduce((n, c) => n + c.files.length, 0);
  // Each image is kept as its RGB bytes at the input size as soon as it is decoded (byte-rows.ts):
  // the splits below select rows of this one store, and training reads them a batch at a time.
  const store = new ByteRowStore(side * side * 3);
  const labels: number[] = [];
  const skipped: string[] = [];
  let done = 0;
  for (const [k, c] of message.classes.entries()) {
    for (const file of c.files) {
      try {
        store.pushRgba(await decodeToRgba(file, side));
        labels.push(k);
      } catch {
        skipped.push(`${c.name}/${file.name}`);
      }
      if (++done % 10 === 0 || done === total) send({ type: 'decoded', done, total });
    }
  }
  const names = message.classes.map((c) => c.name);
  const y = Int32Array.from(labels);
  const all = normalizePixels({ x: new Float32Array(0), rows: store.rows(), y, sampleShape: [side, side, 3], classNames: names, pixelRange: 'raw', source: 'app' });
  const parts = splitPerClass(y, names.length, message.settings.testFraction, message.settings.validationFraction, 0);
  const subset = (part: string): Dataset => take(all, parts.flatMap((p, i) => (p === part ? [i] : [])), `app/${part}`);
  const counts = names.map((_, k) => (['train', 'validation', 'test'] as const).map((p) => parts.filter((q, i) => q === p && y[i] === k).length));
  const split: SplitCounts = { classNames: names, counts, skipped, source: source.description };
  loaded = { source, sourceFiles: message.source, settings: message.settings, train: subset('train'), validation: subset('validation'), test: subset('test'), split };
  send({ type: 'split', split });
}

async function train(l: Loaded): Promise<void> {
  const s = l.settings;
  const classes = l.train.classNames.length;
  const transferOptions = transferOptionsFor(l.source.cut, classes);
  const optimizer = { name: 'adam' as const, learningRate: s.learningRate };
  const perArm = s.frozenEpochs + s.unfrozenEpochs;
  const totalEpochs = 2 * s.seeds * perArm;
  let epochsDone = 0;
  const callbacks = (arm: EpochInfo['arm'], seed: number): TrainCallbacks => ({
    onBatchProgress: (b) => send({ type: 'progress', fraction: (epochsDone + (b.batch / b.batches)) / totalEpochs, text: `${arm}, seed ${seed}, ${b.phase} epoch ${b.epoch}/${b.epochs}: loss ${b.loss.toFixed(4)}, accuracy ${b.accuracy.toFixed(3)}` }),
    // fineTune says how long the frozen layers took to compute the cached features.
    onMessage: (text) => send({ type: 'status', text }),
    onEpochEnd: (r: EpochRecord) => {
      epochsDone++;
      // The unfrozen phase starts by computing its own (smaller, deeper) features: say so, it takes a while at 224.
      if (arm === 'transfer' && r.phase === 'frozen' && r.epoch === s.frozenEpochs && s.unfrozenEpochs > 0) send({ type: 'status', text: `transfer, seed ${seed}: computing features below the unfrozen layers…` });
      send({ type: 'epoch', info: { arm, seed, phase: r.phase, epoch: r.epoch, loss: r.loss, accuracy: r.accuracy, ...(r.valLoss !== undefined && { valLoss: r.valLoss }), ...(r.valAccuracy !== undefined && { valAccuracy: r.valAccuracy }) } });
    },
  });
  if (finalModel) disposeModel(finalModel);
  finalModel = undefined;
  let finalProbabilities = new Float32Array(0);
  const transferErrors: number[] = [];
  const scratchErrors: number[] = [];
  const seconds = { transfer: 0, scratch: 0 };
  let clock = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const s = (now - clock) / 1000;
    clock = now;
    return s;
  };
  for (let seed = 0; seed < s.seeds; seed++) {
    const common = { batchSize: s.batchSize, seed, validation: l.validation, earlyStopping: false as const };
    lap();
    const t = await transfer(l.source.model, { ...transferOptions, seed });
    send({ type: 'status', text: `transfer, seed ${seed}: computing features of the frozen layers, once per image…` });
    // Frozen: only the head trains (on features computed once); then the last block too, at a tenth of the rate.
    await fineTune(t, l.train, { ...common, callbacks: callbacks('transfer', seed), frozen: { epochs: s.frozenEpochs, optimizer }, unfrozen: { epochs: s.unfrozenEpochs, optimizer: { ...optimizer, learningRate: s.learningRate / 10 }, unfreeze: l.source.unfreeze } });
    seconds.transfer += lap();
    send({ type: 'status', text: `transfer, seed ${seed}: scoring the test set…` });
    const probabilities = probabilitiesOf(t.model, l.test);
    transferErrors.push(1 - scoreOf(probabilities, l.test.y, l.test.classNames).accuracy);
    if (seed === 0) {
      finalModel = t.model;
      finalProbabilities = probabilities;
    } else disposeModel(t.model);

    // The same architecture from fresh weights, all of it trainable, for as many epochs in total.
    lap();
    const sc = await transfer(l.source.model, { ...transferOptions, seed });
    reinitialize(sc.model, seed);
    applyUnfreeze(sc.reused, 'all');
    await fit(sc.model, l.train, { ...common, epochs: perArm, optimizer, phase: 'scratch', callbacks: callbacks('scratch', seed) });
    seconds.scratch += lap();
    send({ type: 'status', text: `scratch, seed ${seed}: scoring the test set…` });
    scratchErrors.push(1 - scoreOf(probabilitiesOf(sc.model, l.test), l.test.y, l.test.classNames).accuracy);
    disposeModel(sc.model);
  }
  const model = finalModel!;
  send({ type: 'status', text: 'Exporting the model (.keras, ONNX, TF.js)…' });
  const difference = pairedDifference(transferErrors, scratchErrors);
  const v = verdict(difference);
  // The first seed's transfer model is the one exported; its test probabilities were computed above.
  const evaluation = scoreOf(finalProbabilities, l.test.y, l.test.classNames);
  const shown = testImagesToSend(l.test, finalProbabilities, confidentlyWrong(finalProbabilities, l.test.y, classes));
  // Each format the model can be written in; the others are empty, with the reason (an ONNX source's blocks have no Keras layer).
  const notExported: string[] = [];
  const attempt = async <T>(format: string, write: () => T | Promise<T>, empty: T): Promise<T> => {
    try {
      return await write();
    } catch (e) {
      notExported.push(`No ${format} download: ${e instanceof Error ? e.message : String(e)}`);
      return empty;
    }
  };
  const tfjs = await attempt('TF.js', () => toTfjsFiles(model, 'graft app'), { 'model.json': '', 'weights.bin': new Uint8Array() });
  const base = {
    verdict: v,
    verdictWords: verdictWords(v, transferErrors, scratchErrors, difference),
    transferErrors,
    scratchErrors,
    testAccuracy: evaluation.accuracy,
    confusion: evaluation.confusion,
    classNames: [...l.train.classNames],
    input: l.source.input,
    seconds,
  };
  const reportData = { ...base, source: l.split.source, split: l.split, settings: s, perClass: evaluation.perClass };
  const result: TrainResult = {
    ...base,
    ...shown,
    keras: await attempt('.keras', () => toKerasArchive(model), new Uint8Array()),
    onnx: await attempt('ONNX', () => toOnnxBytes(model), new Uint8Array()),
    tfjsJson: tfjs['model.json'],
    tfjsWeights: tfjs['weights.bin'],
    notExported,
    report: reportJson(reportData),
  };
  send({ type: 'result', result }, [result.testX.buffer, result.testY.buffer, result.probabilities.buffer, result.keras.buffer, result.onnx.buffer, result.tfjsWeights.buffer]);
}

function verdictWords(v: string, t: number[], s: number[], d: ReturnType<typeof pairedDifference>): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const errors = `test error ${pct(confidenceInterval(t).mean)} with transfer vs ${pct(confidenceInterval(s).mean)} from scratch (mean of ${t.length} seed${t.length === 1 ? '' : 's'})`;
  if (t.length < 2) return `No verdict: ${errors}. One seed cannot separate a difference from luck; train with 2 or more seeds.`;
  const ci = `difference ${(100 * d.mean).toFixed(1)} points, 95% interval ${(100 * d.low).toFixed(1)} to ${(100 * d.high).toFixed(1)}`;
  if (v === 'helps') return `Transfer helps: ${errors}; ${ci}, entirely below zero.`;
  if (v === 'hurts') return `Transfer hurts: ${errors}; ${ci}, entirely above zero.`;
  return `No clear difference: ${errors}; ${ci}, which includes zero. More images or seeds may tell them apart.`;
}
