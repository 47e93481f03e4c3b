/**
 * One image file → `side`×`side` RGB in [0, 1], row-major [side, side, 3]: decoded by the browser
 * (createImageBitmap, in the worker), centre-cropped to a square and scaled on an OffscreenCanvas
 * (graft's default 'crop' fit). Only the small result is kept, so memory grows with the input size,
 * not with the photos' size.
 */
export async function decodeToPixels(file: Blob, side: number): Promise<Float32Array> {
  const bitmap = await createImageBitmap(file);
  try {
    const crop = Math.min(bitmap.width, bitmap.height);
    const canvas = new OffscreenCanvas(side, side);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('OffscreenCanvas 2d context unavailable in this browser');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, (bitmap.width - crop) / 2, (bitmap.height - crop) / 2, crop, crop, 0, 0, side, side);
    const rgba = ctx.getImageData(0, 0, side, side).data;
    const out = new Float32Array(side * side * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      out[j] = rgba[i]! / 255;
      out[j + 1] = rgba[i + 1]! / 255;
      out[j + 2] = rgba[i + 2]! / 255;
    }
    return out;
  } finally {
    bitmap.close();
  }
}
