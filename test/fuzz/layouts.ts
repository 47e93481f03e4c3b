/** Where each binary format keeps its sizes, offsets and directories: the byte ranges mutations aim at. */

/** HDF5 structures carry 4-letter signatures; the superblock and the bytes after each signature hold sizes and addresses. */
export function hdf5HotRanges(bytes: Uint8Array): Array<[number, number]> {
  const hot: Array<[number, number]> = [[0, 128]];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  for (const sig of ['OHDR', 'OCHK', 'TREE', 'HEAP', 'GCOL', 'SNOD', 'FRHP', 'FHDB', 'BTHD', 'BTLF']) {
    for (let i = text.indexOf(sig); i >= 0; i = text.indexOf(sig, i + 1)) hot.push([i, i + 64]);
  }
  return hot;
}

/** Zip local headers (30 bytes + name), central directory entries (46 bytes + name) and the end record. */
export function zipHotRanges(bytes: Uint8Array): Array<[number, number]> {
  const hot: Array<[number, number]> = [];
  const u16 = (i: number): number => bytes[i]! | (bytes[i + 1]! << 8);
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (bytes[i] !== 0x50 || bytes[i + 1] !== 0x4b) continue;
    const sig = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (sig === 0x0304 && i + 30 <= bytes.length) hot.push([i, i + 30 + u16(i + 26)]);
    else if (sig === 0x0102 && i + 46 <= bytes.length) hot.push([i, i + 46 + u16(i + 28)]);
    else if (sig === 0x0506) hot.push([i, i + 22]);
  }
  return hot;
}

/** Every JPEG marker segment's header (marker and length), the frame and scan headers whole, and the start of the scan data. */
export function jpegHotRanges(jpeg: Uint8Array): Array<[number, number]> {
  const hot: Array<[number, number]> = [[0, 4]];
  for (let i = 2; i + 4 <= jpeg.length && jpeg[i] === 0xff; ) {
    const marker = jpeg[i + 1]!;
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    const frameOrScan = (marker >= 0xc0 && marker <= 0xc2) || marker === 0xda || marker === 0xdd;
    hot.push([i, frameOrScan ? i + 2 + length : i + 4]);
    if (marker === 0xda) {
      hot.push([i + 2 + length, i + 2 + length + 64], [jpeg.length - 8, jpeg.length]);
      break;
    }
    i += 2 + length;
  }
  return hot;
}

/** Offset of a JPEG's first frame header (SOF0–SOF2). */
export function jpegFrameAt(jpeg: Uint8Array): number {
  for (let i = 2; i + 4 <= jpeg.length; i += 2 + ((jpeg[i + 2]! << 8) | jpeg[i + 3]!)) if (jpeg[i + 1]! >= 0xc0 && jpeg[i + 1]! <= 0xc2) return i;
  throw new Error('seed JPEG without a frame header');
}
