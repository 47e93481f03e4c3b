import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { zipSync } from 'fflate';
import { copyWeightsByName } from '../../src/io/copy-weights.js';
import { kerasWeightsH5, toKerasArchive } from '../../src/io/keras/export.js';
import { buildBackboneBase } from '../../src/models/backbones.js';
import { disposeModel } from '../../src/models/dispose.js';
import { loadTfjsModelFromFiles } from '../../src/platform/browser/model-files.js';

/**
 * Source files for the app's tests, made from the Teachable Machine fixture's MobileNetV2 α 0.35
 * (ImageNet weights) with graft's own writers: no Keras download is possible here, and no binary
 * is committed. The same weights in every format, so each source can be checked against the others.
 */
export const TM = path.resolve(import.meta.dirname, '../../../shared/fixtures/teachable-machine');

export async function tmFiles(): Promise<{ kind: 'tfjs'; modelJson: string; weights: Uint8Array; name: string }> {
  return { kind: 'tfjs', modelJson: await readFile(path.join(TM, 'model.json'), 'utf8'), weights: new Uint8Array(await readFile(path.join(TM, 'weights.bin'))), name: 'model.json' };
}

/** Keras's MobileNetV2 α 0.35 without its top, as keras.applications builds it, holding the fixture's weights. */
async function withTmMobileNet<T>(input: number, use: (base: tfl.LayersModel) => Promise<T>): Promise<T> {
  const f = await tmFiles();
  const tm = await loadTfjsModelFromFiles({ 'model.json': f.modelJson, 'weights.bin': f.weights }, 'model.json');
  const base = buildBackboneBase({ name: 'mobilenetv2', alpha: 0.35 }, [input, input, 3]);
  try {
    copyWeightsByName(tm, base, 'model.json');
    return await use(base);
  } finally {
    disposeModel(tm);
    disposeModel(base);
  }
}

/** A .keras archive of that MobileNetV2 at `input` (a user's `model.save('mobilenet.keras')`). */
export const tmKerasArchive = (input: number): Promise<Uint8Array> => withTmMobileNet(input, (m) => toKerasArchive(m));

/** Its weights alone, by Keras layer name: what keras.applications' *_no_top.h5 holds (Keras 3 layout). */
export const tmWeightsH5 = (): Promise<Uint8Array> => withTmMobileNet(96, (m) => kerasWeightsH5(m));

/**
 * A local stand-in for Keras's weight host: serves `weights` under the one file name `file` (404
 * for anything else) and lists every name asked for. graft app's `weights.mirror` points at `url`.
 */
export async function serveWeightsMirror(file: string, weights: Uint8Array): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop() ?? '';
    hits.push(name);
    res.writeHead(name === file ? 200 : 404);
    res.end(name === file ? weights : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A zip holding `entries` (path → bytes), as zipping a folder gives. */
export const zipOf = (entries: Record<string, Uint8Array>): Uint8Array => zipSync(entries, { level: 0 });
