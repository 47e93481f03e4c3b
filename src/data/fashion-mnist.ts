import { GraftError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { parseIdx } from './idx.js';
import type { ClassInfo } from './task.js';

/** Fashion-MNIST's ten classes in label order: a stable slug for specs and the display name. */
export const FASHION_MNIST_CLASSES: readonly ClassInfo[] = [
  { slug: 'tshirt-top', name: 'T-shirt/top' },
  { slug: 'trouser', name: 'Trouser' },
  { slug: 'pullover', name: 'Pullover' },
  { slug: 'dress', name: 'Dress' },
  { slug: 'coat', name: 'Coat' },
  { slug: 'sandal', name: 'Sandal' },
  { slug: 'shirt', name: 'Shirt' },
  { slug: 'sneaker', name: 'Sneaker' },
  { slug: 'bag', name: 'Bag' },
  { slug: 'ankle-boot', name: 'Ankle boot' },
];

export type FashionMnistFileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** File names (without `.gz`) and the SHA-256 of each decompressed file. */
export const FASHION_MNIST_FILES: Readonly<Record<FashionMnistFileKey, { readonly name: string; readonly sha256: string }>> = {
  trainImages: { name: 'train-images-idx3-ubyte', sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
  trainLabels: { name: 'train-labels-idx1-ubyte', sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
  testImages: { name: 't10k-images-idx3-ubyte', sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
  testLabels: { name: 't10k-labels-idx1-ubyte', sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
};

/** The canonical mirror; files are `<name>.gz` under it. */
export const FASHION_MNIST_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

const SIDE = 28;

/** Builds a Dataset from the image and label IDX files (raw or gzip) of one split. */
export function fashionMnistFromIdx(images: Uint8Array, labels: Uint8Array, source: string): Dataset {
  const img = parseIdx(images, `${source} images`);
  const lab = parseIdx(labels, `${source} labels`);
  const [n, h, w] = img.dims;
  if (img.dims.length !== 3 || h !== SIDE || w !== SIDE || n === undefined) {
    throw new GraftError(
      'DATA_CORRUPT',
      `${source} images: dims [${img.dims.join(', ')}] are not [n, 28, 28]. Check that the images file is a Fashion-MNIST images file (e.g. train-images-idx3-ubyte), not a labels file.`,
    );
  }
  if (lab.dims.length !== 1 || lab.dims[0] !== n) {
    throw new GraftError(
      'DATA_CORRUPT',
      `${source}: labels dims [${lab.dims.join(', ')}] do not match ${n} images. Use the labels file of the same split (train-labels with train-images, t10k-labels with t10k-images).`,
    );
  }
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = lab.data[i]!;
    if (label >= FASHION_MNIST_CLASSES.length) {
      throw new GraftError(
        'DATA_CORRUPT',
        `${source} labels: label ${label} at index ${i} is not a Fashion-MNIST class (0..9). The labels file is damaged; delete it and download it again.`,
      );
    }
    y[i] = label;
  }
  // Typed-array construction converts element-wise (0..255 stay exact in float32).
  const x = new Float32Array(img.data);
  return {
    x,
    sampleShape: [SIDE, SIDE],
    y,
    classNames: FASHION_MNIST_CLASSES.map((c) => c.name),
    pixelRange: 'raw',
    source,
  };
}
