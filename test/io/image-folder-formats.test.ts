import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../src/io/image-folder.js';

const fixtures = fileURLToPath(new URL('./format-fixtures/', import.meta.url));

describe('image folders take WebP, BMP and GIF files', () => {
  let root = '';
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('lists and decodes them beside PNG and JPEG', async () => {
    root = await mkdtemp(path.join(tmpdir(), 'graft-folder-formats-'));
    const classes = { a: ['webp-lossy.webp', 'bmp-24.bmp', 'exif-1.png'], b: ['gif-palette.gif', 'webp-animated.webp', 'exif-1.jpg'] };
    for (const [name, files] of Object.entries(classes)) {
      await mkdir(path.join(root, 'images', name), { recursive: true });
      for (const f of files) await copyFile(path.join(fixtures, f), path.join(root, 'images', name, f.toUpperCase()));
    }
    const ds = await loadImageFolder(path.join(root, 'images'), { cache: false });
    expect(ds.classNames).toEqual(['a', 'b']);
    expect(Array.from(ds.y)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(ds.sampleShape).toEqual([9, 13, 3]);
  });
});
