import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { IMAGE_ZIP_LIMITS, readImageZip, type ImageZip } from '../../src/io/image-zip.js';
import { thrown } from '../helpers.js';
import { buildZip, deflatedSpaces } from './zip-bomb.js';

/** Distinct bytes per file, so a test sees which file landed where (readImageZip does not decode). */
const bytesOf = (label: string): Uint8Array => new TextEncoder().encode(`image ${label}`);
const zip = (names: string[]): Uint8Array => zipSync(Object.fromEntries(names.map((n) => [n, bytesOf(n)])));
const shape = (z: ImageZip): Record<string, string[]> => Object.fromEntries(z.classes.map((c) => [c.name, c.files.map((f) => f.name)]));
const MiB = 2 ** 20;

describe('readImageZip', () => {
  it('reads one folder per class, classes and files sorted, each file with its own bytes', () => {
    const z = readImageZip(zip(['dog/b.JPG', 'cat/2.png', 'dog/a.webp', 'cat/1.png']), 'pets.zip');
    expect(shape(z)).toEqual({ cat: ['1.png', '2.png'], dog: ['a.webp', 'b.JPG'] });
    const dog = z.classes.find((c) => c.name === 'dog')!;
    expect(new TextDecoder().decode(dog.files[1]!.bytes)).toBe('image dog/b.JPG');
    expect(z.skipped).toEqual([]);
  });

  it('reads class folders under one top folder, as zipping the folder gives', () => {
    const z = readImageZip(zip(['pets/cat/1.png', 'pets/dog/1.gif', 'pets/dog/2.bmp']), 'pets.zip');
    expect(shape(z)).toEqual({ cat: ['1.png'], dog: ['1.gif', '2.bmp'] });
  });

  it('makes one class named after the zip of a flat zip', () => {
    const z = readImageZip(zip(['1.png', '2.jpeg']), 'C:\\Users\\me\\with book.zip');
    expect(shape(z)).toEqual({ 'with book': ['1.png', '2.jpeg'] });
    // A zipped folder of images alone is that folder's class.
    expect(shape(readImageZip(zip(['cats/1.png', 'cats/2.png']), 'whatever.zip'))).toEqual({ cats: ['1.png', '2.png'] });
  });

  it("skips __MACOSX, dot-files, non-images and images nested below a class folder, and lists them", () => {
    const skippedNames = ['__MACOSX/cat/._1.png', 'cat/.DS_Store', '.hidden/x.png', 'cat/notes.txt', 'dog/old/3.png', 'README'];
    const z = readImageZip(zip(['cat/1.png', 'dog/2.png', ...skippedNames]), 'pets.zip');
    expect(shape(z)).toEqual({ cat: ['1.png'], dog: ['2.png'] });
    expect([...z.skipped].sort()).toEqual([...skippedNames].sort());
  });

  it('refuses images both loose and in class folders, naming one of each', () => {
    const e = thrown(() => readImageZip(zip(['cat/1.png', 'stray.png']), 'pets.zip'));
    expect(e.message).toContain('pets.zip holds images both loose ("stray.png") and in class folders ("cat/1.png")');
  });

  it('refuses a zip without images, and bytes that are no zip, naming the file', () => {
    expect(thrown(() => readImageZip(zip(['a.txt', '__MACOSX/b.png']), 'docs.zip'))).toMatchObject({ code: 'DATA_NOT_FOUND', message: expect.stringContaining('docs.zip holds no images (.png, .jpg') });
    expect(thrown(() => readImageZip(new TextEncoder().encode('GIF89a'), 'photo.zip'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('photo.zip is not a zip file (it starts with bytes 47 49 46 38') });
    expect(thrown(() => readImageZip(new Uint8Array(0), 'empty.zip')).message).toContain('empty.zip is empty');
  });

  it('refuses a damaged zip as damaged data, naming the file', () => {
    const whole = zip(['cat/1.png', 'dog/2.png']);
    const truncated = thrown(() => readImageZip(whole.subarray(0, whole.length - 30), 'cut.zip'));
    expect(truncated).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('cut.zip: the zip archive is damaged (no end-of-directory record)') });
    expect(truncated.message).toContain('Zip the images again');
    // Garbage where an entry's deflated data should be.
    const content = new Uint8Array(4096).fill(7);
    const deflated = zipSync({ 'cat/1.png': content }, { level: 6 });
    const garbled = deflated.slice();
    garbled.fill(0xff, 30 + 'cat/1.png'.length, 30 + 'cat/1.png'.length + 8);
    expect(thrown(() => readImageZip(garbled, 'garbled.zip'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('garbled.zip: the zip archive is damaged (entry "cat/1.png" does not inflate') });
  });

  it('refuses zip-slip entry names', () => {
    expect(thrown(() => readImageZip(zip(['cat/1.png', '../evil/2.png']), 'slip.zip')).message).toContain('slip.zip: entry "../evil/2.png" points outside');
  });

  it('refuses zip bombs before inflating: one image over the limit, or all of them together', () => {
    const one = IMAGE_ZIP_LIMITS.imageBytes / MiB + 1;
    const big = buildZip([{ name: 'cat/big.png', deflated: deflatedSpaces(new Uint8Array(0), one), size: one * MiB }]);
    expect(thrown(() => readImageZip(big, 'bomb.zip'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining(`bomb.zip: entry "cat/big.png" declares ${one * MiB} bytes uncompressed, more than the ${IMAGE_ZIP_LIMITS.imageBytes} bytes`) });
    // Each image under the limit, together over the total: refused before the first inflates.
    const each = IMAGE_ZIP_LIMITS.imageBytes / MiB - 1;
    const piece = deflatedSpaces(new Uint8Array(0), each);
    const count = Math.floor(IMAGE_ZIP_LIMITS.totalBytes / (each * MiB)) + 1;
    const many = buildZip(Array.from({ length: count }, (_, i) => ({ name: `cat/${i}.png`, deflated: piece, size: each * MiB })));
    expect(thrown(() => readImageZip(many, 'many.zip')).message).toContain(`many.zip: its images add up to more than ${IMAGE_ZIP_LIMITS.totalBytes} bytes uncompressed (reached at entry "cat/${count - 1}.png")`);
  });

  it('refuses a directory that claims more entries than the limit, before walking it', () => {
    // A zip64 end record claiming limit + 1 entries in front of a real one-entry zip's end record.
    const small = zip(['cat/1.png']);
    const eocd = small.length - 22;
    const end = new DataView(small.buffer, small.byteOffset + eocd, 22);
    const record = new DataView(new ArrayBuffer(56 + 20));
    record.setUint32(0, 0x06064b50, true);
    record.setBigUint64(4, 44n, true);
    record.setBigUint64(24, BigInt(IMAGE_ZIP_LIMITS.entries + 1), true);
    record.setBigUint64(32, BigInt(IMAGE_ZIP_LIMITS.entries + 1), true);
    record.setBigUint64(40, BigInt(end.getUint32(12, true)), true);
    record.setBigUint64(48, BigInt(end.getUint32(16, true)), true);
    record.setUint32(56, 0x07064b50, true); // the locator, pointing at the record
    record.setBigUint64(64, BigInt(eocd), true);
    record.setUint32(72, 1, true);
    const claimed = new Uint8Array(small.length + 76);
    claimed.set(small.subarray(0, eocd));
    claimed.set(new Uint8Array(record.buffer), eocd);
    claimed.set(small.subarray(eocd), eocd + 76);
    expect(thrown(() => readImageZip(claimed, 'huge.zip'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining(`huge.zip: the zip directory lists ${IMAGE_ZIP_LIMITS.entries + 1} entries, more than ${IMAGE_ZIP_LIMITS.entries}`) });
    expect(shape(readImageZip(small, 'small.zip'))).toEqual({ cat: ['1.png'] });
  });

  it('refuses a directory that claims more than deflate can give, and one that claims less than the data inflates to', () => {
    const liar = buildZip([{ name: 'cat/1.png', deflated: deflatedSpaces(new Uint8Array(0), 1), size: 10 * MiB }]);
    expect(thrown(() => readImageZip(liar, 'liar.zip')).message).toContain('liar.zip: entry "cat/1.png" claims 10485760 bytes from');
    const understated = buildZip([{ name: 'cat/1.png', deflated: deflatedSpaces(new Uint8Array(0), 1), size: 1000 }]);
    expect(thrown(() => readImageZip(understated, 'small.zip'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('small.zip: zip entry "cat/1.png" inflates to more than the 1000 bytes its directory declares') });
  });
});
