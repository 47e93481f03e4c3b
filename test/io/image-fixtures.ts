import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A width × height RGB image whose pixel (x, y) is (x * 16, y * 16, 128). */
export function gradient(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) rgb.set([(x * 16) % 256, (y * 16) % 256, 128], (y * width + x) * 3);
  return rgb;
}

export function encodePng(width: number, height: number, rgb: Uint8Array, grey = false): Uint8Array {
  const png = new PNG({ width, height, colorType: grey ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
  for (let i = 0; i < width * height; i++) png.data.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  return Uint8Array.from(PNG.sync.write(png, { colorType: grey ? 0 : 2, inputColorType: 6, inputHasAlpha: true }));
}

export function encodeJpeg(width: number, height: number, rgb: Uint8Array, quality = 95): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  return Uint8Array.from(jpeg.encode({ width, height, data: rgba }, quality).data);
}
