import { describe, expect, it } from 'vitest';
import { progressCallbacks } from '../../src/cli/progress.js';
import { timeSpent } from '../../src/cli/time-spent.js';

/** A stand-in stderr that keeps what was written. */
function stream(tty: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY: tty, text: '', write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

const epoch = (phase: string) => ({ phase, epoch: 1, loss: 0.5, accuracy: 0.8, learningRate: 0.01, seconds: 1.5 });
const batch = (phase: string) => ({ phase, epoch: 1, epochs: 3, batch: 5, batches: 10, loss: 0.5, accuracy: 0.8, elapsedSeconds: 2 });

describe('progress lines', () => {
  it('say "train epoch 1", not "train train epoch 1", when the label is the phase', () => {
    const s = stream(false);
    progressCallbacks({ label: 'train', stream: s }).onEpochEnd!(epoch('train'));
    expect(s.text).toMatch(/^train epoch 1: loss 0\.5000/);
  });
  it('keep the phase when it says more than the label', () => {
    const s = stream(false);
    const cb = progressCallbacks({ label: 'transfer', stream: s });
    cb.onEpochEnd!(epoch('frozen'));
    expect(s.text).toMatch(/^transfer frozen epoch 1:/);
  });
  it('do the same on the live bar of a terminal', () => {
    const s = stream(true);
    progressCallbacks({ label: 'train', stream: s }).onBatchProgress!(batch('train'));
    expect(s.text).toMatch(/^\r\x1b\[2Ktrain 1\/3 /);
  });
});

describe('the time a run took', () => {
  it('names training and test scoring apart', () => {
    expect(timeSpent(84.24, 47.6)).toBe('(84.2 s of training, 47.6 s scoring the test set)');
  });
});
