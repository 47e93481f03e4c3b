import { describe, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { HOSTILE_SIDES, checkImage, imageFingerprint } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, MiB } from './harness.js';
import { formatSeeds, gifHotRanges } from './image-format-seeds.js';
import { BinaryMutator } from './mutate.js';

const SEEDS = formatSeeds(['gif-palette.gif', 'gif-transparent.gif', 'gif-interlaced.gif', 'gif-animated.gif', 'gif-grey.gif', 'gif-partial-transparent.gif']);
const MUTATORS = SEEDS.map((b) => new BinaryMutator({ hot: gifHotRanges(b), magicLength: 6, endian: 'little' }));

describe('fuzzing GIF decoding', () => {
  it('every mutation ends in an image or a DATA_CORRUPT error, within the memory its size justifies', async () => {
    await fuzz({
      name: 'GIF',
      seed: 113,
      sync: true,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        if (rng.next() < 0.1) {
          // The screen and the first frame both claim a hostile size (GIF's fields are 16-bit).
          const gif = SEEDS[k]!.slice();
          const v = new DataView(gif.buffer);
          const [w, h] = [HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]! & 0xffff, HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]! & 0xffff];
          v.setUint16(6, w, true);
          v.setUint16(8, h, true);
          const frame = gif.indexOf(0x2c, 13);
          if (frame > 0 && frame + 9 < gif.length) {
            v.setUint16(frame + 5, w, true);
            v.setUint16(frame + 7, h, true);
          }
          return { input: gif, what: `seed ${k}: screen and frame claim ${w}×${h}`, size: gif.length };
        }
        const m = MUTATORS[k]!.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => decodeImage(bytes, label),
      // LZW: a code of at least 3 bits stands for at most 4096 pixels, so ~11 000 pixels per byte,
      // each an index byte and 3 bytes of RGB.
      allowance: (size) => 8 * MiB + 44_000 * size,
      check: checkImage,
      fingerprint: imageFingerprint,
    });
  }, FUZZ_TIMEOUT_MS);
});
