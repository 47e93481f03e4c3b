import { checkImageSize, corruptImage, type DecodedImage } from './image-checks.js';

/**
 * BMP (Windows bitmap): 1/4/8-bit palette, 16/24/32-bit direct colour, bottom-up or top-down,
 * BI_RGB or BI_BITFIELDS; the DIB headers of 12 (OS/2 core), 40 (INFO) and 52–124 bytes (V2–V5). RLE and
 * embedded JPEG/PNG are refused with a message that says so. Uncompressed rows must all be in the
 * file, which is checked before anything is allocated. Returns RGB (alpha dropped, as for PNG).
 */

const COMPRESSION: Record<number, string> = { 0: 'BI_RGB', 1: 'BI_RLE8', 2: 'BI_RLE4', 3: 'BI_BITFIELDS', 4: 'BI_JPEG', 5: 'BI_PNG', 6: 'BI_ALPHABITFIELDS' };
const HEADER_SIZES = [12, 40, 52, 56, 108, 124];

/** A channel mask as a shift and a maximum; a value v becomes floor(v·255/max), as Pillow scales. */
interface Field {
  shift: number;
  max: number;
}

function field(mask: number): Field {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

export function decodeBmp(bytes: Uint8Array, file: string): DecodedImage {
  if (bytes.length < 26) throw corruptImage(file, `BMP file is only ${bytes.length} bytes long, too short for its headers`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataAt = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (!HEADER_SIZES.includes(headerSize)) throw corruptImage(file, `BMP header size is ${headerSize} bytes; graft reads the ${HEADER_SIZES.join(', ')}-byte headers`);
  if (14 + headerSize > bytes.length) throw corruptImage(file, `BMP header of ${headerSize} bytes runs past the end of the ${bytes.length}-byte file (truncated?)`);
  const core = headerSize === 12;
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const rawHeight = core ? view.getInt16(22, true) : view.getInt32(22, true);
  const bits = view.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : view.getUint32(30, true);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  checkImageSize(file, width, height);
  if (compression !== 0 && compression !== 3 && compression !== 6) {
    const name = COMPRESSION[compression] ?? `number ${compression}`;
    throw corruptImage(file, `BMP uses ${name} compression, which graft does not read (it reads uncompressed and bitfield BMPs)`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bits)) throw corruptImage(file, `BMP header says ${bits} bits per pixel; BMP has 1, 4, 8, 16, 24 or 32`);

  // Where the colour masks are: inside V2+ headers, else right after a 40-byte header.
  let fields: [Field, Field, Field] | undefined;
  let afterHeader = 14 + headerSize;
  if (compression === 3 || compression === 6) {
    if (bits !== 16 && bits !== 32) throw corruptImage(file, `BMP uses bitfields with ${bits} bits per pixel; bitfields need 16 or 32`);
    const masksAt = headerSize >= 52 ? 54 : afterHeader;
    if (masksAt + 12 > bytes.length) throw corruptImage(file, 'BMP colour masks run past the end of the file (truncated?)');
    fields = [field(view.getUint32(masksAt, true)), field(view.getUint32(masksAt + 4, true)), field(view.getUint32(masksAt + 8, true))];
    if (headerSize < 52) afterHeader += compression === 6 ? 16 : 12;
  } else if (bits === 16) {
    fields = [field(0x7c00), field(0x03e0), field(0x001f)];
  }

  let palette: Uint8Array | undefined;
  if (bits <= 8) {
    const used = core ? 0 : view.getUint32(46, true);
    const entries = Math.min(used === 0 ? 1 << bits : used, 256);
    const entrySize = core ? 3 : 4;
    if (afterHeader + entries * entrySize > bytes.length) throw corruptImage(file, `BMP palette of ${entries} colours runs past the end of the file (truncated?)`);
    palette = new Uint8Array(256 * 3); // indices past the palette read as black
    for (let k = 0; k < entries; k++) {
      const at = afterHeader + k * entrySize;
      palette.set([bytes[at + 2]!, bytes[at + 1]!, bytes[at]!], 3 * k);
    }
  }

  const stride = Math.ceil((width * bits) / 32) * 4;
  if (dataAt + stride * height > bytes.length) {
    throw corruptImage(file, `BMP header says ${width}×${height} pixels, ${stride * height} bytes of pixel rows from byte ${dataAt}, but the file is ${bytes.length} bytes (truncated file or damaged header)`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataAt + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const bit = x * bits;
        const index = (bytes[row + (bit >> 3)]! >> (8 - bits - (bit & 7))) & ((1 << bits) - 1);
        out[o] = palette[3 * index]!;
        out[o + 1] = palette[3 * index + 1]!;
        out[o + 2] = palette[3 * index + 2]!;
      } else if (fields) {
        const p = bits === 16 ? view.getUint16(row + 2 * x, true) : view.getUint32(row + 4 * x, true);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = fields[c]!;
          out[o + c] = max === 0 ? 0 : Math.floor((((p >>> shift) & max) * 255) / max);
        }
      } else {
        // 24-bit, and 32-bit BI_RGB (its fourth byte is unused or alpha): stored blue, green, red.
        const at = row + x * (bits >> 3);
        out[o] = bytes[at + 2]!;
        out[o + 1] = bytes[at + 1]!;
        out[o + 2] = bytes[at]!;
      }
    }
  }
  return { width, height, channels: 3, data: out };
}
