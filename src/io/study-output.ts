import * as path from 'node:path';
import { claimOutputFile, ensureOutputFolder, type ClaimOptions } from './output-claim.js';
import type { OutputKind } from './ownership.js';
import { checkStorage } from './storage-check.js';

/** Room asked for before a study starts: its JSON and report are a few MB at most. */
const STUDY_BYTES = 16 * 1024 ** 2;

/**
 * Claims a study's output folder (compare, sweep, layers, seed) before any trial runs: its result
 * file and report.html may be written there, the disk has room, and the folder exists. Checks come
 * first, so a refusal leaves nothing behind.
 */
export async function claimStudyOutput(out: string, kind: OutputKind, resultFile: string, o: ClaimOptions): Promise<void> {
  const flag = o.flag ?? '--out';
  await claimOutputFile(resultFile, 'result', { ...o, flag });
  await claimOutputFile(path.join(out, 'report.html'), 'report', { ...o, flag, replaceOwn: true });
  await checkStorage(path.join(out, 'report.html'), STUDY_BYTES);
  await ensureOutputFolder(out, kind, { ...o, flag });
}
