import { describe, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { encodePng, gradient } from '../io/image-fixtures.js';
import { HOSTILE_SIDES, checkImage, imageFingerprint } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, MiB, type FuzzCase } from './harness.js';
import { BinaryMutator, type Rng } from './mutate.js';
import { buildPng, fixCrcs, pngHotRanges } from './png-builder.js';

// What pngjs writes (RGB, grey) and what it only reads (palette with tRNS, 16-bit, grey+alpha, 1-bit, Adam7).
const SEEDS = [
  encodePng(16, 12, gradient(16, 12)),
  encodePng(9, 7, gradient(9, 7), true),
  buildPng({ width: 13, height: 11, bitDepth: 4, colorType: 3 }),
  buildPng({ width: 10, height: 9, bitDepth: 16, colorType: 6 }),
  buildPng({ width: 17, height: 5, bitDepth: 8, colorType: 4 }),
  buildPng({ width: 33, height: 3, bitDepth: 1, colorType: 0 }),
  buildPng({ width: 19, height: 21, bitDepth: 8, colorType: 2, interlace: true }),
  buildPng({ width: 11, height: 6, bitDepth: 2, colorType: 3, interlace: true }),
];
const MUTATORS = SEEDS.map((png) => new BinaryMutator({ hot: pngHotRanges(png), magicLength: 8, endian: 'big' }));

/** A mutated seed; one case in ten a header claiming a huge (or empty) image over the seed's few hundred bytes. */
function make(rng: Rng): FuzzCase<Uint8Array> {
  const k = rng.int(SEEDS.length);
  if (rng.next() < 0.1) {
    // A header claiming a huge (or empty) image over a few hundred bytes of data: the allocation must not follow the claim.
    const png = SEEDS[k]!.slice();
    const view = new DataView(png.buffer);
    const [w, h] = [HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]!, HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]!];
    view.setUint32(16, w);
    view.setUint32(20, h);
    return { input: fixCrcs(png), what: `seed ${k}: IHDR claims ${w}×${h}, CRCs repaired`, size: png.length };
  }
  const m = MUTATORS[k]!.mutate(SEEDS[k]!, rng);
  // Half the cases get valid CRCs again, so the damage reaches the decoder instead of stopping at the checksum.
  const fix = rng.next() < 0.5;
  const input = fix ? fixCrcs(m.value) : m.value;
  return { input, what: `seed ${k}: ${m.what}${fix ? ', CRCs repaired' : ''}`, size: input.length };
}

describe('fuzzing PNG decoding', () => {
  it('every mutation ends in an image or a DATA_CORRUPT error, within the memory its size justifies', async () => {
    await fuzz({
      name: 'PNG',
      seed: 103,
      sync: true,
      make,
      run: (bytes, label) => decodeImage(bytes, label),
      // Deflate tops out at 1032:1 and a 1-bit pixel becomes 4 bytes of RGBA in pngjs: 33 000 bytes per input byte at worst.
      allowance: (size) => 8 * MiB + 33_000 * size,
      check: checkImage,
      fingerprint: imageFingerprint,
    });
  }, FUZZ_TIMEOUT_MS);
});
