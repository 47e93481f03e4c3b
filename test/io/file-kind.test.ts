import { describe, expect, it } from 'vitest';
import { describeFileKind } from '../../src/io/file-kind.js';

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

describe('describeFileKind', () => {
  it.each([
    ['a PNG image', bytes([0x89], 'PNG\r\n', [0x1a, 0x0a, 0, 0, 0, 13], 'IHDR')],
    ['a JPEG image', bytes([0xff, 0xd8, 0xff, 0xe0])],
    ['a WebP image', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ')],
    ['a BMP image', bytes('BM', [0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0])],
    ['a GIF image', bytes('GIF89a', [1, 0, 1, 0])],
    ['a GIF image', bytes('GIF87a', [1, 0, 1, 0])],
    ['an IDX file (Fashion-MNIST/MNIST format)', bytes([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28])],
    ['a gzip-compressed file', bytes([0x1f, 0x8b, 8, 0])],
    ['a zip archive', bytes('PK', [3, 4, 20, 0])],
    ['a PDF document', bytes('%PDF-1.7\n')],
    ['an HTML page', bytes('\n  <!DOCTYPE html><html>')],
    ['an HTML page', bytes('<html lang="en">')],
    ['a JSON file', bytes('{"format": "layers-model"}')],
    ['a JSON file', bytes([0xef, 0xbb, 0xbf], ' [1, 2]')],
    ['a text file', bytes('holiday snaps from 2024\n')],
    ['a text file', bytes('BM is two letters of text, not a bitmap\n')],
    ['a text file', bytes('caf\u00c3\u00a9 au lait\n')],
    ['an empty file', bytes()],
    ['a HEIC image', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic')],
    ['an AVIF image', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0])],
    ['a TIFF image', bytes('II*', [0, 8, 0, 0, 0])],
    ['a TIFF image', bytes('MM', [0, 42, 0, 0, 0, 8])],
    ['an SVG image', bytes('<svg xmlns="http://www.w3.org/2000/svg">')],
    ['an SVG image', bytes('<?xml version="1.0"?>\n<svg width="10">')],
    ['a text file', bytes('<?xml version="1.0"?>\n<note>svg</note>')],
    ['an executable (ELF)', bytes([0x7f], 'ELF', [2, 1, 1])],
    ['an HDF5 file', bytes([0x89], 'HDF\r\n', [0x1a, 0x0a])],
    ['a binary file of unknown format', bytes([0, 1, 2, 3, 0xfe, 0xfd])],
    ['a binary file of unknown format', bytes('{', [0, 0, 0])],
  ])('%s (case %#)', (kind, data) => {
    expect(describeFileKind(data)).toBe(kind);
  });

  it('calls text cut mid-character by the probe text, not binary', () => {
    const text = new TextEncoder().encode('é'.repeat(400));
    expect(describeFileKind(text)).toBe('a text file');
  });
});
