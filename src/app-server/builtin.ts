import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isGraftError } from '../errors.js';
import { fetchZooWeights, weightsCacheDir, type ZooFetchOptions } from '../io/backbone-weights.js';
import type { MobileNetV2Alpha } from '../models/mobilenetv2.js';
import { zooEntry } from '../models/zoo.js';

/**
 * The page's built-in source: Keras applications' MobileNetV2 α 0.35 ImageNet weights. The server,
 * not the page, fetches them into graft's weight cache (GRAFT_WEIGHTS_MIRROR applies), so the page
 * only ever talks to its own origin. `?input=N` picks the file trained nearest that size, as the CLI does.
 */
export const BUILTIN_ROUTE = '/builtin/mobilenetv2-0.35.h5';
export const BUILTIN_ALPHA: MobileNetV2Alpha = 0.35;

export interface BuiltinResponse {
  status: number;
  type: string;
  body: string | Buffer;
}

/** One fetch per file at a time: a second request while the first downloads waits for it. */
const inFlight = new Map<string, Promise<string>>();

export async function builtinWeights(search: URLSearchParams, options: ZooFetchOptions): Promise<BuiltinResponse> {
  const text = search.get('input') ?? '224';
  const input = Number(text);
  if (!/^\d+$/.test(text) || input < 32) {
    return plain(400, `The built-in source needs ?input=SIDE, a whole number ≥ 32 (the page's input size); received ${JSON.stringify(text)}.`);
  }
  const entry = zooEntry({ name: 'mobilenetv2', alpha: BUILTIN_ALPHA }, input);
  const cacheDir = options.cacheDir ?? weightsCacheDir(options.env);
  const key = `${cacheDir}\n${entry.file}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = fetchZooWeights(entry, options).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  try {
    return { status: 200, type: 'application/octet-stream', body: await readFile(await pending) };
  } catch (e) {
    if (!isGraftError(e)) throw e;
    // The download's own reason, without fetchZooWeights' command-line fixes: the page's fixes differ.
    const reason = e.cause instanceof Error ? e.cause.message : e.message;
    const mirror = options.mirror ?? (options.env ?? process.env).GRAFT_WEIGHTS_MIRROR;
    const from = mirror ? `${mirror.replace(/\/+$/, '')}/${entry.file}` : entry.url;
    // 503: the route exists, its file could not be had now. The page shows this text as it is.
    return plain(503, [
      `graft app could not fetch the built-in weights ${entry.file} from ${from}: ${reason.replace(/\.?$/, '.')}`,
      'Drop a model file (.keras, .h5, .onnx or a TF.js model) as the source instead;',
      `or restart graft app with GRAFT_WEIGHTS_MIRROR=URL, a folder holding ${entry.file};`,
      `or download ${entry.url} by hand and put it at ${path.join(cacheDir, entry.file)}, then try again.`,
    ].join(' '));
  }
}

const plain = (status: number, body: string): BuiltinResponse => ({ status, type: 'text/plain; charset=utf-8', body });
