/**
 * Typed errors. Every user-facing failure says what went wrong, what was received and how to fix
 * it; `code` is stable so scripts and tests can match on it. The CLI maps `GraftError` subclasses
 * with `userError = true` to exit code 2 and a one-line message; anything else is a bug (exit 1).
 */
export type GraftErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_TASK_SPEC'
  | 'DATA_NOT_FOUND'
  | 'DATA_CORRUPT'
  | 'CHECKSUM_MISMATCH'
  | 'DOUBLE_NORMALIZATION'
  | 'UNNORMALIZED_INPUT'
  | 'LABEL_OUT_OF_RANGE'
  | 'LOSS_ACTIVATION_MISMATCH'
  | 'SHAPE_MISMATCH'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_CORRUPT'
  | 'RUN_INCOMPLETE'
  | 'RUN_INTERRUPTED'
  | 'INTERRUPTED'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_MISMATCH'
  | 'OUTPUT_EXISTS'
  | 'OUTPUT_PROTECTED'
  | 'WRITE_FAILED'
  | 'BAD_LAYER_REF'
  | 'NON_FINITE_LOSS'
  | 'DIVERGED'
  | 'BACKEND_UNAVAILABLE'
  | 'NETWORK'
  | 'WEIGHTS_NOT_FOUND'
  | 'UNSUPPORTED_OP';

export class GraftError extends Error {
  readonly code: GraftErrorCode;
  /** True when the user can fix it (bad input, missing file); false for internal failures. */
  readonly userError: boolean;

  constructor(code: GraftErrorCode, message: string, options?: { cause?: unknown; userError?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GraftError';
    this.code = code;
    this.userError = options?.userError ?? true;
  }
}

/** Short, readable rendering of a received value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describeValue).join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  if (value instanceof RegExp) return String(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value);
}

export function isGraftError(e: unknown): e is GraftError {
  return e instanceof GraftError;
}
