import { GraftError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { CIFAR10_CLASSES } from './task.js';

/**
 * Reader for CIFAR-10's official binary batches (`data_batch_1.bin` … `data_batch_5.bin`,
 * `test_batch.bin`). Each record is 1 label byte followed by 3072 pixel bytes: the 1024 red values,
 * then 1024 green, then 1024 blue, each plane 32×32 row-major. graft interleaves the planes into
 * height × width × channel order, the layout every other image source produces.
 */

export const CIFAR10_SIDE = 32;
export const CIFAR10_PLANE_BYTES = CIFAR10_SIDE * CIFAR10_SIDE;
/** 1 label byte + 3 colour planes. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_PLANE_BYTES;

/** One batch file's bytes and its name (used in error messages). */
export interface CifarBatch {
  readonly bytes: Uint8Array;
  readonly file: string;
}

function corrupt(file: string, problem: string): GraftError {
  return new GraftError(
    'DATA_CORRUPT',
    `${file}: ${problem}. The file is damaged or not a CIFAR-10 binary batch; download cifar-10-binary.tar.gz again from https://www.cs.toronto.edu/~kriz/cifar.html.`,
  );
}

/** Checks a batch's length and labels; returns its record count. */
export function checkCifarBatch(batch: CifarBatch): number {
  const { bytes, file } = batch;
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    const whole = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
    throw corrupt(
      file,
      `its length ${bytes.length} bytes is not a positive multiple of the ${CIFAR10_RECORD_BYTES}-byte record (${whole} whole records and ${bytes.length - whole * CIFAR10_RECORD_BYTES} bytes left over; truncated file?)`,
    );
  }
  const records = bytes.length / CIFAR10_RECORD_BYTES;
  for (let r = 0; r < records; r++) {
    const label = bytes[r * CIFAR10_RECORD_BYTES]!;
    if (label >= CIFAR10_CLASSES.length) {
      throw corrupt(file, `record ${r} has label ${label}, outside 0..${CIFAR10_CLASSES.length - 1}`);
    }
  }
  return records;
}

/**
 * Parses one or more batches (in the order given) into a raw-pixel Dataset with sample shape
 * [32, 32, 3] and CIFAR-10's class names. Every batch is validated before anything is allocated.
 */
export function parseCifar10Batches(batches: readonly CifarBatch[], source: string): Dataset {
  if (batches.length === 0) throw new GraftError('BAD_ARGUMENT', `CIFAR-10 ${source}: no batch files were given. Pass at least one data_batch_*.bin or test_batch.bin.`);
  const counts = batches.map(checkCifarBatch);
  const total = counts.reduce((a, b) => a + b, 0);
  const sample = 3 * CIFAR10_PLANE_BYTES;
  const x = new Float32Array(total * sample);
  const y = new Int32Array(total);
  let n = 0;
  batches.forEach(({ bytes }, b) => {
    for (let r = 0; r < counts[b]!; r++, n++) {
      const base = r * CIFAR10_RECORD_BYTES;
      y[n] = bytes[base]!;
      const red = base + 1;
      const out = n * sample;
      for (let p = 0; p < CIFAR10_PLANE_BYTES; p++) {
        x[out + 3 * p] = bytes[red + p]!;
        x[out + 3 * p + 1] = bytes[red + CIFAR10_PLANE_BYTES + p]!;
        x[out + 3 * p + 2] = bytes[red + 2 * CIFAR10_PLANE_BYTES + p]!;
      }
    }
  });
  return {
    x,
    y,
    sampleShape: [CIFAR10_SIDE, CIFAR10_SIDE, 3],
    classNames: CIFAR10_CLASSES.map((c) => c.name),
    pixelRange: 'raw',
    source,
  };
}
