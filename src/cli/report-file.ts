import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { loadReportInput } from '../report/load.js';
import { renderReport } from '../report/render.js';

/** Writes DIR/report.html for a run, seed or compare folder; returns its path. */
export async function writeReportFor(dir: string, out = path.join(dir, 'report.html')): Promise<string> {
  await writeFileAtomic(out, renderReport(await loadReportInput(dir)));
  return out;
}
