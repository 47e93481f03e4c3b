/**
 * One image file → `side`×`side` RGBA bytes, row-major: decoded by the browser (createImageBitmap,
 * in the worker), centre-cropped to a square and scaled on an OffscreenCanvas (graft's default
 * 'crop' fit). Only the small result is kept, so memory grows with the input size, not with the
 * photos' size; the caller keeps its RGB bytes (byte-rows.ts), not floats.
 */
export async function decodeToRgba(file: Blob, side: number): Promise<Uint8ClampedArray> {
  const bitmap = await createImageBitmap(file);
  try {
    const crop = Math.min(bitmap.width, bitmap.height);
    const ctx = context(side);
    ctx.clearRect(0, 0, side, side);
    ctx.drawImage(bitmap, (bitmap.width - crop) / 2, (bitmap.height - crop) / 2, crop, crop, 0, 0, side, side);
    return ctx.getImageData(0, 0, side, side).data;
  } finally {
    bitmap.close();
  }
}

/** One image file → `side`×`side` RGB in [0, 1], row-major [side, side, 3] (for a single prediction). */
export async function decodeToPixels(file: Blob, side: number): Promise<Float32Array> {
  const rgba = await decodeToRgba(file, side);
  const out = new Float32Array(side * side * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    out[j] = rgba[i]! / 255;
    out[j + 1] = rgba[i + 1]! / 255;
    out[j + 2] = rgba[i + 2]! / 255;
  }
  return out;
}

/** One canvas per size, reused: thousands of images would otherwise make thousands of canvases for the collector. */
let canvas: { side: number; ctx: OffscreenCanvasRenderingContext2D } | undefined;
function context(side: number): OffscreenCanvasRenderingContext2D {
  if (canvas?.side === side) return canvas.ctx;
  const ctx = new OffscreenCanvas(side, side).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('OffscreenCanvas 2d context unavailable in this browser');
  ctx.imageSmoothingQuality = 'high';
  canvas = { side, ctx };
  return ctx;
}
