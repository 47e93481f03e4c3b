import { cliCapture } from './in-process.js';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Train on your own images, end to end through the CLI: real photos (CIFAR-10 JPEGs from
 * ../shared/data) laid out as a user would — class folders, train/ and test/ folders, a CSV, an
 * experiment file — through train, transfer, compare, evaluate, run and report.
 */

const TAR = path.resolve(__dirname, '../../../shared/data/cifar10-jpeg.tar');
const available = existsSync(TAR);
if (!available) console.log(`own-images CLI tests skipped: ${TAR} is absent (the CIFAR-10 JPEG tree from the shared data folder).`);

const CLASSES = ['airplane', 'cat', 'dog'];
const TRAIN_PER_CLASS = 40;
const TEST_PER_CLASS = 10;
const tmp = mkdtempSync(path.join(tmpdir(), 'graft-own-images-'));
const nested = path.join(tmp, 'cifar10'); // train/<class>, test/<class>, SOURCE.txt
const flat = path.join(tmp, 'flat'); // <class>/*.jpg
const runs = path.join(tmp, 'runs');

const graft = (...args: string[]) => cliCapture(args);

function runJson(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as Record<string, any>;
}

const pad = (i: number): string => String(i).padStart(4, '0');

beforeAll(() => {
  if (!available) return;
  const members = CLASSES.flatMap((c) => [
    ...Array.from({ length: TRAIN_PER_CLASS }, (_, i) => `cifar10/train/${c}/${pad(i)}.jpg`),
    ...Array.from({ length: TEST_PER_CLASS }, (_, i) => `cifar10/test/${c}/${pad(i)}.jpg`),
    'cifar10/SOURCE.txt',
  ]);
  execFileSync('tar', ['-xf', TAR, '-C', tmp, ...new Set(members)]);
  cpSync(path.join(nested, 'train'), flat, { recursive: true });
  // csv/labels.csv: a header, paths relative to the CSV, cat and dog only.
  const rows = ['path,label', ...['cat', 'dog'].flatMap((c) => Array.from({ length: 20 }, (_, i) => `../flat/${c}/${pad(i)}.jpg,${c}`))];
  mkdirSync(path.join(tmp, 'csv'));
  writeFileSync(path.join(tmp, 'csv', 'labels.csv'), `${rows.join('\n')}\n`);
  process.env.XDG_CACHE_HOME = path.join(tmp, 'cache');
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!available)('graft on a folder of photos', () => {
  const source = path.join(runs, 'source');
  const fit = ['--epochs', '1', '--batch-size', '16'];

  it('train --task folder: (train/ and test/ folders) records the data, the split and the resize', async () => {
    const r = await graft('train', '--task', `folder:${nested}`, '--arch', 'cnn', ...fit, '--out', source);
    expect(r.stderr).toMatch(/3 classes, train 120, test 30 \(test\/ as given\); images fitted to 32×32×3 \(--resize crop\)/);
    expect(r.code).toBe(0);
    const run = runJson(source);
    expect(run.task).toBe(`folder:${nested}`);
    expect(run.classNames).toEqual(CLASSES);
    expect(run.sampleShape).toEqual([32, 32, 3]);
    expect(run.preprocessing.resize).toBe('crop');
    expect(run.data).toMatchObject({ kind: 'folder', sizes: { train: 120, test: 30 }, classCounts: { train: [40, 40, 40], test: [10, 10, 10] }, skippedCount: 0 });
    expect(run.metrics.test.count).toBe(30);
  }, 60_000);

  it('transfer --from a run onto class folders (seeded split), then evaluate scores the same test images', async () => {
    const out = path.join(runs, 'cats-dogs');
    const r = await graft('transfer', '--from', source, '--task', `folder:${flat}:binary=cat,dog>puppy`, '--frozen-epochs', '1', ...fit, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/train 64, test 16 \(test = 20% of each class, fixed seed 0\)/);
    const run = runJson(out);
    expect(run.classNames).toEqual(['cat', 'puppy']);
    expect(run.data.split).toEqual({ test: 'seeded', fraction: 0.2, seed: 0, validation: 'none' });
    const e = await graft('evaluate', '--model', out, '--json');
    expect(e.code).toBe(0);
    const scored = JSON.parse(e.stdout) as { accuracy: number; count: number; confusion: number[][] };
    expect(scored.count).toBe(16);
    expect(scored.confusion).toEqual(run.metrics.test.confusion);
  }, 60_000);

  it('the report shows misclassified photos in colour', async () => {
    const r = await graft('report', source);
    expect(r.code).toBe(0);
    const html = readFileSync(readdirSync(source).filter((f) => f.endsWith('.html')).map((f) => path.join(source, f))[0]!, 'utf8');
    const uris = [...html.matchAll(/data:image\/png;base64,([A-Za-z0-9+/=]+)/g)].map((m) => m[1]!);
    expect(uris.length).toBeGreaterThan(0);
    const png = PNG.sync.read(Buffer.from(uris[0]!, 'base64'));
    expect([png.width, png.height]).toEqual([32, 32]);
    let coloured = false;
    for (let i = 0; i < png.data.length; i += 4) coloured ||= png.data[i] !== png.data[i + 1] || png.data[i + 1] !== png.data[i + 2];
    expect(coloured).toBe(true);
  }, 60_000);

  it('compare on a folder task fits the photos to the source input', async () => {
    const out = path.join(runs, 'compare');
    const r = await graft('compare', '--from', source, '--task', `folder:${flat}:binary=cat,dog`, '--per-class', '10', '--seeds', '1', '--frozen-epochs', '1', '--epochs', '1', '--workers', '1', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/2 classes, train 64, test 16 \(test = 20% of each class, fixed seed 0\); images fitted to 32×32×3/);
    const result = JSON.parse(readFileSync(path.join(out, 'compare.json'), 'utf8')) as { trials: unknown[] };
    expect(result.trials).toHaveLength(2);
  }, 120_000);

  it('train --task csv: with --input and --resize pad', async () => {
    const out = path.join(runs, 'csv');
    const r = await graft('train', '--task', `csv:${path.join(tmp, 'csv', 'labels.csv')}`, '--input', '16', '--resize', 'pad', ...fit, '--out', out);
    expect(r.code).toBe(0);
    const run = runJson(out);
    expect(run.sampleShape).toEqual([16, 16, 3]);
    expect(run.preprocessing.resize).toBe('pad');
    expect(run.data.sizes).toEqual({ train: 32, test: 8 });
    expect((await graft('train', '--task', `folder:${flat}`, '--resize', 'stretch', '--out', path.join(runs, 'x'))).stderr).toMatch(/--resize received "stretch"; choose one of crop, squash, pad/);
  }, 60_000);

  it('an experiment file with a folder task relative to the file', async () => {
    const file = path.join(tmp, 'photos.yaml');
    writeFileSync(file, 'kind: train\ntask: folder:flat:classes=airplane,cat\nout: runs/from-yaml\narchitecture: mlp\nepochs: 1\n');
    expect((await graft('run', file, '--check')).code).toBe(0);
    const r = await graft('run', file);
    expect(r.code).toBe(0);
    expect(runJson(path.join(tmp, 'runs', 'from-yaml')).task).toBe(`folder:${flat}:classes=airplane,cat`);
    writeFileSync(file, 'kind: train\ntask: folder:flat:binary=a\nout: runs/bad\n');
    expect((await graft('run', file, '--check')).stderr).toMatch(/task .*binary needs exactly 2 classes/);
  }, 60_000);
});
