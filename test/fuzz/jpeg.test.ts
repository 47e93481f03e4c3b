import { describe, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { encodeJpeg, gradient } from '../io/image-fixtures.js';
import { HOSTILE_SIDES, checkImage, imageFingerprint } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, MiB } from './harness.js';
import { JPEG_SEEDS } from './jpeg-seeds.js';
import { jpegFrameAt, jpegHotRanges } from './layouts.js';
import { BinaryMutator } from './mutate.js';

const SEEDS = [encodeJpeg(16, 12, gradient(16, 12)), ...Object.values(JPEG_SEEDS).map((b) => new Uint8Array(Buffer.from(b, 'base64')))];

const MUTATORS = SEEDS.map((j) => new BinaryMutator({ hot: jpegHotRanges(j), magicLength: 3, endian: 'big' }));

describe('fuzzing JPEG decoding', () => {
  it('every mutation ends in an image or a DATA_CORRUPT error, within the memory its size justifies', async () => {
    await fuzz({
      name: 'JPEG',
      seed: 104,
      sync: true,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        if (rng.next() < 0.1) {
          // A frame header claiming a huge (or empty) image over a few hundred bytes of scan data.
          const jpeg = SEEDS[k]!.slice();
          const sof = jpegFrameAt(jpeg);
          const [w, h] = [HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]! & 0xffff, HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]! & 0xffff];
          jpeg.set([h >> 8, h & 0xff, w >> 8, w & 0xff], sof + 5);
          return { input: jpeg, what: `seed ${k}: frame header claims ${w}×${h}`, size: jpeg.length };
        }
        const m = MUTATORS[k]!.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => decodeImage(bytes, label),
      // At least a bit per 8×8 block: 512 pixels per input byte, each a few bytes of coefficients and RGB.
      allowance: (size) => 8 * MiB + 8192 * size,
      check: checkImage,
      fingerprint: imageFingerprint,
    });
  }, FUZZ_TIMEOUT_MS);
});
