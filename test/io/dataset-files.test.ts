import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GraftError } from '../../src/errors.js';
import { fashionMnistCacheDir, loadFashionMnist, locateFashionMnist } from '../../src/io/dataset-files.js';
import { fashionFiles, gz } from '../data/idx-fixtures.js';
import { rejectsWith } from '../helpers.js';
import { deadPid } from './fault-helpers.js';

let root: string;
let missingSystem: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'graft-files-'));
  missingSystem = path.join(root, 'no-such-system-dir');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes synthetic train (4 images) and test (2 images) files; `gzip` picks which are compressed. */
async function writeSynthetic(dir: string, gzip: (name: string) => boolean = () => false): Promise<void> {
  await mkdir(dir, { recursive: true });
  const train = fashionFiles([9, 0, 0, 3]);
  const test = fashionFiles([1, 2]);
  const files: [string, Uint8Array][] = [
    ['train-images-idx3-ubyte', train.images],
    ['train-labels-idx1-ubyte', train.labels],
    ['t10k-images-idx3-ubyte', test.images],
    ['t10k-labels-idx1-ubyte', test.labels],
  ];
  for (const [name, bytes] of files) {
    if (gzip(name)) await writeFile(path.join(dir, `${name}.gz`), gz(bytes));
    else await writeFile(path.join(dir, name), bytes);
  }
}


function expectThreeWays(message: string, cache: string): void {
  expect(message).toContain('--data-dir');
  expect(message).toContain('GRAFT_DATA_DIR');
  expect(message).toContain('apt-get install dataset-fashion-mnist');
  expect(message).toContain('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/');
  expect(message).toContain(cache);
}

describe('locateFashionMnist', () => {
  it('uses an explicit data dir holding raw and .gz files', async () => {
    const dir = path.join(root, 'data');
    await writeSynthetic(dir, (n) => n.startsWith('train'));
    const found = await locateFashionMnist({ dataDir: dir, env: {}, download: false, systemDir: missingSystem });
    expect(found.origin).toBe('data-dir');
    expect(found.dir).toBe(dir);
    expect(found.files.trainImages).toBe(path.join(dir, 'train-images-idx3-ubyte.gz'));
    expect(found.files.testLabels).toBe(path.join(dir, 't10k-labels-idx1-ubyte'));
  });

  it('reads GRAFT_DATA_DIR from the environment', async () => {
    const dir = path.join(root, 'env-data');
    await writeSynthetic(dir);
    const found = await locateFashionMnist({ env: { GRAFT_DATA_DIR: dir }, download: false, systemDir: missingSystem });
    expect(found).toMatchObject({ origin: 'data-dir', dir });
  });

  it('names the missing files of an explicit dir, and the other ways', async () => {
    const dir = path.join(root, 'partial');
    await mkdir(dir);
    await writeFile(path.join(dir, 'train-images-idx3-ubyte'), fashionFiles([1]).images);
    const cache = path.join(root, 'xdg', 'graft', 'fashion-mnist');
    const e = await rejectsWith(locateFashionMnist({ dataDir: dir, env: { XDG_CACHE_HOME: path.join(root, 'xdg') }, download: false }), 'DATA_NOT_FOUND');
    expect(e.message).toContain(dir);
    expect(e.message).toContain('lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte');
    expect(e.message).not.toContain('lacks train-images');
    expectThreeWays(e.message, cache);
  });

  it('finds graft’s cache under XDG_CACHE_HOME, then Debian’s folder', async () => {
    const xdg = path.join(root, 'xdg');
    const cache = path.join(xdg, 'graft', 'fashion-mnist');
    expect(fashionMnistCacheDir({ XDG_CACHE_HOME: xdg })).toBe(cache);
    expect(fashionMnistCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/graft/fashion-mnist');

    const system = path.join(root, 'debian');
    await writeSynthetic(system, () => true);
    const env = { XDG_CACHE_HOME: xdg };
    expect(await locateFashionMnist({ env, download: false, systemDir: system })).toMatchObject({ origin: 'debian', dir: system });

    await writeSynthetic(cache);
    expect(await locateFashionMnist({ env, download: false, systemDir: system })).toMatchObject({ origin: 'cache', dir: cache });
  });

  it('fails with one error listing the three ways when nothing is found and download is off', async () => {
    const xdg = path.join(root, 'xdg');
    const e = await rejectsWith(locateFashionMnist({ env: { XDG_CACHE_HOME: xdg }, download: false, systemDir: missingSystem }), 'DATA_NOT_FOUND');
    expectThreeWays(e.message, path.join(xdg, 'graft', 'fashion-mnist'));
    expect(e.message).toContain(missingSystem);
    expect(e.message).toContain('downloading is off');
  });

  it('fails with one error listing the three ways when the download fails', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const xdg = path.join(root, 'xdg');
    const e = await rejectsWith(
      locateFashionMnist({ env: { XDG_CACHE_HOME: xdg }, systemDir: missingSystem, mirror: `http://127.0.0.1:${port}/` }),
      'DATA_NOT_FOUND',
    );
    expect(e.message).toContain('download failed');
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.message).toContain('--data-dir');
    expect(e.message).toContain('apt-get install dataset-fashion-mnist');
  });
});

describe('locateFashionMnist downloads', () => {
  let server: http.Server;
  let mirror: string;
  const requested: string[] = [];
  beforeAll(async () => {
    const train = fashionFiles([9, 0]);
    const bodies: Record<string, Uint8Array> = { '/train-images-idx3-ubyte.gz': gz(train.images), '/train-labels-idx1-ubyte.gz': gz(train.labels) };
    server = http.createServer((req, res) => {
      requested.push(req.url ?? '');
      const body = bodies[req.url ?? ''];
      res.writeHead(body ? 200 : 404);
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('downloads only the missing files and refuses ones that fail the official checksum', async () => {
    const xdg = path.join(root, 'xdg');
    const cache = path.join(xdg, 'graft', 'fashion-mnist');
    await writeSynthetic(cache);
    await rm(path.join(cache, 'train-labels-idx1-ubyte'));
    // What a download killed midway leaves: never taken for the file, deleted by the next download.
    await writeFile(path.join(cache, `.train-labels-idx1-ubyte.download-${deadPid()}-0123456789ab`), 'partial');
    await rejectsWith(locateFashionMnist({ env: { XDG_CACHE_HOME: xdg }, systemDir: missingSystem, download: false }), 'DATA_NOT_FOUND');
    const e = await rejectsWith(locateFashionMnist({ env: { XDG_CACHE_HOME: xdg }, systemDir: missingSystem, mirror }), 'DATA_NOT_FOUND');
    expect(requested).toEqual(['/train-labels-idx1-ubyte.gz']);
    expect(e.message).toContain('SHA-256');
    expect((await readdir(cache)).sort()).toEqual(['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte']);
  });
});

describe('loadFashionMnist', () => {
  it('loads a split from a data dir (checksums off for synthetic files)', async () => {
    const dir = path.join(root, 'data');
    await writeSynthetic(dir, (n) => n.includes('labels'));
    const train = await loadFashionMnist('train', { dataDir: dir, env: {}, verify: false });
    expect(Array.from(train.y)).toEqual([9, 0, 0, 3]);
    expect(train.source).toBe('fashion-mnist/train');
    const test = await loadFashionMnist('test', { dataDir: dir, env: {}, verify: false });
    expect(Array.from(test.y)).toEqual([1, 2]);
    expect(test.x.length).toBe(2 * 784);
  });

  it('refuses files that are not the official ones by default', async () => {
    const dir = path.join(root, 'data');
    await writeSynthetic(dir);
    const e = await rejectsWith(loadFashionMnist('test', { dataDir: dir, env: {} }), 'CHECKSUM_MISMATCH');
    expect(e.message).toContain(path.join(dir, 't10k-'));
    expect(e.message).toContain('expected');
  });
});

describe('loadFashionMnist with a damaged file', () => {
  it('names the damaged file', async () => {
    const dir = path.join(root, 'data');
    await writeSynthetic(dir);
    const labels = path.join(dir, 't10k-labels-idx1-ubyte');
    await writeFile(labels, fashionFiles([1, 2]).labels.subarray(0, 9));
    const e = await rejectsWith(loadFashionMnist('test', { dataDir: dir, env: {}, verify: false }), 'DATA_CORRUPT');
    expect(e.message).toContain(labels);
    expect(e.message).toContain('truncated');
  });
});
