/**
 * Names what a file is, in words, from its first bytes — for messages such as "holiday.jpg is a
 * text file, not an image". Magic numbers first (they are exact); text-like guesses last, and only
 * when the bytes look like text, so a binary file is never called JSON because it starts with '{'.
 */

/** How many leading bytes describeFileKind looks at; callers may pass just this many. */
export const FILE_KIND_PROBE_BYTES = 512;

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);

const ascii = (text: string): number[] => Array.from(text, (ch) => ch.charCodeAt(0));

/** Signatures in the order they are tried; each is exact bytes at a fixed offset. */
const MAGIC: ReadonlyArray<{ kind: string; test: (b: Uint8Array) => boolean }> = [
  { kind: 'a PNG image', test: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { kind: 'a JPEG image', test: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { kind: 'a WebP image', test: (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8) },
  { kind: 'a GIF image', test: (b) => startsWith(b, ascii('GIF87a')) || startsWith(b, ascii('GIF89a')) },
  // "BM" alone is two letters of text; the DIB header size (offset 14) pins it down.
  { kind: 'a BMP image', test: (b) => startsWith(b, ascii('BM')) && [12, 16, 40, 52, 56, 64, 108, 124].includes(b.length >= 18 ? (b[14]! | (b[15]! << 8) | (b[16]! << 16) | (b[17]! << 24)) : -1) },
  // Image formats graft does not decode, named so the message can say "convert it".
  { kind: 'a HEIC image', test: (b) => startsWith(b, ascii('ftyp'), 4) && ['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1'].some((brand) => startsWith(b, ascii(brand), 8)) },
  { kind: 'an AVIF image', test: (b) => startsWith(b, ascii('ftyp'), 4) && ['avif', 'avis'].some((brand) => startsWith(b, ascii(brand), 8)) },
  { kind: 'a TIFF image', test: (b) => startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]) },
  { kind: 'an HDF5 file', test: (b) => startsWith(b, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { kind: 'a gzip-compressed file', test: (b) => startsWith(b, [0x1f, 0x8b]) },
  { kind: 'a zip archive', test: (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06]) },
  { kind: 'a PDF document', test: (b) => startsWith(b, ascii('%PDF-')) },
  { kind: 'an executable (ELF)', test: (b) => startsWith(b, [0x7f, 0x45, 0x4c, 0x46]) },
  // IDX: two zero bytes, a type code (0x08 ubyte … 0x0e double), then 1–4 dimensions.
  { kind: 'an IDX file (Fashion-MNIST/MNIST format)', test: (b) => b.length >= 8 && b[0] === 0 && b[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(b[2]!) && b[3]! >= 1 && b[3]! <= 4 },
];

/** True when the bytes decode as UTF-8 with no control characters but tab, newline, CR and form feed. */
function looksLikeText(bytes: Uint8Array): boolean {
  // The probe may cut a multi-byte character in half; drop up to 3 trailing bytes before judging.
  for (let cut = 0; cut <= 3 && cut < bytes.length; cut++) {
    const slice = bytes.subarray(0, bytes.length - cut);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(slice);
    } catch {
      continue;
    }
    return !/[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(text);
  }
  return false;
}

/**
 * What a file is, from its first bytes: "a PNG image", "a text file", "an empty file", …, or
 * "a binary file of unknown format". Kinds that end in "image" are images (some of formats graft
 * does not decode: HEIC, AVIF, TIFF, SVG). Pass at least FILE_KIND_PROBE_BYTES bytes when there are that many.
 */
export function describeFileKind(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  for (const { kind, test } of MAGIC) if (test(bytes)) return kind;
  const probe = bytes.subarray(0, FILE_KIND_PROBE_BYTES);
  if (!looksLikeText(probe)) return 'a binary file of unknown format';
  const text = new TextDecoder().decode(probe).replace(/^\uFEFF/, '').trimStart();
  if (/^(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(text)) return 'an HTML page';
  if (/^<svg[\s>]/i.test(text) || (/^<\?xml/i.test(text) && /<svg[\s>]/i.test(text))) return 'an SVG image';
  if (/^[[{]/.test(text)) return 'a JSON file';
  return 'a text file';
}
