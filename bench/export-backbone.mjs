#!/usr/bin/env node
// Writes graft's backbone (as `graft transfer --backbone … --weights … --input …` builds it, with its
// preprocessing layer in front) to a Keras 3 `.keras` file, so a Keras peer can train from exactly
// the same pretrained weights. Used by bench/cnn.mjs once per sitting; runs on graft's dist/.
//
//   node bench/export-backbone.mjs --backbone mobilenetv2:0.35 --input 64 \
//     --weights /work/shared/fixtures/teachable-machine/model.json --out /tmp/x/backbone.keras
//
// Prints one JSON line: {out, bytes, description, layers, params, inputShape, outputShape, seconds}.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dier, eachFlag } from './lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HELP = `usage: node bench/export-backbone.mjs --backbone NAME --input SIDE --out FILE.keras [--weights W] [--seed N] [--backend NAME]

  --backbone NAME   vgg16, mobilenetv2, mobilenetv2:ALPHA (as graft transfer --backbone)
  --input SIDE      square input side (as graft transfer --input)
  --weights W       imagenet, none, or a weights/model file (default: none)
  --out FILE        the .keras file to write (its folder is created)
  --seed N          seed for random (--weights none) layers (default 0, as graft transfer)
  --backend NAME    graft compute backend (default wasm)`;

const die = dier('export-backbone');

const o = { backbone: null, input: null, weights: 'none', out: null, seed: 0, backend: 'wasm' };
eachFlag(process.argv.slice(2), die, (flag, val, a) => {
  switch (flag) {
    case '--backbone': o.backbone = val(); break;
    case '--input': o.input = Number(val()); break;
    case '--weights': o.weights = val(); break;
    case '--out': o.out = val(); break;
    case '--seed': o.seed = Number(val()); break;
    case '--backend': o.backend = val(); break;
    case '-h': case '--help': console.log(HELP); process.exit(0);
    default: die(`unknown argument: ${a}\n\n${HELP}`);
  }
});
if (!o.backbone || !o.out || !Number.isInteger(o.input)) die(`--backbone, --input and --out are required\n\n${HELP}`);

// The library entry, with a fallback to the modules themselves for a dist/ whose index predates
// the exports (the functions are the same).
const dist = p => import(pathToFileURL(path.join(REPO, 'dist', p)).href);
const lib = await dist('index.js');
const initBackend = lib.initBackend;
const loadBackbone = lib.loadBackbone ?? (await dist('workflows/backbone.js')).loadBackbone;
const toKerasArchive = lib.toKerasArchive ?? (await dist('io/keras/export.js')).toKerasArchive;
if (!initBackend || !loadBackbone || !toKerasArchive) die('graft\'s dist/ lacks initBackend, loadBackbone or toKerasArchive: run `npm run build`');

const t0 = process.hrtime.bigint();
await initBackend(o.backend);
const { model, description } = await loadBackbone({ backbone: o.backbone, input: o.input, weights: o.weights, seed: o.seed });
const bytes = await toKerasArchive(model);
fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
const tmp = `${o.out}.tmp-${process.pid}`;
fs.writeFileSync(tmp, bytes);
fs.renameSync(tmp, o.out);
console.log(JSON.stringify({
  out: path.resolve(o.out),
  bytes: bytes.length,
  description,
  layers: model.layers.length,
  params: model.countParams(),
  inputShape: model.inputs[0].shape,
  outputShape: model.outputs[0].shape,
  seconds: +(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3),
}));
