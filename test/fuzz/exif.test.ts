import { describe, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { checkImage, imageFingerprint } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, MiB } from './harness.js';
import { formatSeeds } from './image-format-seeds.js';
import { BinaryMutator } from './mutate.js';

// EXIF is read from every JPEG, PNG and WebP: damage there must never fail (or turn) an image
// wrongly. Seeds carry orientations 3, 6 and 8; mutations aim at the EXIF block.
const SEEDS = formatSeeds(['exif-6.jpg', 'exif-8.jpg', 'exif-3.webp', 'exif-6.webp']);

/** The EXIF block: after "Exif\0\0" in a JPEG's APP1, or the payload of a WebP's EXIF chunk. */
function exifRange(bytes: Uint8Array): [number, number] {
  const text = Buffer.from(bytes).toString('latin1');
  const at = Math.max(text.indexOf('Exif\0\0'), text.indexOf('EXIF'));
  if (at < 0) throw new Error('seed without EXIF');
  return [at, at + 48];
}

const MUTATORS = SEEDS.map((b) => new BinaryMutator({ hot: [exifRange(b)], magicLength: 3, endian: 'big' }));

describe('fuzzing EXIF orientation', () => {
  it('every mutation ends in an image or a DATA_CORRUPT error, within the memory its size justifies', async () => {
    await fuzz({
      name: 'EXIF (JPEG, WebP)',
      seed: 114,
      sync: true,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        const m = MUTATORS[k]!.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => decodeImage(bytes, label),
      allowance: (size) => 8 * MiB + 21_000 * size,
      check: checkImage,
      fingerprint: imageFingerprint,
    });
  }, FUZZ_TIMEOUT_MS);
});
