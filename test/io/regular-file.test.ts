import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { loadBackboneWeights } from '../../src/io/backbone-weights.js';
import { readCheckpointHeader } from '../../src/io/checkpoint-dir.js';
import { loadCifar10 } from '../../src/io/cifar10-files.js';
import { loadFashionMnist } from '../../src/io/dataset-files.js';
import { readDecodeCache } from '../../src/io/decode-cache.js';
import { loadImageFolder } from '../../src/io/image-folder.js';
import { READ_LIMITS, readRegularFile } from '../../src/io/regular-file.js';
import { loadModel, readRunInfo } from '../../src/io/run-dir.js';
import { buildMlp } from '../../src/models/mlp.js';
import { disposeModel } from '../../src/models/dispose.js';
import { predictFiles } from '../../src/workflows/predict.js';
import { loadExperiment } from '../../src/workflows/config/load.js';
import { encodePng, gradient } from './image-fixtures.js';
import { useBackend } from '../helpers.js';

/**
 * Paths that are not regular files, at every kind of read site: each is refused up front with a
 * GraftError naming the path and what it is, quickly (a FIFO used to hang forever), without reading
 * (/dev/zero used to grow memory past 8 GB), and leaving every file that was there untouched.
 */

beforeAll(useBackend);
const root = mkdtempSync(path.join(tmpdir(), 'graft-regular-'));
const fifos: string[] = [];
const servers: Server[] = [];
const MiB = 2 ** 20;

afterEach(() => {
  // A reader the old code left blocked in open() on a FIFO is released by a writer appearing.
  for (const f of fifos.splice(0)) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is reading it, as it should be.
    }
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(root, { recursive: true, force: true });
});

function mkfifo(p: string): string {
  execFileSync('mkfifo', [p]);
  fifos.push(p);
  return p;
}

async function socketAt(p: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(p, resolve));
}

/** A folder for one case, with one valid image beside whatever the case adds. */
function imageFolder(name: string): { dir: string; cls: string } {
  const dir = path.join(root, name);
  const cls = path.join(dir, 'cat');
  mkdirSync(cls, { recursive: true });
  writeFileSync(path.join(cls, 'a-ok.png'), encodePng(4, 4, gradient(4, 4)));
  return { dir, cls };
}

/** Every entry under `dir`: type, and for regular files their SHA-256 (size and mtime for the sparse 3 GiB one). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    const st = lstatSync(p);
    out[name] = st.isFile() ? (st.size > 64 * MiB ? `${st.size} ${st.mtimeMs}` : createHash('sha256').update(readFileSync(p)).digest('hex')) : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'dir';
  }
  return out;
}

/**
 * Runs `load` and returns its GraftError, checking that it came within 3 s, that memory grew by
 * less than 64 MiB, and that nothing under `dir` changed.
 */
async function refused(dir: string, load: () => Promise<unknown>): Promise<GraftError> {
  const before = snapshot(dir);
  const rss = process.memoryUsage().rss;
  const t0 = Date.now();
  let error: unknown;
  const hang = new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s: it hangs')), 3000).unref());
  try {
    await Promise.race([load(), hang]);
  } catch (e) {
    error = e;
  }
  expect(Date.now() - t0).toBeLessThan(3000);
  expect(process.memoryUsage().rss - rss).toBeLessThan(64 * MiB);
  expect(snapshot(dir)).toEqual(before);
  if (!(error instanceof GraftError)) throw new Error(`expected a GraftError, got ${String(error)}`);
  return error;
}

describe('only regular files are read', () => {
  it('control: a case folder without the hostile entry loads', async () => {
    const { dir } = imageFolder('control');
    const ds = await loadImageFolder(dir, { cache: false });
    expect(ds.y.length).toBe(1);
    expect(ds.sampleShape).toEqual([4, 4, 3]);
  });

  it('a FIFO named img.jpg in an image folder is refused, not waited on', async () => {
    const { dir, cls } = imageFolder('fifo');
    mkfifo(path.join(cls, 'img.jpg'));
    const e = await refused(dir, () => loadImageFolder(dir, { cache: false }));
    expect(e.code).toBe('DATA_NOT_FOUND');
    expect(e.message).toContain(`${path.join(cls, 'img.jpg')} is a FIFO (named pipe), not a regular file; graft reads only regular files. Pass an image file`);
  });

  it('a FIFO given to predict as a PNG is refused', async () => {
    const dir = path.join(root, 'fifo-png');
    mkdirSync(dir);
    const file = mkfifo(path.join(dir, 'x.png'));
    const model = buildMlp({ inputShape: [2, 2], hidden: 2, classes: 2 });
    try {
      const e = await refused(dir, async () => {
        const { error } = (await predictFiles(model, [file])).results[0]!;
        if (error) throw new GraftError(error.code, error.message);
      });
      expect(e.message).toMatch(/x\.png is a FIFO \(named pipe\), not a regular file/);
    } finally {
      disposeModel(model);
    }
  });

  it('a FIFO as an experiment file is refused', async () => {
    const dir = path.join(root, 'fifo-yaml');
    mkdirSync(dir);
    const file = mkfifo(path.join(dir, 'exp.yaml'));
    const e = await refused(dir, () => loadExperiment(file));
    expect(e).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/exp\.yaml is a FIFO \(named pipe\), not a regular file/) });
  });

  it('a symlink to /dev/zero as an image is refused without reading it', async () => {
    const { dir, cls } = imageFolder('zero-image');
    symlinkSync('/dev/zero', path.join(cls, 'zero.png'));
    const e = await refused(dir, () => loadImageFolder(dir, { cache: false }));
    expect(e.message).toContain(`${path.join(cls, 'zero.png')} (a symbolic link to /dev/zero) is a character device, not a regular file`);
  });

  it('a symlink to /dev/zero as model.json is refused', async () => {
    const dir = path.join(root, 'zero-model');
    mkdirSync(dir);
    symlinkSync('/dev/zero', path.join(dir, 'model.json'));
    const e = await refused(dir, () => loadModel(dir));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/model\.json \(a symbolic link to \/dev\/zero\) is a character device, not a regular file/) });
  });

  it('a symlink to /dev/zero as a Keras file is refused', async () => {
    const dir = path.join(root, 'zero-keras');
    mkdirSync(dir);
    symlinkSync('/dev/zero', path.join(dir, 'm.keras'));
    const e = await refused(dir, () => loadModel(path.join(dir, 'm.keras')));
    expect(e.message).toMatch(/m\.keras \(a symbolic link to \/dev\/zero\) is a character device, not a regular file/);
  });

  it('a FIFO as backbone weights (--weights FILE.h5) is refused', async () => {
    const dir = path.join(root, 'fifo-weights');
    mkdirSync(dir);
    const file = mkfifo(path.join(dir, 'vgg16.h5'));
    const model = buildMlp({ inputShape: [2, 2], hidden: 2, classes: 2 });
    try {
      const e = await refused(dir, () => loadBackboneWeights(model, file));
      expect(e.message).toMatch(/vgg16\.h5 is a FIFO \(named pipe\), not a regular file.*Pass a Keras \.keras or \.h5 model file/);
    } finally {
      disposeModel(model);
    }
  });

  it('a symlink to /dev/zero as an IDX file given to predict is refused', async () => {
    const dir = path.join(root, 'zero-idx');
    mkdirSync(dir);
    symlinkSync('/dev/zero', path.join(dir, 'images.idx'));
    const model = buildMlp({ inputShape: [28, 28], hidden: 4, classes: 3 });
    try {
      // predict reports a bad input in its entry (the others are still predicted): rethrown here to check it.
      const e = await refused(dir, async () => {
        const { error } = (await predictFiles(model, [path.join(dir, 'images.idx')])).results[0]!;
        if (error) throw new GraftError(error.code, error.message);
      });
      expect(e).toMatchObject({ code: 'DATA_NOT_FOUND', message: expect.stringMatching(/images\.idx \(a symbolic link to \/dev\/zero\) is a character device, not a regular file.*Pass an image \(PNG, JPEG, WebP, BMP, GIF\) or an IDX images file/) });
    } finally {
      disposeModel(model);
    }
  });

  it('a symlink to /dev/zero as a Fashion-MNIST file is refused, not taken for missing', async () => {
    const dir = path.join(root, 'zero-fmnist');
    mkdirSync(dir);
    for (const n of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(path.join(dir, n), 'x');
    symlinkSync('/dev/zero', path.join(dir, 'train-images-idx3-ubyte'));
    const e = await refused(dir, () => loadFashionMnist('train', { dataDir: dir, download: false, verify: false }));
    expect(e.message).toMatch(/train-images-idx3-ubyte \(a symbolic link to \/dev\/zero\) is a character device, not a regular file/);
  });

  it('a FIFO as a CIFAR-10 batch is refused', async () => {
    const dir = path.join(root, 'fifo-cifar');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'test_batch.bin'), new Uint8Array(3073));
    const batch = path.join(dir, 'data_batch_1.bin');
    for (const n of [2, 3, 4, 5]) writeFileSync(path.join(dir, `data_batch_${n}.bin`), new Uint8Array(3073));
    mkfifo(batch);
    const e = await refused(dir, () => loadCifar10('train', { dataDir: dir }));
    expect(e.message).toContain(`${batch} is a FIFO (named pipe), not a regular file`);
  });

  it('a FIFO in the decode cache is refused, not deleted or replaced', async () => {
    const dir = path.join(root, 'fifo-cache');
    mkdirSync(dir);
    mkfifo(path.join(dir, 'abc.bin'));
    const e = await refused(dir, () => readDecodeCache(dir, 'abc'));
    expect(e.message).toMatch(/abc\.bin is a FIFO \(named pipe\), not a regular file/);
  });

  it('a FIFO as run.json or checkpoint.json is refused', async () => {
    const dir = path.join(root, 'fifo-run');
    mkdirSync(dir);
    mkfifo(path.join(dir, 'run.json'));
    mkfifo(path.join(dir, 'checkpoint.json'));
    expect(await refused(dir, () => readRunInfo(path.join(dir, 'run.json')))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/run\.json is a FIFO/) });
    expect(await refused(dir, () => readCheckpointHeader(dir))).toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/checkpoint\.json is a FIFO/) });
  });

  it('a socket named like an image is refused', async () => {
    const { dir, cls } = imageFolder('socket');
    await socketAt(path.join(cls, 'sock.png'));
    const e = await refused(dir, () => loadImageFolder(dir, { cache: false }));
    expect(e.message).toContain(`${path.join(cls, 'sock.png')} is a socket, not a regular file`);
  });

  it('a symlink loop is refused with a clear message', async () => {
    const { dir, cls } = imageFolder('loop');
    symlinkSync('b.jpg', path.join(cls, 'a.jpg'));
    symlinkSync('a.jpg', path.join(cls, 'b.jpg'));
    const e = await refused(dir, () => loadImageFolder(dir, { cache: false }));
    expect(e.message).toMatch(/cat\/(a|b)\.jpg is a symbolic link loop/);
  });

  it('a symlink loop given as the model is refused with a clear message', async () => {
    const dir = path.join(root, 'loop-model');
    mkdirSync(dir);
    symlinkSync('b.keras', path.join(dir, 'a.keras'));
    symlinkSync('a.keras', path.join(dir, 'b.keras'));
    const e = await refused(dir, () => loadModel(path.join(dir, 'a.keras')));
    expect(e).toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/a\.keras is a symbolic link loop/) });
  });

  it('a 3 GiB image is refused before reading, naming its size and the limit', async () => {
    const { dir, cls } = imageFolder('huge');
    const file = path.join(cls, 'huge.jpg');
    const fd = openSync(file, 'w');
    try {
      execFileSync('truncate', ['-s', '3G', file]); // sparse: no disk used
    } finally {
      closeSync(fd);
    }
    const e = await refused(dir, () => loadImageFolder(dir, { cache: false }));
    expect(e.message).toContain(`${file} is 3 GiB (3221225472 bytes), more than the 256 MiB graft reads for image file`);
  });

  it('reads a regular file (also through a symlink) up to its stat size', async () => {
    const dir = path.join(root, 'plain');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'f.bin'), 'hello');
    symlinkSync('f.bin', path.join(dir, 'link.bin'));
    const opts = { maxBytes: READ_LIMITS.image, expected: 'a file', code: 'DATA_NOT_FOUND' as const };
    expect((await readRegularFile(path.join(dir, 'link.bin'), opts)).toString()).toBe('hello');
    await expect(readRegularFile(path.join(dir, 'f.bin'), { ...opts, maxBytes: 4 })).rejects.toMatchObject({ code: 'DATA_NOT_FOUND', message: expect.stringMatching(/f\.bin is 5 bytes, more than the 4 bytes graft reads for file/) });
    await expect(readRegularFile(path.join(dir, 'missing.bin'), opts)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
