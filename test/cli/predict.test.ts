import { cliCapture } from './in-process.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { encodeJpeg, encodePng } from '../io/image-fixtures.js';
import { useBackend } from '../helpers.js';
import { colourImage, makePredictRuns, RGB_CLASSES } from '../workflows/predict-fixtures.js';

/** graft predict through the CLI, in this process: output formats, the CSV's claim rules, exit codes. */

const root = mkdtempSync(path.join(tmpdir(), 'graft-predict-cli-'));
let run: string;
let photos: string;

const cli = cliCapture;

const predict = (...args: string[]) => cli(['predict', '--model', run, ...args, '--backend', 'wasm']);

beforeAll(async () => {
  await useBackend();
  ({ rgb: run } = await makePredictRuns(root));
  photos = path.join(root, 'photos');
  mkdirSync(path.join(photos, 'more'), { recursive: true });
  const rng = new Rng(5);
  writeFileSync(path.join(photos, 'a-red.png'), encodePng(30, 20, colourImage(30, 20, 0, rng)));
  writeFileSync(path.join(photos, 'b-green.jpg'), encodeJpeg(16, 16, colourImage(16, 16, 1, rng), 95));
  writeFileSync(path.join(photos, 'more', 'c-blue.png'), encodePng(16, 24, colourImage(16, 24, 2, rng)));
  writeFileSync(path.join(photos, 'd-notes.jpg'), 'these are notes, not a photo\n');
}, 300_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('graft predict (CLI)', () => {
  it('--json: one object per input, {file, predictions: [{class, probability}]} or {file, error}; exit 0 when some succeed', async () => {
    const r = await predict(photos, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Array<{ file: string; predictions?: Array<{ class: string; probability: number }>; error?: { code: string; message: string } }>;
    expect(out.map((e) => path.relative(photos, e.file))).toEqual(['a-red.png', 'b-green.jpg', 'd-notes.jpg', 'more/c-blue.png']);
    expect(out.map((e) => e.predictions?.[0]?.class ?? e.error?.message)).toEqual(['red', 'green', expect.any(String), 'blue']);
    expect(out[0]!.predictions).toHaveLength(3);
    expect(Object.keys(out[0]!.predictions![0]!)).toEqual(['class', 'probability']);
    expect(out[2]).toEqual({ file: path.join(photos, 'd-notes.jpg'), error: { code: 'BAD_ARGUMENT', message: expect.stringContaining('d-notes.jpg is a text file, not an image') } });
    expect(r.stderr).toContain('1 of 4 input(s) could not be predicted');
    expect(r.stderr).toContain('Images → 16×16 RGB, resize crop, pixels /255 (run.json).');
  });

  it('the table: file and top classes with %, --top 1; a failed file is named with its reason below', async () => {
    const r = await predict(path.join(photos, 'a-red.png'), path.join(photos, 'd-notes.jpg'), '--top', '1');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^file\s+class$/);
    expect(lines[2]).toMatch(new RegExp(`a-red\\.png\\s+red \\d+\\.\\d%$`));
    expect(lines[3]).toMatch(/d-notes\.jpg\s+not predicted \(reason below\)/);
    expect(r.stdout).toMatch(/\nNot predicted:\n  \S*d-notes\.jpg is a text file, not an image or an IDX file/);
  });

  it('exit code 2 when every input failed; each is still reported', async () => {
    const r = await predict(path.join(photos, 'd-notes.jpg'), path.join(root, 'nothing-*.png'), '--json');
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(2);
    expect(r.stderr).toContain('none of the 2 input(s) could be predicted');
  });

  it("--csv: one row per image, every class's probability, the error column; a graft comment first", async () => {
    const csv = path.join(root, 'predictions.csv');
    const r = await predict(photos, "--csv", csv, '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^# written by graft \S+ \(graft predict\): model .*resize crop/);
    expect(lines[1]).toBe(`file,class,probability,${RGB_CLASSES.map((c) => `p(${c})`).join(',')},error`);
    expect(lines).toHaveLength(6);
    const red = lines[2]!.split(',');
    expect(red.slice(0, 2)).toEqual([path.join(photos, 'a-red.png'), 'red']);
    expect(Number(red[2])).toBe(Math.max(...red.slice(3, 6).map(Number)));
    expect(red.slice(3, 6).map(Number).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(red[6]).toBe('');
    expect(lines[4]).toMatch(/^.*d-notes\.jpg,,,,,,".*is a text file, not an image or an IDX file.*"$/);
    // The JSON and the CSV agree on the probabilities.
    const json = JSON.parse(r.stdout) as Array<{ predictions?: Array<{ class: string; probability: number }> }>;
    expect(Number(red[3])).toBe(json[0]!.predictions!.find((p) => p.class === 'red')!.probability);

    // Again without --force: refused; with --force: replaced (graft wrote it).
    const again = await predict(photos, '--csv', csv);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    const forced = await predict(path.join(photos, 'a-red.png'), '--csv', csv, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(csv, 'utf8').trimEnd().split('\n')).toHaveLength(3);
  });

  it("--csv onto a user's file is refused, with or without --force, the file byte-identical", async () => {
    const mine = path.join(root, 'mine.csv');
    // Even a CSV that starts like graft's header is not graft's without the comment line.
    const text = 'file,class,probability\nholiday.jpg,cat,0.9\n';
    writeFileSync(mine, text);
    for (const extra of [[], ['--force']]) {
      const r = await predict(photos, '--csv', mine, ...extra);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(extra.length ? /Refusing to replace .*mine\.csv: it was not written by graft/ : /mine\.csv already exists \(not written by graft\)/);
      expect(r.stdout).toBe(''); // refused before predicting anything
      expect(readFileSync(mine, 'utf8')).toBe(text);
    }
  });

  it('--top, --resize and --force are checked; --help names every input and model form', async () => {
    expect((await predict(photos, '--top', '0')).stderr).toContain('--top needs a whole number of classes, 1 or more; received "0"');
    expect((await predict(photos, '--resize', 'stretch')).stderr).toContain('--resize must be one of crop, squash, pad; received "stretch"');
    expect((await predict(photos, '--force')).stderr).toContain('--force only concerns --csv FILE');
    const help = (await cli(['predict', '--help'])).stdout;
    for (const form of ['PNG, JPEG, WebP, BMP or GIF', 'IDX', 'folder', "'photos/*.jpg'", 'graft run directory', 'model.json', '.keras', '.h5', 'Rescaling', 'crop', 'Exit code 0']) expect(help).toContain(form);
  });

  it('a folder of 2000 files: a progress line on stderr at each quarter, the JSON untouched', async () => {
    const many = path.join(root, 'many');
    mkdirSync(many);
    const png = encodePng(4, 4, colourImage(4, 4, 1, new Rng(9)));
    for (let i = 0; i < 2000; i++) writeFileSync(path.join(many, `${String(i).padStart(4, '0')}.png`), png);
    const r = await predict(many, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('predicted'))).toEqual(['predicted 500 of 2000 files', 'predicted 1000 of 2000 files', 'predicted 1500 of 2000 files']);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(2000);
  }, 120_000);

  it("reproduces graft evaluate on a folder: task's test images: the run's own resize (pad) and scale, same loss from the CSV's probabilities", async () => {
    // Wide and tall photos, so pad, crop and squash each give the model different pixels.
    const tree = path.join(root, 'tree');
    const rng = new Rng(17);
    const sizes = [[40, 24], [20, 36], [33, 17], [16, 16]] as const;
    for (const [split, n] of [['train', 12], ['test', 5]] as const) {
      RGB_CLASSES.forEach((c, k) => {
        mkdirSync(path.join(tree, split, c), { recursive: true });
        for (let i = 0; i < n; i++) {
          const [w, h] = sizes[i % sizes.length]!;
          writeFileSync(path.join(tree, split, c, `${i}.png`), encodePng(w, h, colourImage(w, h, k, rng)));
        }
      });
    }
    const out = path.join(root, 'folder-run');
    const cache = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = path.join(root, 'cache');
    try {
      const t = await cli(['train', '--task', `folder:${tree}`, '--input', '12', '--resize', 'pad', '--epochs', '2', '--out', out, '--backend', 'wasm']);
      expect(t.code, t.stderr).toBe(0);
      const e = await cli(['evaluate', '--model', out, '--json', '--backend', 'wasm']);
      expect(e.code, e.stderr).toBe(0);
      const evaluation = JSON.parse(e.stdout) as { loss: number; accuracy: number; count: number };
      const csv = path.join(root, 'tree.csv');
      const p = await cli(['predict', '--model', out, path.join(tree, 'test'), '--csv', csv, '--backend', 'wasm']);
      expect(p.code, p.stderr).toBe(0);
      const [, header, ...lines] = readFileSync(csv, 'utf8').trimEnd().split('\n');
      // The run's classes are the folder names, sorted: blue, green, red.
      const classes = header!.split(',').slice(3, -1).map((c) => c.slice(2, -1));
      expect(classes).toEqual(['blue', 'green', 'red']);
      const rows = lines.map((l) => l.split(','));
      expect(rows).toHaveLength(evaluation.count);
      const truth = rows.map((r) => classes.indexOf(path.basename(path.dirname(r[0]!))));
      const loss = rows.reduce((s, r, i) => s - Math.log(Number(r[3 + truth[i]!])), 0) / rows.length;
      const accuracy = rows.filter((r, i) => r[1] === classes[truth[i]!]).length / rows.length;
      // Unrounded pixels give 3.6e-5 here, crop 0.13, squash 0.11.
      expect(Math.abs(loss - evaluation.loss), `predict's loss ${loss} vs evaluate's ${evaluation.loss}`).toBeLessThan(2e-6);
      expect(accuracy).toBe(evaluation.accuracy);
    } finally {
      if (cache === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = cache;
    }
  }, 120_000);
});
