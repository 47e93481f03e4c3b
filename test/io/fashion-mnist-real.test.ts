import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { classCounts } from '../../src/data/dataset.js';
import { FASHION_MNIST_FILES } from '../../src/data/fashion-mnist.js';
import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist, locateFashionMnist } from '../../src/io/dataset-files.js';

const present = existsSync(DEBIAN_FASHION_MNIST_DIR);
if (!present) {
  console.log(`fashion-mnist-real.test: skipped: ${DEBIAN_FASHION_MNIST_DIR} does not exist (install it with: apt-get install dataset-fashion-mnist)`);
}

describe('real Fashion-MNIST from the Debian package', () => {
  it.skipIf(!present)('has the official SHA-256 for each decompressed file', async () => {
    const found = await locateFashionMnist({ dataDir: DEBIAN_FASHION_MNIST_DIR, env: {}, download: false });
    for (const [key, spec] of Object.entries(FASHION_MNIST_FILES)) {
      const file = found.files[key as keyof typeof found.files];
      expect(path.basename(file).startsWith(spec.name)).toBe(true);
      const bytes = await readFile(file);
      const payload = file.endsWith('.gz') ? gunzipSync(bytes) : bytes;
      expect(createHash('sha256').update(payload).digest('hex')).toBe(spec.sha256);
    }
  });

  it.skipIf(!present)('loads 60 000 training and 10 000 test images', async () => {
    const opts = { dataDir: DEBIAN_FASHION_MNIST_DIR, env: {}, download: false };
    const train = await loadFashionMnist('train', opts);
    const test = await loadFashionMnist('test', opts);
    expect(train.y.length).toBe(60_000);
    expect(test.y.length).toBe(10_000);
    expect(train.x.length).toBe(60_000 * 784);
    expect(train.y[0]).toBe(9);
    expect(classCounts(train)).toEqual(new Array(10).fill(6000));
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
    let max = 0;
    for (const v of train.x) if (v > max) max = v;
    expect(max).toBe(255);
    expect(train.pixelRange).toBe('raw');
  });
});
