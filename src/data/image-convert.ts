import { GraftError } from '../errors.js';
import { type RawImage, resizeBilinear, toGrayscale } from './image.js';

/**
 * Channel conversion and fitting of one decoded image to a dataset's sample shape. Values stay
 * on the 0..255 scale; nothing here normalises.
 */

/** Three channels: grey is copied into R, G and B; alpha (a 2nd or 4th channel) is dropped. */
export function toRgb(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const pixels = img.width * img.height;
  const c = img.channels;
  if (c !== 1 && c !== 2 && c !== 4) {
    throw new GraftError('BAD_ARGUMENT', `toRgb: image has ${c} channels; expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).`);
  }
  const out = img.data instanceof Uint8Array ? new Uint8Array(pixels * 3) : new Float32Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const o = i * c;
    if (c === 4) {
      out[3 * i] = img.data[o]!;
      out[3 * i + 1] = img.data[o + 1]!;
      out[3 * i + 2] = img.data[o + 2]!;
    } else {
      const v = img.data[o]!;
      out[3 * i] = v;
      out[3 * i + 1] = v;
      out[3 * i + 2] = v;
    }
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

/** One channel (luma); a grey + alpha image keeps its grey channel. */
function toOneChannel(img: RawImage): RawImage {
  if (img.channels !== 2) return toGrayscale(img);
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[2 * i]!;
  return { width: img.width, height: img.height, channels: 1, data: out };
}

/**
 * Converts `img` to `channels` (1 = luma, 3 = RGB) and resizes it bilinearly to width × height.
 * Channels are reduced before resizing and expanded after it, so the resize touches the fewest values.
 */
export function fitImage(img: RawImage, width: number, height: number, channels: 1 | 3): RawImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new GraftError('BAD_ARGUMENT', `fitImage: target size ${width}×${height} is not a positive whole number of pixels. Pass e.g. 64, 64.`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new GraftError('BAD_ARGUMENT', `fitImage: channels must be 1 or 3, received ${String(channels)}.`);
  }
  if (channels === 1) return resizeBilinear(toOneChannel(img), width, height);
  const reduced = img.channels === 4 ? toRgb(img) : img; // drop alpha before the resize
  return toRgb(resizeBilinear(reduced, width, height));
}

/** Rounds and clamps to 0..255 bytes (what the decode cache stores). */
export function toBytes(data: ArrayLike<number>, out: Uint8Array = new Uint8Array(data.length), offset = 0): Uint8Array {
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(data[i]!);
    out[offset + i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
