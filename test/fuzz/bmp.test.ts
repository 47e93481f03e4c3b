import { describe, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { HOSTILE_SIDES, checkImage, imageFingerprint } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, MiB } from './harness.js';
import { formatSeeds } from './image-format-seeds.js';
import { BinaryMutator } from './mutate.js';

const SEEDS = formatSeeds(['bmp-1.bmp', 'bmp-4.bmp', 'bmp-8.bmp', 'bmp-16-555.bmp', 'bmp-16-565.bmp', 'bmp-24-topdown.bmp', 'bmp-32-bitfields.bmp', 'bmp-32-v5.bmp']);
// The file and DIB headers, the masks and the start of the palette hold every size and offset.
const MUTATORS = SEEDS.map(() => new BinaryMutator({ hot: [[0, 70]], magicLength: 2, endian: 'little' }));

describe('fuzzing BMP decoding', () => {
  it('every mutation ends in an image or a DATA_CORRUPT error, within the memory its size justifies', async () => {
    await fuzz({
      name: 'BMP',
      seed: 112,
      sync: true,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        if (rng.next() < 0.1) {
          const bmp = SEEDS[k]!.slice();
          const [w, h] = [HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]!, HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]!];
          const sign = rng.next() < 0.5 ? -1 : 1; // top-down or bottom-up
          new DataView(bmp.buffer).setInt32(18, w | 0, true);
          new DataView(bmp.buffer).setInt32(22, (sign * h) | 0, true);
          return { input: bmp, what: `seed ${k}: header claims ${w}×${sign * h}`, size: bmp.length };
        }
        const m = MUTATORS[k]!.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => decodeImage(bytes, label),
      // Uncompressed: every row is in the file, so at most 8 pixels (1-bit) per byte, 3 bytes of RGB each.
      allowance: (size) => 8 * MiB + 24 * size,
      check: checkImage,
      fingerprint: imageFingerprint,
    });
  }, FUZZ_TIMEOUT_MS);
});
