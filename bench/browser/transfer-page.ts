// The browser half of bench/browser-node.mjs: one cats-vs-dogs transfer run in a page, timed per
// phase. esbuild bundles this for the browser; graft comes in through src/browser.ts only (so does
// the app's source preparation, app/source.ts), so the page runs what a web page using graft would run.
// bench/browser/node-side.mjs mirrors runTransfer step for step on Node's entry (dist/index.js).
import { evaluate, fineTune, initBrowserBackend, setDefaultEngine, transfer, type Dataset } from '../../src/browser.js';
import { prepareSource } from '../../app/source.js';
import { decodeCheck } from './decode-check.js';
import type { BenchSettings, BenchTimes, PageRun, RunResult } from './protocol.js';

/** Fetches one of the harness's binary files (pixels decoded once in Node, sent to both sides as float32). */
async function bytes(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`bench page: GET ${url} answered ${res.status}; the harness serves /data/ and /tm/.`);
  return res.arrayBuffer();
}

async function dataset(part: 'train' | 'test', s: BenchSettings): Promise<Dataset> {
  const [x, y] = await Promise.all([bytes(`/data/${part}-x.f32`), bytes(`/data/${part}-y.i32`)]);
  return { x: new Float32Array(x), y: new Int32Array(y), sampleShape: [s.input, s.input, 3], classNames: s.classNames, pixelRange: 'unit', source: `bench/${part}` };
}

async function runTransfer(run: PageRun): Promise<RunResult> {
  const s = run.settings;
  const here = (folder: string): string => new URL(folder, location.href).href;
  // The auto engine gets onnxruntime-web's files, as the app's worker does; the tfjs arm asks for TF.js.
  const backend = await initBrowserBackend({ backend: 'wasm', wasmPaths: here('/wasm/'), ...(run.engine === 'auto' && { onnxWasmPaths: here('/ort/') }) });
  setDefaultEngine(run.engine);
  // Inputs arrive before the clock starts: Node's side reads them from its disk before timing too.
  const [train, test, modelJson, weights] = await Promise.all([dataset('train', s), dataset('test', s), bytes('/tm/model.json'), bytes('/tm/weights.bin')]);
  const times: Partial<BenchTimes> = {};
  const start = performance.now();
  let clock = start;
  const lap = (name: keyof BenchTimes): void => {
    const now = performance.now();
    times[name] = (now - clock) / 1000;
    clock = now;
  };
  const source = await prepareSource({ kind: 'tfjs', name: 'teachable-machine', modelJson: new TextDecoder().decode(modelJson), weights: new Uint8Array(weights) }, s.input);
  lap('source');
  const t = await transfer(source.model, { cut: source.cut, head: { classes: s.classNames.length, pooling: 'avg', activation: 'softmax', dropout: s.dropout }, seed: s.seed });
  lap('transfer');
  const optimizer = { name: 'adam' as const, learningRate: s.learningRate };
  const phases = await fineTune(t, train, {
    batchSize: s.batchSize, seed: s.seed, earlyStopping: false,
    frozen: { epochs: s.frozenEpochs, optimizer },
    unfrozen: { epochs: s.unfrozenEpochs, optimizer: { ...optimizer, learningRate: s.learningRate * s.unfrozenLrFactor }, unfreeze: source.unfreeze },
  });
  lap('fineTune');
  const evaluation = evaluate(t.model, test);
  lap('evaluate');
  times.total = (clock - start) / 1000;
  const frozen = phases.find((p) => p.name === 'frozen');
  const unfrozen = phases.find((p) => p.name === 'unfrozen');
  return {
    side: 'browser',
    backend: backend.description,
    ...('onnx' in backend && { onnx: String(backend.onnx) }),
    crossOriginIsolated: globalThis.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    engineSetBy: 'setDefaultEngine',
    userAgent: navigator.userAgent,
    times: { ...(times as BenchTimes), frozen: frozen?.seconds ?? 0, features: frozen?.featureCache?.seconds ?? 0, unfrozen: unfrozen?.seconds ?? 0, unfrozenFeatures: unfrozen?.featureCache?.seconds ?? 0 },
    engines: phases.map((p) => ({ phase: p.name, engine: p.engine?.engine ?? 'unknown', ...(p.engine?.reason !== undefined && { reason: p.engine.reason }), ...(p.featureCache && { features: p.featureCache.engine ?? 'tfjs' }) })),
    accuracy: evaluation.accuracy,
    testImages: evaluation.count,
    trainImages: train.y.length,
    finalLoss: phases.at(-1)?.history.at(-1)?.loss ?? Number.NaN,
  };
}

Object.assign(globalThis, { benchTransfer: runTransfer, benchDecode: decodeCheck });
