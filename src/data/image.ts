/** A decoded image: row-major pixels, `channels` values each, 0..255. */
export interface RawImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Float32Array;
}

/** Luma (ITU-R BT.601 weights, as PIL's "L" mode); alpha is ignored. */
export function toGrayscale(img: RawImage): RawImage {
  if (img.channels === 1) return img;
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) {
    const o = i * img.channels;
    out[i] = img.channels >= 3 ? 0.299 * img.data[o]! + 0.587 * img.data[o + 1]! + 0.114 * img.data[o + 2]! : img.data[o]!;
  }
  return { width: img.width, height: img.height, channels: 1, data: out };
}

/** Bilinear resize (align-corners off, pixel centres at +0.5, as TF's resize_bilinear with half_pixel_centers). */
export function resizeBilinear(img: RawImage, width: number, height: number): RawImage {
  if (img.width === width && img.height === height) return img;
  const c = img.channels;
  const out = new Float32Array(width * height * c);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const p = (yy: number, xx: number): number => img.data[(yy * img.width + xx) * c + k]!;
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[(y * width + x) * c + k] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { width, height, channels: c, data: out };
}
