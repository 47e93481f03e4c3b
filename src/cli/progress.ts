import type { BatchProgress, EpochRecord, TrainCallbacks } from '../train/types.js';
import { safeLines, safeText } from './terminal-text.js';

export interface ProgressOptions {
  /** Label printed before each line, e.g. "Model A". */
  label: string;
  stream?: NodeJS.WriteStream;
  /** Print nothing (for --json). */
  silent?: boolean;
}

/**
 * Training progress for the terminal: a live bar with loss, accuracy and ETA on a TTY; one plain
 * line per epoch otherwise (logs, CI); nothing when silent.
 */
export function progressCallbacks(options: ProgressOptions): TrainCallbacks {
  const stream = options.stream ?? process.stderr;
  if (options.silent) return {};
  const tty = stream.isTTY === true;
  // Only the \r and erase-line below are graft's own; the label and messages may quote data.
  const label = safeText(options.label);
  // `graft train` labels its lines "train" and its one phase is "train" too: say it once.
  const prefix = (phase: string): string => (phase === options.label ? label : `${label} ${safeText(phase)}`);
  return {
    onBatchProgress(p: BatchProgress) {
      if (!tty) return;
      const frac = p.batch / p.batches;
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = frac > 0 ? (p.elapsedSeconds / frac) * (1 - frac) : 0;
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      stream.write(`\r\x1b[2K${prefix(p.phase)} ${p.epoch}/${p.epochs} ${bar} ${Math.round(frac * 100)}% loss ${p.loss.toFixed(4)} acc ${p.accuracy.toFixed(4)} ETA ${eta.toFixed(0)}s`);
    },
    onEpochEnd(r: EpochRecord) {
      const val = r.valLoss !== undefined ? ` val_loss ${r.valLoss.toFixed(4)} val_acc ${r.valAccuracy!.toFixed(4)}` : '';
      stream.write(`${tty ? '\r\x1b[2K' : ''}${prefix(r.phase)} epoch ${r.epoch}: loss ${r.loss.toFixed(4)} acc ${r.accuracy.toFixed(4)}${val} (${r.seconds.toFixed(1)}s)\n`);
    },
    onMessage(text: string) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${label}: ${safeLines(text)}\n`);
    },
  };
}
