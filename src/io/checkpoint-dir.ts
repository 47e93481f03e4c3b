import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { leftoversIn, removeStale, writeFileAtomic } from './atomic.js';
import { writeOutputDir } from './output-claim.js';
import { exists } from './exists.js';
import { READ_LIMITS, readRegularFile } from './regular-file.js';

/**
 * Checkpoints of interrupted runs. A run folder holding checkpoint.json (and no run.json) is an
 * interrupted run; what is in it:
 *   checkpoint.json        where the run stopped and how to resume it (readable), then the state
 *                          as JSON in which every typed array is a reference into the blob
 *   checkpoint-<hash>.bin  those arrays' bytes, named by a prefix of their SHA-256
 * The first checkpoint creates the folder in one rename (writeDirAtomic). A later one (a resumed
 * run interrupted again) writes its blob under its own name, then replaces checkpoint.json by an
 * atomic rename, then deletes the old blob. A kill at any moment leaves the old checkpoint or the
 * new one, each complete: checkpoint.json records the blob's size and SHA-256, checked on reading.
 */

export const CHECKPOINT_FILE = 'checkpoint.json';
const FORMAT = 'graft-checkpoint';
const VERSION = 1;
const BLOB_NAME = /^checkpoint-[0-9a-f]{16}\.bin$/;

/** Where a run stopped: what messages show, readable without loading the state. */
export interface CheckpointHeader {
  /** The graft command that resumes it, e.g. "train". */
  command: string;
  /** What stopped it, e.g. "SIGINT". */
  reason: string;
  /** When the checkpoint was written (ISO 8601). */
  savedAt: string;
  graftVersion: string;
  phase: string;
  /** The epoch in progress (1-based) and the phase's epochs. */
  epoch: number;
  epochs: number;
  /** Batches of that epoch already done, of `batches`. */
  batch: number;
  batches: number;
}

interface BlobInfo {
  file: string;
  bytes: number;
  sha256: string;
  littleEndian: boolean;
}

type BlobRef = { $blob: 'f32' | 'i32'; offset: number; length: number };

/** The state as JSON-safe values, its typed arrays moved into one byte blob. */
function encode(state: unknown): { json: unknown; blob: Buffer } {
  const parts: Buffer[] = [];
  let offset = 0;
  const walk = (v: unknown): unknown => {
    if (v instanceof Float32Array || v instanceof Int32Array) {
      parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      const ref: BlobRef = { $blob: v instanceof Float32Array ? 'f32' : 'i32', offset, length: v.length };
      offset += v.byteLength;
      return ref;
    }
    // JSON has no NaN, ±Infinity or -0 (a NaN loss sum, early stopping's initial best).
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $number: Object.is(v, -0) ? '-0' : String(v) };
    if (ArrayBuffer.isView(v)) throw new GraftError('CHECKPOINT_MISMATCH', `Checkpoints hold Float32Array and Int32Array data; received a ${v.constructor.name}.`, { userError: false });
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined && typeof x !== 'function') out[k] = walk(x);
      return out;
    }
    return v;
  };
  const json = walk(state);
  return { json, blob: Buffer.concat(parts) };
}

function decode(json: unknown, blob: Buffer, where: string): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (typeof o.$number === 'string') return Number(o.$number);
    if (o.$blob === 'f32' || o.$blob === 'i32') {
      const { offset, length } = o as BlobRef;
      const end = offset + length * 4;
      if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset % 4 !== 0 || end > blob.length) {
        throw corrupt(where, `an array reference (offset ${offset}, length ${length}) lies outside the ${blob.length}-byte blob`);
      }
      // A copy: the file's buffer may not be 4-byte aligned.
      const bytes = blob.buffer.slice(blob.byteOffset + offset, blob.byteOffset + end);
      return o.$blob === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
    }
    const out: Record<string, unknown> = {};
    // A "__proto__" key (legal JSON) would otherwise replace the copy's prototype.
    for (const [k, x] of Object.entries(o)) if (k !== '__proto__') out[k] = walk(x);
    return out;
  };
  return walk(json);
}

function corrupt(where: string, what: string): GraftError {
  return new GraftError('CHECKPOINT_CORRUPT', `The checkpoint in ${where} is damaged: ${what}. It cannot be resumed; start the run over with --force (its progress is lost).`);
}

/**
 * Writes `state` (JSON values and Float32Array/Int32Array data) as the checkpoint of run folder
 * `dir`. A folder that already holds a checkpoint is updated in place when `force`; any other
 * existing folder is replaced only with `force`, as for runs.
 */
export async function writeCheckpoint(dir: string, header: CheckpointHeader, state: unknown, options: { force: boolean }): Promise<void> {
  const { json, blob } = encode(state);
  const sha256 = createHash('sha256').update(blob).digest('hex');
  const info: BlobInfo = { file: `checkpoint-${sha256.slice(0, 16)}.bin`, bytes: blob.length, sha256, littleEndian: endianness() === 'LE' };
  const text = `${JSON.stringify({ format: FORMAT, version: VERSION, ...header, blob: info, state: json }, null, 1)}\n`;
  if (options.force && (await hasCheckpoint(dir))) {
    // Order matters: the JSON names a blob only once that blob is complete on disk.
    await writeFileAtomic(path.join(dir, info.file), blob);
    await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), text);
    for (const name of await readdir(dir)) if (BLOB_NAME.test(name) && name !== info.file) await rm(path.join(dir, name), { force: true });
    // Temp files of writers killed mid-write (their blob names differ from this one's).
    await removeStale(await leftoversIn(dir));
    return;
  }
  await writeOutputDir(dir, 'run', { [info.file]: blob, [CHECKPOINT_FILE]: text }, { force: options.force });
}

/** Whether `dir` holds a checkpoint (is an interrupted run). */
export function hasCheckpoint(dir: string): Promise<boolean> {
  return exists(path.join(dir, CHECKPOINT_FILE));
}

async function readDoc(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = (await readRegularFile(file, { maxBytes: READ_LIMITS.json, expected: `the ${CHECKPOINT_FILE} graft wrote`, code: 'CHECKPOINT_CORRUPT', fix: 'It cannot be resumed; start the run over with --force (its progress is lost).' })).toString('utf8');
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('MODEL_NOT_FOUND', `No checkpoint in ${dir} (no ${CHECKPOINT_FILE}): it is not an interrupted graft run. --resume takes the --out folder of a graft train/transfer run stopped with Ctrl-C or SIGTERM.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw corrupt(dir, `${CHECKPOINT_FILE} is not valid JSON (${(e as Error).message})`);
  }
  const d = doc as Record<string, unknown> | null;
  if (d === null || typeof d !== 'object' || d.format !== FORMAT) throw corrupt(dir, `${CHECKPOINT_FILE} is not a graft checkpoint`);
  if (d.version !== VERSION) throw new GraftError('CHECKPOINT_MISMATCH', `The checkpoint in ${dir} has format version ${String(d.version)}; this graft reads version ${VERSION}. Resume it with the graft version that wrote it (${String(d.graftVersion)}).`);
  return d;
}

function headerOf(d: Record<string, unknown>, dir: string): CheckpointHeader {
  const h = d as unknown as CheckpointHeader;
  const numbers = [h.epoch, h.epochs, h.batch, h.batches];
  if (typeof h.command !== 'string' || typeof h.phase !== 'string' || numbers.some((n) => typeof n !== 'number')) throw corrupt(dir, `${CHECKPOINT_FILE} lacks the command, phase or position it stopped at`);
  return { command: h.command, reason: String(h.reason), savedAt: String(h.savedAt), graftVersion: String(h.graftVersion), phase: h.phase, epoch: h.epoch, epochs: h.epochs, batch: h.batch, batches: h.batches };
}

/** Where the run in `dir` stopped, from checkpoint.json alone (the blob is not read). */
export async function readCheckpointHeader(dir: string): Promise<CheckpointHeader> {
  return headerOf(await readDoc(dir), dir);
}

/** The checkpoint in `dir`, its blob checked against the recorded size and SHA-256. */
export async function readCheckpoint(dir: string): Promise<{ header: CheckpointHeader; state: unknown }> {
  const doc = await readDoc(dir);
  const header = headerOf(doc, dir);
  const info = doc.blob as BlobInfo | undefined;
  if (!info || typeof info.file !== 'string' || !BLOB_NAME.test(info.file)) throw corrupt(dir, `${CHECKPOINT_FILE} does not name its data file`);
  if (info.littleEndian !== (endianness() === 'LE')) throw new GraftError('CHECKPOINT_MISMATCH', `The checkpoint in ${dir} was written on a machine of the other byte order; resume it there.`);
  let blob: Buffer;
  try {
    blob = await readRegularFile(path.join(dir, info.file), { maxBytes: Math.min(Number(info.bytes) || 0, READ_LIMITS.blob), expected: `the checkpoint data file graft wrote (${String(info.bytes)} bytes)`, code: 'CHECKPOINT_CORRUPT', fix: 'It cannot be resumed; start the run over with --force (its progress is lost).' });
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw corrupt(dir, `its data file ${info.file} is missing`);
  }
  if (blob.length !== info.bytes) throw corrupt(dir, `${info.file} has ${blob.length} bytes, ${info.bytes} were written`);
  if (createHash('sha256').update(blob).digest('hex') !== info.sha256) throw corrupt(dir, `${info.file} does not match its recorded SHA-256`);
  return { header, state: decode(doc.state, blob, dir) };
}

/** The command that resumes the run in `dir`, for messages. */
export function resumeCommand(header: Pick<CheckpointHeader, 'command'>, dir: string): string {
  return `graft ${header.command} --resume ${/^[\w./-]+$/.test(dir) ? dir : JSON.stringify(dir)}`;
}

/** "phase "train", epoch 3/10, after batch 7/25", for messages. */
export function describePosition(h: Pick<CheckpointHeader, 'phase' | 'epoch' | 'epochs' | 'batch' | 'batches'>): string {
  return `phase "${h.phase}", epoch ${h.epoch}/${h.epochs}, after batch ${h.batch}/${h.batches}`;
}

/**
 * When `dir` is an interrupted run: where it stopped, in words, and the command that resumes it
 * (undefined when its checkpoint.json is unreadable). Undefined when `dir` holds no checkpoint.
 */
export async function interruptedRun(dir: string): Promise<{ problem: string; resume?: string } | undefined> {
  if (!(await hasCheckpoint(dir))) return undefined;
  try {
    const h = await readCheckpointHeader(dir);
    return { problem: `stopped by ${h.reason} in ${describePosition(h)}; it holds a checkpoint, not a finished model`, resume: resumeCommand(h, dir) };
  } catch (e) {
    return { problem: `it was interrupted, and its ${CHECKPOINT_FILE} cannot be read (${(e as Error).message})` };
  }
}
