import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Seeds for the WebP, BMP and GIF fuzz targets: the decoder fixtures (test/io/format-fixtures). */

const dir = fileURLToPath(new URL('../io/format-fixtures/', import.meta.url));

export function formatSeeds(names: readonly string[]): Uint8Array[] {
  return names.map((n) => new Uint8Array(readFileSync(dir + n)));
}

/** RIFF chunk headers with the first 16 bytes of each payload (VP8X canvas, ANMF frame, VP8/VP8L headers), nested ANMF chunks too. */
export function webpHotRanges(bytes: Uint8Array): Array<[number, number]> {
  const hot: Array<[number, number]> = [[0, 12]];
  const walk = (from: number, to: number): void => {
    for (let at = from; at + 8 <= to; ) {
      const size = bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24);
      hot.push([at, at + 24]);
      if (String.fromCharCode(...bytes.subarray(at, at + 4)) === 'ANMF') walk(at + 24, Math.min(to, at + 8 + size));
      at += 8 + size + (size & 1);
    }
  };
  walk(12, bytes.length);
  return hot;
}

/** GIF header and screen descriptor, and every block introducer with the bytes that follow it. */
export function gifHotRanges(bytes: Uint8Array): Array<[number, number]> {
  const hot: Array<[number, number]> = [[0, 13]];
  for (let i = 13; i < bytes.length; i++) if (bytes[i] === 0x21 || bytes[i] === 0x2c) hot.push([i, i + 12]);
  return hot;
}
