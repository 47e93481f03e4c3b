import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { claimOutputFile } from '../io/output-claim.js';
import { loadReportInput } from '../report/load.js';
import { renderReport } from '../report/render.js';

/** The report's path for a run, seed or compare folder: DIR/report.html unless given. */
export function reportPath(dir: string, out?: string): string {
  return out ?? path.join(dir, 'report.html');
}

/**
 * Checks, before any work, that the report can be written at `out`: absent, or a report graft
 * wrote (a report is regenerated in place); any other file there is never overwritten.
 */
export function claimReport(out: string, flag = '--out'): Promise<void> {
  return claimOutputFile(out, 'report', { force: false, replaceOwn: true, flag });
}

/** Writes DIR/report.html (or `out`) for a run, seed or compare folder; returns its path. */
export async function writeReportFor(dir: string, out = reportPath(dir)): Promise<string> {
  await claimReport(out);
  await writeFileAtomic(out, renderReport(await loadReportInput(dir)));
  return out;
}
