// The Node half of bench/browser-node.mjs: one transfer run on Node's entry (dist/index.js), in a
// process of its own (fresh memory, its own peak RSS), printing one BENCH_RESULT line. Mirrors
// bench/browser/transfer-page.ts's runTransfer step for step.
//   node bench/browser/node-side.mjs DIST DATA_DIR TM_DIR auto|tfjs SETTINGS_JSON
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const LAST_PROJECTION = 'block_16_project';
const projectionFilters = (alpha) => Math.max(8, Math.round((320 * alpha) / 8) * 8);

function findLayer(model, name) {
  for (const layer of model.layers) {
    if (layer.name === name) return layer;
    if ('layers' in layer) {
      const inner = findLayer(layer, name);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** app/source.ts's MobileNetV2 branch (which the page imports) on Node's entry, which reads model.json from disk. */
async function prepareSourceNode(graft, tmDir, input) {
  const loaded = await graft.loadTfjsModel(path.join(tmDir, 'model.json'));
  try {
    const projection = findLayer(loaded, LAST_PROJECTION);
    if (!projection) throw new Error(`${tmDir}/model.json holds no ${LAST_PROJECTION}: not a MobileNetV2 export. Pass --tm with the Teachable Machine export.`);
    const filters = projection.getWeights()[0]?.shape.at(-1);
    const alpha = graft.MOBILENETV2_ALPHAS.find((a) => projectionFilters(a) === filters);
    if (alpha === undefined) throw new Error(`${LAST_PROJECTION} has ${filters} filters, no MobileNetV2 width.`);
    const base = graft.buildBackboneBase({ name: 'mobilenetv2', alpha }, [input, input, 3]);
    graft.copyWeightsByName(loaded, base, 'teachable-machine');
    return { model: graft.withPreprocessing(base, 'tf'), cut: -1, unfreeze: { from: 'block_16_expand' } };
  } finally {
    graft.disposeModel(loaded);
  }
}

async function main(argv) {
  const [dist, dataDir, tmDir, engine, settingsJson] = argv;
  const s = JSON.parse(settingsJson);
  const graft = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  const backend = await graft.initBackend('auto');
  graft.setDefaultEngine(engine);
  const read = async (name, Type) => {
    const b = await readFile(path.join(dataDir, name));
    return new Type(b.buffer, b.byteOffset, b.byteLength / Type.BYTES_PER_ELEMENT);
  };
  const dataset = async (part) => ({ x: await read(`${part}-x.f32`, Float32Array), y: await read(`${part}-y.i32`, Int32Array), sampleShape: [s.input, s.input, 3], classNames: s.classNames, pixelRange: 'unit', source: `bench/${part}` });
  const train = await dataset('train');
  const test = await dataset('test');
  // model.json and weights.bin are read inside the clock (loadTfjsModel takes a path); a few ms for 2 MB.
  const times = {};
  const start = performance.now();
  let clock = start;
  const lap = (name) => {
    const now = performance.now();
    times[name] = (now - clock) / 1000;
    clock = now;
  };
  const source = await prepareSourceNode(graft, tmDir, s.input);
  lap('source');
  const t = await graft.transfer(source.model, { cut: source.cut, head: { classes: s.classNames.length, pooling: 'avg', activation: 'softmax', dropout: s.dropout }, seed: s.seed });
  lap('transfer');
  const optimizer = { name: 'adam', learningRate: s.learningRate };
  const phases = await graft.fineTune(t, train, {
    batchSize: s.batchSize, seed: s.seed, earlyStopping: false,
    frozen: { epochs: s.frozenEpochs, optimizer },
    unfrozen: { epochs: s.unfrozenEpochs, optimizer: { ...optimizer, learningRate: s.learningRate * s.unfrozenLrFactor }, unfreeze: source.unfreeze },
  });
  lap('fineTune');
  const evaluation = graft.evaluate(t.model, test);
  lap('evaluate');
  times.total = (clock - start) / 1000;
  const frozen = phases.find((p) => p.name === 'frozen');
  const unfrozen = phases.find((p) => p.name === 'unfrozen');
  const result = {
    side: 'node',
    backend: backend.description ?? backend.name,
    times: { ...times, frozen: frozen?.seconds ?? 0, features: frozen?.featureCache?.seconds ?? 0, unfrozen: unfrozen?.seconds ?? 0, unfrozenFeatures: unfrozen?.featureCache?.seconds ?? 0 },
    engines: phases.map((p) => ({ phase: p.name, engine: p.engine?.engine ?? 'unknown', ...(p.engine?.reason !== undefined && { reason: p.engine.reason }), ...(p.featureCache && { features: p.featureCache.engine ?? 'tfjs' }) })),
    accuracy: evaluation.accuracy,
    testImages: evaluation.count,
    trainImages: train.y.length,
    finalLoss: phases.at(-1)?.history.at(-1)?.loss ?? Number.NaN,
    // ru_maxrss is in kilobytes on Linux: the whole process, data and runtime included.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

await main(process.argv.slice(2));
