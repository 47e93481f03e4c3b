import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readOnnxModel } from '../../../src/io/onnx/read.js';
import { resolveHubModel } from '../../../src/io/hub/resolve.js';
import { rejectsWith } from '../../helpers.js';
import { sha256, startFakeHub, type FakeHub, type FakeRepo } from './fake-hub.js';

const root = path.resolve(__dirname, '../../..');
const model = await readFile(path.join(root, 'fixtures/onnx/fashion-mnist-a.onnx'));
const mlp = await readFile(path.join(root, 'test/io/onnx/fixtures/mlp.onnx'));
const mlpWeights = await readFile(path.join(root, 'test/io/onnx/fixtures/mlp.weights'));
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);

function repos(): Record<string, FakeRepo> {
  return {
    'acme/fmnist': { refs: { main: C1 }, commits: { [C1]: { 'model.onnx': model, 'README.md': new Uint8Array([35]) } } },
    'acme/tjs': { refs: { main: C2 }, commits: { [C2]: { 'onnx/model.onnx': model, 'onnx/model_quantized.onnx': mlp, 'config.json': new Uint8Array([123, 125]) } } },
    'acme/many': { refs: { main: C2 }, commits: { [C2]: { 'a.onnx': model, 'b/c.onnx': mlp } } },
    'acme/ext': { refs: { main: C1 }, commits: { [C1]: { 'onnx/model.onnx': mlp, 'onnx/mlp.weights': mlpWeights } } },
    'acme/private': { refs: { main: C1 }, commits: { [C1]: { 'model.onnx': model } }, token: 'hf_secret' },
  };
}

let hub: FakeHub;
let cacheDir: string;
beforeEach(async () => {
  hub = await startFakeHub(repos());
  cacheDir = await mkdtemp(path.join(tmpdir(), 'graft-hub-'));
});
afterEach(async () => {
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

/** Every file under `dir`, relative, so a test can say exactly what the cache holds. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

const opts = (over: Parameters<typeof resolveHubModel>[1] = {}): Parameters<typeof resolveHubModel>[1] => ({ endpoint: hub.endpoint, cacheDir, retryDelayMs: 1, ...over });

describe('resolveHubModel', () => {
  it('downloads through the CDN redirect, checks the SHA-256, caches by commit, and readOnnxModel reads it', async () => {
    const progress: number[] = [];
    const got = await resolveHubModel('hf:acme/fmnist', opts({ onProgress: (p) => progress.push(p.bytes) }));
    expect(got).toEqual({ file: path.join(cacheDir, 'acme--fmnist', 'snapshots', C1, 'model.onnx'), repo: 'acme/fmnist', revision: 'main', commit: C1, sha256: sha256(model), fromCache: false });
    expect(await readFile(got.file)).toEqual(model);
    expect(progress.at(-1)).toBe(model.length);
    expect(hub.seen.map((r) => `${r.server} ${r.method} ${r.url}`)).toEqual([
      'hub GET /api/models/acme/fmnist/revision/main',
      `hub HEAD /acme/fmnist/resolve/${C1}/model.onnx`,
      `hub GET /acme/fmnist/resolve/${C1}/model.onnx`,
      `cdn GET /blobs/${sha256(model)}`,
    ]);
    expect(await filesIn(cacheDir)).toEqual([path.join('acme--fmnist', 'refs', 'main'), path.join('acme--fmnist', 'snapshots', C1, 'model.onnx')]);
    const read = await readOnnxModel(got.file);
    expect(read.model.graph.initializers.length).toBeGreaterThan(0);
  });

  it('a second call on a branch only asks the hub which commit it is; offline or pinned, it makes no request', async () => {
    const first = await resolveHubModel('hf:acme/fmnist:model.onnx', opts());
    hub.seen.length = 0;
    const again = await resolveHubModel('hf:acme/fmnist:model.onnx', opts());
    expect(again).toMatchObject({ file: first.file, commit: C1, fromCache: true });
    expect(hub.seen.map((r) => `${r.method} ${r.url}`)).toEqual(['HEAD /acme/fmnist/resolve/main/model.onnx']);
    hub.seen.length = 0;
    expect(await resolveHubModel('hf:acme/fmnist', opts({ offline: true }))).toMatchObject({ file: first.file, commit: C1, fromCache: true });
    expect(await resolveHubModel(`hf:acme/fmnist@${C1}`, opts())).toMatchObject({ file: first.file, commit: C1, fromCache: true });
    expect(hub.seen).toEqual([]);
  });

  it('HF_HUB_OFFLINE=1 and HF_ENDPOINT are read from the environment', async () => {
    const saved = { endpoint: process.env.HF_ENDPOINT, offline: process.env.HF_HUB_OFFLINE };
    try {
      process.env.HF_ENDPOINT = hub.endpoint;
      const first = await resolveHubModel('hf:acme/fmnist', { cacheDir });
      expect(hub.seen.length).toBeGreaterThan(0);
      hub.seen.length = 0;
      process.env.HF_HUB_OFFLINE = '1';
      expect(await resolveHubModel('hf:acme/fmnist', { cacheDir })).toMatchObject({ file: first.file, fromCache: true });
      expect(hub.seen).toEqual([]);
    } finally {
      for (const [k, v] of [['HF_ENDPOINT', saved.endpoint], ['HF_HUB_OFFLINE', saved.offline]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('a pinned 40-hex revision downloads that commit and never needs the listing', async () => {
    const got = await resolveHubModel(`hf:acme/fmnist@${C1}:model.onnx`, opts());
    expect(got).toMatchObject({ revision: C1, commit: C1, fromCache: false, file: path.join(cacheDir, 'acme--fmnist', 'snapshots', C1, 'model.onnx') });
    expect(hub.seen.filter((r) => r.server === 'hub').map((r) => r.url)).toEqual([`/acme/fmnist/resolve/${C1}/model.onnx`, `/acme/fmnist/resolve/${C1}/model.onnx`]);
    // A commit needs no ref: it cannot move.
    expect(await filesIn(cacheDir)).toEqual([path.join('acme--fmnist', 'snapshots', C1, 'model.onnx')]);
  });

  it('resumes an interrupted transfer from the .part file with a Range request', async () => {
    const dropAt = 1000;
    hub.cdn.dropNextAt = dropAt;
    const onProgress = (p: { bytes: number }): void => {
      if (p.bytes >= dropAt) hub.cdn.drop?.();
    };
    const e = await rejectsWith(resolveHubModel('hf:acme/fmnist:model.onnx', opts({ onProgress, retries: 0 })), 'NETWORK');
    const dest = path.join(cacheDir, 'acme--fmnist', 'snapshots', C1, 'model.onnx');
    expect(e.message).toContain(`Could not get ${hub.endpoint}/acme/fmnist/resolve/${C1}/model.onnx (the connection was closed after ${dropAt}`);
    expect(e.message).toContain(`${dest}.part`);
    expect(e.message).toContain(path.join(cacheDir, 'acme--fmnist', 'snapshots', 'main', 'model.onnx'));
    const kept = (await stat(`${dest}.part`)).size;
    expect(kept).toBe(dropAt);
    hub.seen.length = 0;
    const got = await resolveHubModel('hf:acme/fmnist:model.onnx', opts());
    const cdnRequests = hub.seen.filter((r) => r.server === 'cdn');
    expect(cdnRequests.map((r) => r.range)).toEqual([`bytes=${kept}-`]);
    expect(await readFile(got.file)).toEqual(model);
    await expect(stat(`${dest}.part`)).rejects.toThrow();
  });

  it('a server that answers the Range request with a 200 restarts the file from its start', async () => {
    const dest = path.join(cacheDir, 'acme--fmnist', 'snapshots', C1, 'model.onnx');
    await mkdir(path.dirname(dest), { recursive: true });
    // A .part whose bytes are wrong: kept only if the 200's body were appended to it.
    await writeFile(`${dest}.part`, Buffer.alloc(700, 0xee));
    hub.cdn.ignoreRange = true;
    const got = await resolveHubModel('hf:acme/fmnist:model.onnx', opts());
    expect(hub.seen.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual(['bytes=700-']);
    expect(await readFile(got.file)).toEqual(model);
  });

  it('resumes within one call when the connection drops (retries)', async () => {
    hub.cdn.dropNextAt = 500;
    const onProgress = (p: { bytes: number }): void => {
      if (p.bytes >= 500) hub.cdn.drop?.();
    };
    const got = await resolveHubModel('hf:acme/fmnist:model.onnx', opts({ onProgress, retries: 1 }));
    expect(hub.seen.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=500-']);
    expect(await readFile(got.file)).toEqual(model);
  });

  it('refuses bytes whose SHA-256 differs from the hub\'s and leaves nothing in the cache', async () => {
    hub.cdn.replace = (b) => b.map((x) => x ^ 1);
    const e = await rejectsWith(resolveHubModel('hf:acme/fmnist', opts()), 'CHECKSUM_MISMATCH');
    expect(e.message).toContain(sha256(model));
    expect(await filesIn(cacheDir)).toEqual([]);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('prefers onnx/model.onnx as transformers.js repos have it', async () => {
    const got = await resolveHubModel('hf:acme/tjs', opts());
    expect(got.file).toBe(path.join(cacheDir, 'acme--tjs', 'snapshots', C2, 'onnx', 'model.onnx'));
    expect(await readFile(got.file)).toEqual(model);
  });

  it('several .onnx files and none preferred: the error lists them and the :PATH form', async () => {
    const e = await rejectsWith(resolveHubModel('hf:acme/many', opts()), 'BAD_ARGUMENT');
    expect(e.message).toContain('a.onnx, b/c.onnx');
    expect(e.message).toContain('hf:acme/many@main:a.onnx');
    expect(hub.seen.filter((r) => r.server === 'cdn')).toEqual([]);
  });

  it('downloads the external data file the model names into the same folder', async () => {
    const got = await resolveHubModel('hf:acme/ext', opts());
    expect(await readFile(path.join(path.dirname(got.file), 'mlp.weights'))).toEqual(mlpWeights);
    const read = await readOnnxModel(got.file);
    expect(read.model.graph.initializers.some((t) => t.data.length > 0)).toBe(true);
    // Cached: a second call downloads neither file again.
    hub.seen.length = 0;
    await resolveHubModel('hf:acme/ext', opts());
    expect(hub.seen.filter((r) => r.server === 'cdn')).toEqual([]);
  });

  it('offline with nothing cached: one message naming the URL and the path where a file put by hand is found', async () => {
    const e = await rejectsWith(resolveHubModel('hf:acme/fmnist:model.onnx', opts({ offline: true })), 'NETWORK');
    const byHand = path.join(cacheDir, 'acme--fmnist', 'snapshots', 'main', 'model.onnx');
    expect(e.message).toContain(`${hub.endpoint}/acme/fmnist/resolve/main/model.onnx`);
    expect(e.message).toContain(byHand);
    expect(e.message).toContain('HF_ENDPOINT');
    expect(hub.seen).toEqual([]);
    // The path it names works.
    await mkdir(path.dirname(byHand), { recursive: true });
    await copyFile(path.join(root, 'fixtures/onnx/fashion-mnist-a.onnx'), byHand);
    expect(await resolveHubModel('hf:acme/fmnist:model.onnx', opts({ offline: true }))).toMatchObject({ file: byHand, fromCache: true });
  });

  it('an unreachable hub gives the same message, and falls back to what the cache holds', async () => {
    const first = await resolveHubModel('hf:acme/fmnist', opts());
    const endpoint = hub.endpoint;
    await hub.close();
    expect(await resolveHubModel('hf:acme/fmnist', opts({ endpoint }))).toMatchObject({ file: first.file, fromCache: true });
    const e = await rejectsWith(resolveHubModel('hf:acme/other:model.onnx', opts({ endpoint })), 'NETWORK');
    expect(e.message).toContain(`${endpoint}/acme/other/resolve/main/model.onnx (ECONNREFUSED)`);
    expect(e.message).toContain(path.join(cacheDir, 'acme--other', 'snapshots', 'main', 'model.onnx'));
    hub = await startFakeHub({});
  });

  it('401 on a private repo mentions HF_TOKEN; with the token it downloads, and the token never reaches the CDN', async () => {
    const e = await rejectsWith(resolveHubModel('hf:acme/private', opts()), 'MODEL_NOT_FOUND');
    expect(e.message).toContain('HTTP 401');
    expect(e.message).toContain('HF_TOKEN');
    hub.seen.length = 0;
    const got = await resolveHubModel('hf:acme/private', opts({ token: 'hf_secret' }));
    expect(await readFile(got.file)).toEqual(model);
    expect(hub.seen.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    expect(hub.seen.filter((r) => r.server === 'cdn').map((r) => r.authorization)).toEqual([undefined]);
  });

  it.each([
    ['hf:acme/nope', 'Repo acme/nope was not found'],
    ['hf:acme/fmnist@dev', 'Revision dev of acme/fmnist was not found'],
    ['hf:acme/fmnist:missing.onnx', 'File missing.onnx was not found in acme/fmnist at main'],
  ])('404 for %s names what is missing', async (text, what) => {
    const e = await rejectsWith(resolveHubModel(text, opts()), 'MODEL_NOT_FOUND');
    expect(e.message).toContain(what);
    expect(await filesIn(cacheDir)).toEqual([]);
  });
});
