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
 * How an image whose aspect ratio differs from the target's is fitted:
 * - `crop`: the largest centred crop with the target's aspect ratio, then a bilinear resize
 *   (Keras's `smart_resize`, same integer arithmetic, so both crop the same pixels);
 * - `squash`: a bilinear resize of the whole image, stretching it (what runs without a recorded mode used);
 * - `pad`: the whole image scaled to fit inside the target, centred, the rest filled with zeros
 *   (black); an odd leftover pixel goes to the bottom / right edge.
 */
export type ResizeMode = 'crop' | 'squash' | 'pad';
export const RESIZE_MODES: readonly ResizeMode[] = ['crop', 'squash', 'pad'];

/** Rows y0..y0+h-1 and columns x0..x0+w-1 of `img`. */
function cropImage(img: RawImage, x0: number, y0: number, w: number, h: number): RawImage {
  if (x0 === 0 && y0 === 0 && w === img.width && h === img.height) return img;
  const c = img.channels;
  const out = img.data instanceof Uint8Array ? new Uint8Array(w * h * c) : new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * img.width + x0) * c;
    out.set(img.data.subarray(from, from + w * c), y * w * c);
  }
  return { width: w, height: h, channels: c, data: out };
}

/** Keras `smart_resize`'s crop box: int() truncation of the float quotients, at least 1 pixel. */
export function centreCropBox(width: number, height: number, targetWidth: number, targetHeight: number): { x: number; y: number; width: number; height: number } {
  const cropH = Math.max(Math.min(height, Math.trunc((width * targetHeight) / targetWidth)), 1);
  const cropW = Math.max(Math.min(width, Math.trunc((height * targetWidth) / targetHeight)), 1);
  return { x: Math.trunc((width - cropW) / 2), y: Math.trunc((height - cropH) / 2), width: cropW, height: cropH };
}

/** Scales `img` to fit inside width × height keeping its aspect ratio, centred on zeros. */
function letterbox(img: RawImage, width: number, height: number): RawImage {
  const scale = Math.min(width / img.width, height / img.height);
  const w = Math.min(width, Math.max(1, Math.round(img.width * scale)));
  const h = Math.min(height, Math.max(1, Math.round(img.height * scale)));
  const inner = resizeBilinear(img, w, h);
  if (w === width && h === height) return inner;
  const c = img.channels;
  const out = new Float32Array(width * height * c);
  const x0 = Math.floor((width - w) / 2);
  const y0 = Math.floor((height - h) / 2);
  for (let y = 0; y < h; y++) out.set(inner.data.subarray(y * w * c, (y + 1) * w * c), ((y0 + y) * width + x0) * c);
  return { width, height, channels: c, data: out };
}

function resizeTo(img: RawImage, width: number, height: number, mode: ResizeMode): RawImage {
  if (mode === 'squash') return resizeBilinear(img, width, height);
  if (mode === 'pad') return letterbox(img, width, height);
  const box = centreCropBox(img.width, img.height, width, height);
  return resizeBilinear(cropImage(img, box.x, box.y, box.width, box.height), width, height);
}

/**
 * Converts `img` to `channels` (1 = luma, 3 = RGB) and fits it to width × height (`mode`, default
 * `squash`, see ResizeMode). Channels are reduced before resizing and expanded after it, so the
 * resize touches the fewest values.
 */
export function fitImage(img: RawImage, width: number, height: number, channels: 1 | 3, mode: ResizeMode = 'squash'): RawImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new GraftError('BAD_ARGUMENT', `fitImage: target size ${width}×${height} is not a positive whole number of pixels. Pass e.g. 64, 64.`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new GraftError('BAD_ARGUMENT', `fitImage: channels must be 1 or 3, received ${String(channels)}.`);
  }
  if (!RESIZE_MODES.includes(mode)) {
    throw new GraftError('BAD_ARGUMENT', `fitImage: resize mode must be one of ${RESIZE_MODES.join(', ')}, received ${JSON.stringify(mode)}.`);
  }
  if (channels === 1) return resizeTo(toOneChannel(img), width, height, mode);
  const reduced = img.channels === 4 ? toRgb(img) : img; // drop alpha before the resize
  return toRgb(resizeTo(reduced, width, height, mode));
}

/** Rounds and clamps to 0..255 bytes (what the decode cache stores). */
export function toBytes(data: ArrayLike<number>, out: Uint8Array = new Uint8Array(data.length), offset = 0): Uint8Array {
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(data[i]!);
    out[offset + i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
