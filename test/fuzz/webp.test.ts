import { describe, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { HOSTILE_SIDES, checkImage, imageFingerprint } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, MiB } from './harness.js';
import { formatSeeds, webpHotRanges } from './image-format-seeds.js';
import { BinaryMutator } from './mutate.js';

const SEEDS = formatSeeds(['webp-lossy.webp', 'webp-lossless.webp', 'webp-alpha-lossy.webp', 'webp-alpha-lossless.webp', 'webp-animated.webp', 'webp-animated-offset.webp', 'exif-6.webp']);
const MUTATORS = SEEDS.map((b) => new BinaryMutator({ hot: webpHotRanges(b), magicLength: 4, endian: 'little' }));

/** Writes a hostile width and height where this seed's first chunk keeps them (VP8X canvas, VP8 or VP8L header). */
function claim(webp: Uint8Array, w: number, h: number): void {
  const type = String.fromCharCode(...webp.subarray(12, 16));
  const v = new DataView(webp.buffer);
  if (type === 'VP8X') {
    v.setUint16(24, (w - 1) & 0xffff, true);
    webp[26] = ((w - 1) >> 16) & 0xff;
    v.setUint16(27, (h - 1) & 0xffff, true);
    webp[29] = ((h - 1) >> 16) & 0xff;
  } else if (type === 'VP8 ') {
    v.setUint16(26, w & 0x3fff, true);
    v.setUint16(28, h & 0x3fff, true);
  } else v.setUint32(21, (((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14) | (webp[24]! & 0xf0) << 24) >>> 0, true);
}

describe('fuzzing WebP decoding', () => {
  it('every mutation ends in an image or a DATA_CORRUPT error, within the memory its size justifies', async () => {
    await fuzz({
      name: 'WebP',
      seed: 111,
      sync: true,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        if (rng.next() < 0.1) {
          const webp = SEEDS[k]!.slice();
          const [w, h] = [HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]!, HOSTILE_SIDES[rng.int(HOSTILE_SIDES.length)]!];
          claim(webp, w, h);
          return { input: webp, what: `seed ${k}: header claims ${w}×${h} (as its fields hold them)`, size: webp.length };
        }
        const m = MUTATORS[k]!.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => decodeImage(bytes, label),
      // Lossy: at most 4.8 macroblocks (1229 pixels) per byte of mode data, ~17 bytes each (libwebp's
      // RGBA and YUV rows, the copy, RGB). Lossless can legitimately code a 40-megapixel flat image in
      // a few hundred bytes; a damaged one fails before libwebp's output pages are touched, so RSS
      // stays low; the allowance is that of the lossy bound.
      allowance: (size) => 16 * MiB + 21_000 * size,
      check: checkImage,
      fingerprint: imageFingerprint,
    });
  }, FUZZ_TIMEOUT_MS);
});
