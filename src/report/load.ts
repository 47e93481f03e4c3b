import * as path from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import type { CompareResult } from '../evaluate/compare-result.js';
import { GraftError, describeValue } from '../errors.js';
import { exists } from '../io/exists.js';
import { READ_LIMITS, readRegularFile } from '../io/regular-file.js';
import { readRunInfo, RUN_FILE } from '../io/run-dir.js';
import { readConsistently, type ConsistentRead, type ReadRecorder } from '../io/run-consistency.js';
import { EXAMPLES_FILE, type ExampleImage } from './examples.js';
import type { ReportInput, ReportRun, SeedTableRow } from './input.js';
import type { LrFindRecord } from './lr-find-section.js';

export const COMPARE_FILE = 'compare.json';
export const SEED_FILE = 'seed.json';
export const LAYERS_FILE = 'layers.json';
export const SWEEP_FILE = 'sweep.json';
export const LR_FIND_FILE = 'lr-find.json';


/**
 * Gathers what a report shows from a folder: a run directory (run.json), a compare folder
 * (compare.json, plus any run directories inside), or a folder of run directories such as
 * runs/seed (plus seed.json when `graft seed` wrote one).
 */
export async function loadReportInput(dir: string): Promise<ReportInput> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new GraftError('DATA_NOT_FOUND', `Nothing to report: ${dir} does not exist. Pass a run directory (from graft train/transfer), a folder of runs such as runs/seed, or a graft compare output folder.`);
  }
  if (!st.isDirectory()) {
    throw new GraftError('BAD_ARGUMENT', `graft report takes a folder; received the file ${dir}. Pass the folder that holds run.json or compare.json.`);
  }
  const name = path.basename(path.resolve(dir));
  if (await exists(path.join(dir, RUN_FILE))) {
    const run = await loadRun(dir, name);
    return { title: `graft report: ${name}`, runs: [run] };
  }
  const runs = await subRuns(dir);
  for (const [file, key] of [[LAYERS_FILE, 'layers'], [SWEEP_FILE, 'sweep']] as const) {
    const p = path.join(dir, file);
    if (await exists(p)) return { title: `graft ${key}: ${name}`, runs, [key]: await readJson(p, `graft ${key}'s result`) } as ReportInput;
  }
  const compareFile = path.join(dir, COMPARE_FILE);
  if (await exists(compareFile)) {
    const compare = await readCompare(compareFile);
    return { title: `graft compare: ${compare.task}`, runs, compare };
  }
  const lrFindFile = path.join(dir, LR_FIND_FILE);
  if (await exists(lrFindFile)) {
    const lrFind = await readLrFind(lrFindFile);
    return { title: `Learning-rate range test: ${lrFind.task}`, runs, lrFind };
  }
  if (runs.length > 0) {
    const seedFile = path.join(dir, SEED_FILE);
    const seed = (await exists(seedFile)) ? await readSeed(seedFile) : undefined;
    return { title: `graft report: ${name}`, runs, ...(seed && { seed }) };
  }
  throw new GraftError(
    'DATA_NOT_FOUND',
    `Nothing to report in ${dir}: looked for ${RUN_FILE}, ${COMPARE_FILE}, ${LAYERS_FILE}, ${SWEEP_FILE}, ${LR_FIND_FILE}, and sub-folders holding ${RUN_FILE}, and found none. ` +
      'Pass a run directory (from graft train/transfer), a folder of runs such as runs/seed, or a graft compare output folder.',
  );
}

/** Immediate sub-folders that are run directories, in name order (model-a, model-b, scratch-b). */
async function subRuns(dir: string): Promise<ReportRun[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  const runs: ReportRun[] = [];
  for (const n of names) if (await exists(path.join(dir, n, RUN_FILE))) runs.push(await loadRun(path.join(dir, n), n));
  return runs;
}

/** run.json and examples.json, from one save (a --force replace may be running). */
function loadRun(dir: string, name: string): Promise<ReportRun> {
  return readConsistently(dir, async (record): Promise<ConsistentRead<ReportRun>> => {
    const run = await readRunInfo(path.join(dir, RUN_FILE));
    const file = path.join(dir, EXAMPLES_FILE);
    if (!(await exists(file))) return { value: { name, run }, expected: run.files };
    return { value: { name, run, examples: await readExamples(file, record) }, expected: run.files };
  });
}

async function readJson(file: string, what: string, record?: ReadRecorder): Promise<unknown> {
  try {
    const bytes = await readRegularFile(file, { maxBytes: READ_LIMITS.json, expected: what, code: 'DATA_CORRUPT' });
    record?.(file, bytes);
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('DATA_CORRUPT', `${file} is not valid JSON (${(e as Error).message}). It should be ${what}; re-run the command that wrote it, or delete it.`);
  }
}

async function readExamples(file: string, record?: ReadRecorder): Promise<ExampleImage[]> {
  const data = (await readJson(file, 'the misclassified-image list graft writes', record)) as { images?: unknown };
  const images = data?.images;
  const ok = (i: unknown): i is ExampleImage => {
    const e = i as Partial<ExampleImage> | null;
    return typeof e === 'object' && e !== null && typeof e.label === 'string' && typeof e.predicted === 'string' && typeof e.confidence === 'number' && typeof e.dataUri === 'string' && e.dataUri.startsWith('data:image/');
  };
  if (!Array.isArray(images) || !images.every(ok)) {
    throw new GraftError('DATA_CORRUPT', `${file} should be {"images": [{"label", "predicted", "confidence", "dataUri": "data:image/png;base64,…"}]}; received ${describeValue(Array.isArray(images) ? images.find((i) => !ok(i)) : data)}. Re-run the command that wrote it, or delete it.`);
  }
  return images;
}

async function readCompare(file: string): Promise<CompareResult> {
  const c = (await readJson(file, 'the result of graft compare')) as Partial<CompareResult> | null;
  if (typeof c !== 'object' || c === null || c.kind !== 'compare' || !Array.isArray(c.rows) || !Array.isArray(c.trials) || !Array.isArray(c.seeds) || typeof c.task !== 'string' || typeof c.settings !== 'object') {
    throw new GraftError('DATA_CORRUPT', `${file} lacks the fields a comparison needs (kind "compare", task, seeds, settings, rows, trials); received ${describeValue(c)} with keys ${describeValue(c && typeof c === 'object' ? Object.keys(c) : [])}. Re-run graft compare to write it again.`);
  }
  return c as CompareResult;
}

/** lr-find.json as graft lr-find writes it: the curve (one loss per rate) and the suggestions. */
async function readLrFind(file: string): Promise<LrFindRecord> {
  const r = (await readJson(file, 'the curve graft lr-find writes')) as Partial<LrFindRecord> | null;
  const numbers = (xs: unknown): xs is number[] => Array.isArray(xs) && xs.every((x) => typeof x === 'number');
  const ok =
    typeof r === 'object' && r !== null && typeof r.task === 'string' && numbers(r.rates) && r.rates.length > 0 && numbers(r.losses) && numbers(r.smoothed) &&
    r.losses.length === r.rates.length && r.smoothed.length === r.rates.length && typeof r.suggestion === 'object' && r.suggestion !== null && typeof r.stoppedEarly === 'boolean';
  if (!ok) {
    throw new GraftError(
      'DATA_CORRUPT',
      `${file} lacks what a range test's report needs (task, rates, losses and smoothed of one length, stoppedEarly, suggestion); received keys ${describeValue(r && typeof r === 'object' ? Object.keys(r) : r)}. Re-run graft lr-find --out DIR to write it again.`,
    );
  }
  return r as LrFindRecord;
}

async function readSeed(file: string): Promise<{ rows: SeedTableRow[] } | undefined> {
  const s = (await readJson(file, 'the summary graft seed writes')) as { rows?: unknown } | null;
  if (!Array.isArray(s?.rows)) {
    throw new GraftError('DATA_CORRUPT', `${file} should hold {"rows": [{"model", "phase", "epochs", "seconds", "testAccuracy"}]}; received ${describeValue(s)}. Re-run graft seed, or delete it.`);
  }
  return { rows: s.rows as SeedTableRow[] };
}
