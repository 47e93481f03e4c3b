import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareTask, type DataOptions, type PreparedData } from '../../src/workflows/prepare.js';
import { encodeJpeg, encodePng, gradient } from '../io/image-fixtures.js';

/**
 * folder: and csv: tasks through prepareTask on generated images: layouts, the split, class counts,
 * resize modes, channel conversion, and bad files mixed in (skipped and named, never a crash or hang).
 */

const root = mkdtempSync(path.join(tmpdir(), 'graft-user-data-'));
const cacheDir = path.join(root, 'cache');
const isRoot = process.getuid?.() === 0;

function png(file: string, seed: number, grey = false, w = 6, h = 6): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const rgb = gradient(w, h).map((v, i) => (v + seed * 37 + i) % 256);
  writeFileSync(file, encodePng(w, h, rgb, grey));
}

function classFolder(dir: string, n: number, grey = false): void {
  for (let i = 0; i < n; i++) png(path.join(dir, `${String(i).padStart(3, '0')}.png`), i, grey);
}

async function prepare(task: string, opts: DataOptions = {}): Promise<{ data: PreparedData; notes: string[] }> {
  const notes: string[] = [];
  const data = await prepareTask(task, { cacheDir, onNote: (l) => notes.push(l), ...opts });
  return { data, notes };
}

async function refusal(task: string, opts: DataOptions = {}): Promise<string> {
  try {
    await prepare(task, opts);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${task} was not refused`);
}

beforeAll(() => {
  // flat/: cat 10 good; dog 5 good + every kind of bad file; notes.txt ignored.
  classFolder(path.join(root, 'flat', 'cat'), 10);
  const dog = path.join(root, 'flat', 'dog');
  classFolder(dog, 5);
  writeFileSync(path.join(dog, 'empty.png'), '');
  const jpg = encodeJpeg(16, 16, gradient(16, 16));
  writeFileSync(path.join(dog, 'truncated.jpg'), jpg.subarray(0, jpg.length >> 1));
  writeFileSync(path.join(dog, 'text.jpg'), 'this is not a photo\n');
  const huge = encodePng(4, 4, gradient(4, 4)).slice();
  new DataView(huge.buffer).setUint32(16, 100_000, false);
  new DataView(huge.buffer).setUint32(20, 100_000, false);
  writeFileSync(path.join(dog, 'huge.png'), huge);
  symlinkSync('loop.jpg', path.join(dog, 'loop.jpg'));
  symlinkSync('/nonexistent/gone.jpg', path.join(dog, 'dangling.jpg'));
  execFileSync('mkfifo', [path.join(dog, 'pipe.jpg')]);
  png(path.join(dog, 'locked.png'), 99);
  chmodSync(path.join(dog, 'locked.png'), 0o000);
  writeFileSync(path.join(dog, 'notes.txt'), 'ignored');

  // nested/: train/ val/ test/.
  for (const [part, n] of [['train', 6], ['val', 2], ['test', 3]] as const) {
    classFolder(path.join(root, 'nested', part, 'a'), n);
    classFolder(path.join(root, 'nested', part, 'b'), n, true);
  }

  // csv/: paths relative to the CSV, one quoted with a comma, a header row.
  const csvDir = path.join(root, 'csv');
  classFolder(path.join(csvDir, 'imgs', 'x'), 4);
  png(path.join(csvDir, 'imgs', 'with, comma.png'), 7);
  const rows = ['file,label', ...[0, 1, 2, 3].map((i) => `imgs/x/00${i}.png,pos`), '"imgs/with, comma.png",neg', ...[0, 1, 2].map((i) => `imgs/x/00${i}.png,pos`)];
  // A second negative: the same file under another name would be two labels for one image, so add one.
  png(path.join(csvDir, 'imgs', 'n2.png'), 8);
  rows.push('imgs/n2.png,neg');
  writeFileSync(path.join(csvDir, 'labels.csv'), `${rows.join('\r\n')}\r\n`);

  // wide/: 12×4 images, black | white | black thirds: crop sees white only, pad adds black bars.
  for (const cls of ['p', 'q']) {
    for (let i = 0; i < 3; i++) {
      const rgb = new Uint8Array(12 * 4 * 3);
      for (let y = 0; y < 4; y++) for (let x = 4; x < 8; x++) rgb.fill(255, (y * 12 + x) * 3, (y * 12 + x) * 3 + 3);
      mkdirSync(path.join(root, 'wide', cls), { recursive: true });
      writeFileSync(path.join(root, 'wide', cls, `${i}.png`), encodePng(12, 4, rgb));
    }
  }
});

afterAll(() => {
  try {
    chmodSync(path.join(root, 'flat', 'dog', 'locked.png'), 0o644);
  } catch {
    // already gone
  }
  rmSync(root, { recursive: true, force: true });
});

describe('folder: tasks', () => {
  it('skips, counts and names every bad file, before training, without hanging', async () => {
    const { data, notes } = await prepare(`folder:${root}/flat`, { image: { height: 8, width: 8 } });
    const s = data.summary!;
    const skipped = Object.fromEntries(s.skipped.map((k) => [k.file, k.reason]));
    expect(Object.keys(skipped).sort()).toEqual(['dog/dangling.jpg', 'dog/empty.png', 'dog/huge.png', ...(isRoot ? [] : ['dog/locked.png']), 'dog/loop.jpg', 'dog/pipe.jpg', 'dog/text.jpg', 'dog/truncated.jpg'].sort());
    expect(skipped['dog/empty.png']).toMatch(/empty file/);
    expect(skipped['dog/huge.png']).toMatch(/100000×100000/);
    expect(skipped['dog/pipe.jpg']).toMatch(/FIFO/);
    expect(skipped['dog/loop.jpg']).toMatch(/link/i);
    expect(skipped['dog/dangling.jpg']).toMatch(/ENOENT|no such|not found|does not exist/i);
    if (!isRoot) expect(skipped['dog/locked.png']).toMatch(/EACCES|permission/i);
    expect(skipped['dog/text.jpg']).toMatch(/not an image|neither PNG/);
    expect(s.skippedCount).toBe(s.skipped.length);
    // 10 cats and 5 usable dogs (6 with locked.png when root can read it); 20% of each class tested.
    const dogs = isRoot ? 6 : 5;
    expect(s.sizes.train + s.sizes.test).toBe(10 + dogs);
    expect(s.classCounts.test).toEqual([2, 1]);
    expect(s.split).toEqual({ test: 'seeded', fraction: 0.2, seed: 0, validation: 'none' });
    expect(data.train.sampleShape).toEqual([8, 8, 3]);
    expect(data.train.pixelRange).toBe('unit');
    expect(data.task).toBe(`folder:${root}/flat`);
    const text = notes.join('\n');
    expect(text).toMatch(/2 classes, train \d+, test 3 \(test = 20% of each class, fixed seed 0\)/);
    expect(text).toMatch(/training images per class: cat 8, dog \d/);
    expect(text).toContain(`class imbalance: the largest class has ${(8 / (dogs - 1)).toFixed(1)}× the images of the smallest`);
    expect(text).toMatch(/Consider --class-weight balanced/);
    expect(text).toMatch(/skipped \d file\(s\)[\s\S]*dog\/empty\.png: .*empty file/);
    expect(text).toMatch(/ignored 1 non-image entry/);
  }, 20_000);

  it('gives the same test images for every --seed (evaluate and compare rely on it)', async () => {
    const a = (await prepare(`folder:${root}/flat`, { seed: 0, image: { height: 8, width: 8 } })).data;
    const b = (await prepare(`folder:${root}/flat`, { seed: 7, valSplit: 0.25, image: { height: 8, width: 8 } })).data;
    expect(Array.from(b.test.x)).toEqual(Array.from(a.test.x));
    expect(b.validation!.y.length).toBeGreaterThan(0);
    expect(b.summary!.split.validation).toBe('seeded');
  });

  it('uses train/, val/ and test/ as given, with classes, renames and the model input shape', async () => {
    const { data } = await prepare(`folder:${root}/nested:classes=b>bee,a`, { modelInput: [null, 5, 5, 3] });
    expect(data.summary!.split).toEqual({ test: 'folders', validation: 'folders' });
    expect(data.summary!.sizes).toEqual({ train: 12, validation: 4, test: 6 });
    expect(data.train.classNames).toEqual(['bee', 'a']);
    // Grey PNGs (class b) become RGB for a 3-channel model.
    expect(data.test.sampleShape).toEqual([5, 5, 3]);
    const withSplit = await prepare(`folder:${root}/nested`, { valSplit: 0.5 });
    expect(withSplit.data.summary!.sizes.validation).toBe(4);
    expect(withSplit.notes.join('\n')).toContain(`--val-split 0.5 is ignored: ${root}/nested/val is the validation set`);
    const grey = await prepare(`folder:${root}/nested`, { modelInput: [null, 4, 4] });
    expect(grey.data.train.sampleShape).toEqual([4, 4]);
  });

  it('fits other aspect ratios by crop (default), pad or squash, and records the mode', async () => {
    const mean = (d: PreparedData): number => d.train.x.reduce((a, b) => a + b, 0) / d.train.x.length;
    const crop = (await prepare(`folder:${root}/wide`, { image: { height: 4, width: 4 } })).data;
    const pad = (await prepare(`folder:${root}/wide`, { image: { height: 4, width: 4 }, resize: 'pad' })).data;
    const squash = (await prepare(`folder:${root}/wide`, { image: { height: 4, width: 4 }, resize: 'squash' })).data;
    expect(crop.resize).toBe('crop');
    expect(mean(crop)).toBeCloseTo(1, 5); // the white middle third only
    expect(mean(pad)).toBeLessThan(0.3); // the whole strip in a 4×1 band, black above and below
    expect(mean(squash)).toBeGreaterThan(0.3);
    expect(mean(squash)).toBeLessThan(0.7);
    expect(pad.summary!.resize).toBe('pad');
  });

  it('refuses, naming the folder: too few usable images, an empty class, one class, no class folders', async () => {
    const few = path.join(root, 'few');
    classFolder(path.join(few, 'a'), 3);
    png(path.join(few, 'b', 'ok.png'), 1);
    writeFileSync(path.join(few, 'b', 'bad.jpg'), 'nope');
    expect(await refusal(`folder:${few}`)).toMatch(new RegExp(`Class "b" has 1 usable image\\(s\\) in ${few}/b \\(1 skipped: b/bad\\.jpg: .*\\); each class needs at least 2`));

    const empty = path.join(root, 'empty-class');
    classFolder(path.join(empty, 'a'), 3);
    mkdirSync(path.join(empty, 'b'));
    writeFileSync(path.join(empty, 'b', 'README'), 'x');
    expect(await refusal(`folder:${empty}`)).toMatch(new RegExp(`Class "b" has no images: ${empty}/b holds no \\.png.*:exclude=b`));
    // Leaving the empty class out makes the rest usable... as long as two classes remain.
    classFolder(path.join(empty, 'c'), 3);
    expect((await prepare(`folder:${empty}:exclude=b`)).data.train.classNames).toEqual(['a', 'c']);

    const single = path.join(root, 'single');
    classFolder(path.join(single, 'only'), 3);
    expect(await refusal(`folder:${single}`)).toMatch(/has only one class \(only\); a classifier needs at least 2/);

    const loose = path.join(root, 'loose');
    png(path.join(loose, 'a.png'), 1);
    expect(await refusal(`folder:${loose}`)).toMatch(/has no class subfolders, only 1 file\(s\)\. Put each class's images in a subfolder named after it/);
    expect(await refusal(`folder:${root}/missing`)).toMatch(/No folder at .*missing/);
    expect(await refusal(`folder:${root}/flat:classes=cat,horse`)).toMatch(/has no class "horse"\. Classes in .*: cat, dog/);
  });

  it('says how decoding goes for a large folder, once per quarter', async () => {
    const big = path.join(root, 'big');
    const tiny = encodePng(1, 1, new Uint8Array([1, 2, 3]));
    for (const cls of ['a', 'b']) {
      mkdirSync(path.join(big, cls), { recursive: true });
      for (let i = 0; i < 1000; i++) writeFileSync(path.join(big, cls, `${i}.png`), tiny);
    }
    const { notes } = await prepare(`folder:${big}`, { decodeCache: false, image: { height: 1, width: 1 } });
    expect(notes.filter((n) => n.startsWith('decoded'))).toEqual(['decoded 500 of 2000 images', 'decoded 1000 of 2000 images', 'decoded 1500 of 2000 images', 'decoded 2000 of 2000 images']);
  }, 30_000);

  it('reports skipped files again from the decode cache', async () => {
    const dir = path.join(root, 'cached');
    classFolder(path.join(dir, 'a'), 3);
    classFolder(path.join(dir, 'b'), 3);
    writeFileSync(path.join(dir, 'b', 'text.png'), 'not an image');
    const ownCache = path.join(root, 'own-cache');
    const first = (await prepare(`folder:${dir}`, { cacheDir: ownCache })).data;
    expect(readdirSync(ownCache).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    const second = (await prepare(`folder:${dir}`, { cacheDir: ownCache })).data;
    expect(second.summary!.skipped).toEqual([{ file: 'b/text.png', reason: expect.stringMatching(/not an image|neither PNG/) }]);
    expect(second.summary).toEqual(first.summary);
    expect(Array.from(second.train.x)).toEqual(Array.from(first.train.x));
  });
});

describe('csv: tasks', () => {
  it('reads path,label rows relative to the CSV, quoted paths, a header, and binary order', async () => {
    const { data } = await prepare(`csv:${root}/csv/labels.csv:binary=neg,pos`, { image: { height: 4, width: 4 } });
    expect(data.train.classNames).toEqual(['neg', 'pos']);
    // Duplicate rows (the same file, same label) count once: 2 neg + 4 pos.
    expect(data.summary!.sizes.train + data.summary!.sizes.test).toBe(6);
    expect(data.summary!.kind).toBe('csv');
  });

  it('names the line of a malformed row and a file labelled twice', async () => {
    const bad = path.join(root, 'csv', 'bad.csv');
    writeFileSync(bad, 'imgs/x/000.png,pos\nimgs/x/001.png\n');
    expect(await refusal(`csv:${bad}`)).toMatch(/bad\.csv line 2: expected 2 fields, path,label; received 1/);
    writeFileSync(bad, 'imgs/x/000.png,pos\nimgs/x/000.png,neg\n');
    expect(await refusal(`csv:${bad}`)).toMatch(/line 2: imgs\/x\/000\.png is labelled "neg" here and "pos" earlier/);
  });
});
