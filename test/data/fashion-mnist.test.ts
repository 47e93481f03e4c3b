import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, fashionMnistFromIdx } from '../../src/data/fashion-mnist.js';
import { fashionFiles, gz, idxBytes } from './idx-fixtures.js';

describe('fashionMnistFromIdx', () => {
  it('builds a raw 28×28 dataset with the ten class names', () => {
    const f = fashionFiles([9, 0, 5]);
    const ds = fashionMnistFromIdx(f.images, gz(f.labels), 'fm/test');
    expect(Array.from(ds.y)).toEqual([9, 0, 5]);
    expect(ds.sampleShape).toEqual([28, 28]);
    expect(ds.pixelRange).toBe('raw');
    expect(ds.source).toBe('fm/test');
    expect(ds.x.length).toBe(3 * 784);
    expect(ds.x[784 * 2]).toBe(5);
    expect(ds.x[783]).toBe(255);
    expect(ds.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });

  it('refuses images that are not [n, 28, 28]', () => {
    expect(() => fashionMnistFromIdx(idxBytes([2, 28, 27]), idxBytes([2]), 's')).toThrow(/dims \[2, 28, 27\] are not \[n, 28, 28\]/);
    expect(() => fashionMnistFromIdx(idxBytes([2]), idxBytes([2]), 's')).toThrow(/not a labels file/);
  });

  it('refuses label and image counts that disagree', () => {
    const f = fashionFiles([1, 2, 3]);
    expect(() => fashionMnistFromIdx(f.images, idxBytes([2], [1, 2]), 's')).toThrow(/labels dims \[2\] do not match 3 images/);
  });

  it('refuses labels outside 0..9', () => {
    const f = fashionFiles([1, 2]);
    expect(() => fashionMnistFromIdx(f.images, idxBytes([2], [1, 10]), 's')).toThrow(/label 10 at index 1/);
  });

  it('has the class slugs and file names graft documents', () => {
    expect(FASHION_MNIST_CLASSES.map((c) => c.slug)).toEqual(['tshirt-top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot']);
    expect(FASHION_MNIST_FILES.testLabels.name).toBe('t10k-labels-idx1-ubyte');
    for (const f of Object.values(FASHION_MNIST_FILES)) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
