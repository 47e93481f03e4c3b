import { GraftError } from '../errors.js';
import { activeBackend } from '../engine/backend.js';
import type { Evaluation } from '../evaluate/evaluate.js';
import type { FitCheckpoint } from '../train/checkpoint.js';
import type { TrainCallbacks } from '../train/types.js';
import type { FineTuneCheckpoint } from '../transfer/fine-tune.js';
import { describePosition, readCheckpoint, resumeCommand, writeCheckpoint, type CheckpointHeader } from '../io/checkpoint-dir.js';
import { GRAFT_VERSION } from '../version.js';

/** How the command line ran a workflow, so `--resume DIR` needs no options repeated. */
export interface Invocation {
  command: string;
  /** Every option's value as parsed (flag name → text or boolean). */
  flags: Record<string, string | boolean>;
  /** The working directory relative paths in `flags` refer to. */
  cwd: string;
}

interface CheckpointCommon {
  /** Where it stopped and why. */
  header: CheckpointHeader;
  /** The options that decide the result (normalised); resuming with different ones is refused. */
  options: Record<string, unknown>;
  invocation?: Invocation;
  /** The backend it trained on: another one gives results that differ in the last digits. */
  backend: string;
  /** Seconds of training before the interruption (all earlier parts included). */
  seconds: number;
}

/** An interrupted trainModel or transferModel: all it needs to finish as if never stopped. */
export type RunCheckpoint = CheckpointCommon &
  (
    | { command: 'train'; fit: FitCheckpoint }
    | {
        command: 'transfer';
        fineTune: FineTuneCheckpoint;
        /** The test score after the frozen phase, when that phase had finished. */
        frozenTest?: Evaluation;
        /** The source as the run recorded it (run.json keeps the original path). */
        sourcePath?: string;
      }
  );

/**
 * Thrown by trainModel / transferModel when their `signal` stopped training. With `out`, the
 * checkpoint was saved there before this was thrown (`savedTo`); `checkpoint` is undefined when the
 * signal came before training began (nothing to save).
 */
export class TrainingInterrupted extends GraftError {
  readonly checkpoint: RunCheckpoint | undefined;
  readonly savedTo: string | undefined;
  /** The signal's reason, e.g. "SIGINT". */
  readonly reason: string;

  constructor(reason: string, checkpoint: RunCheckpoint | undefined, savedTo: string | undefined) {
    const where = checkpoint ? describePosition(checkpoint.header) : undefined;
    super(
      'INTERRUPTED',
      !checkpoint
        ? `Interrupted (${reason}) before training began; nothing was saved.`
        : savedTo
          ? `Interrupted (${reason}) in ${where}; checkpoint saved in ${savedTo}. Resume with \`${resumeCommand(checkpoint, savedTo)}\`, or from code with resumeFrom: await readRunCheckpoint(${JSON.stringify(savedTo)}).`
          : `Interrupted (${reason}) in ${where}. Pass this error's checkpoint as resumeFrom, with the same options, to continue.`,
    );
    this.name = 'TrainingInterrupted';
    this.reason = reason;
    this.checkpoint = checkpoint;
    this.savedTo = savedTo;
  }
}

/** What a signal was aborted with, in words ("SIGINT"), for records and messages. */
export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === 'string') return r;
  if (r instanceof Error && r.name !== 'AbortError') return r.message;
  return 'aborted';
}

export function checkpointHeader(command: RunCheckpoint['command'], fit: Pick<FitCheckpoint, 'phase' | 'epoch' | 'epochs' | 'batch' | 'batches'>, signal: AbortSignal | undefined): CheckpointHeader {
  return {
    command,
    reason: signal ? abortReason(signal) : 'aborted',
    savedAt: new Date().toISOString(),
    graftVersion: GRAFT_VERSION,
    phase: fit.phase,
    epoch: fit.epoch,
    epochs: fit.epochs,
    batch: fit.batch,
    batches: fit.batches,
  };
}

/** Saves `checkpoint` into `out` (when given) and returns the error to throw. */
export async function interrupted(checkpoint: RunCheckpoint, out: string | undefined, force: boolean): Promise<TrainingInterrupted> {
  if (out !== undefined) {
    const { header, ...state } = checkpoint;
    await writeCheckpoint(out, header, state, { force });
  }
  return new TrainingInterrupted(checkpoint.header.reason, checkpoint, out);
}

/** The checkpoint of the interrupted run in `dir` (its data checked against its SHA-256). */
export async function readRunCheckpoint(dir: string): Promise<RunCheckpoint> {
  const { header, state } = await readCheckpoint(dir);
  const s = state as Partial<RunCheckpoint> & Record<string, unknown>;
  const ok =
    s !== null &&
    typeof s === 'object' &&
    typeof s.options === 'object' &&
    ((s.command === 'train' && typeof s.fit === 'object') || (s.command === 'transfer' && typeof s.fineTune === 'object'));
  if (!ok) throw new GraftError('CHECKPOINT_CORRUPT', `The checkpoint in ${dir} lacks the training state of a graft train or transfer run. Start the run over with --force.`);
  return { ...(s as RunCheckpoint), header };
}

/** JSON-comparable form of an options value: patterns as text, no undefined or functions, sorted keys. */
export function normaliseOptions(value: unknown): unknown {
  if (value instanceof RegExp) return String(value);
  if (Array.isArray(value)) return value.map(normaliseOptions);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined && typeof v !== 'function') out[k] = normaliseOptions(v);
    }
    return out;
  }
  return value;
}

/**
 * Refuses to resume `checkpoint` with options that differ from the interrupted run's (the result
 * would match neither run), and warns through `callbacks` about what makes the last digits differ.
 */
export function assertResumes(checkpoint: RunCheckpoint, command: RunCheckpoint['command'], options: Record<string, unknown>, callbacks: TrainCallbacks | undefined): void {
  if (checkpoint.command !== command) {
    throw new GraftError('CHECKPOINT_MISMATCH', `This checkpoint is of an interrupted ${checkpoint.command} run; resume it with ${checkpoint.command === 'train' ? 'trainModel' : 'transferModel'} (\`graft ${checkpoint.command} --resume DIR\`).`);
  }
  const was = normaliseOptions(checkpoint.options) as Record<string, unknown>;
  const now = normaliseOptions(options) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  const show = (v: unknown): string => (v === undefined ? '(not set)' : JSON.stringify(v));
  const diffs = keys.filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k])).map((k) => `${k} was ${show(was[k])}, now ${show(now[k])}`);
  if (diffs.length > 0) {
    throw new GraftError(
      'CHECKPOINT_MISMATCH',
      `Cannot resume with other options than the interrupted run's: ${diffs.join('; ')}. Resume with the same options (\`graft ${command} --resume DIR\` reuses them), or start a new run.`,
    );
  }
  const backend = activeBackend()?.name ?? 'unknown';
  if (backend !== checkpoint.backend) {
    callbacks?.onMessage?.(`Resuming on backend ${backend}; the run started on ${checkpoint.backend}. The result can differ from an uninterrupted run in the last digits.`);
  }
  if (checkpoint.header.graftVersion !== GRAFT_VERSION) {
    callbacks?.onMessage?.(`The checkpoint was written by graft ${checkpoint.header.graftVersion}; this is ${GRAFT_VERSION}. The result can differ from an uninterrupted run.`);
  }
}
