// Child process for checkpoint-dir.test.ts: writes the checkpoint of the run folder DIR again and
// again with graft's built writeCheckpoint (dist/) until the parent SIGKILLs it. Round v's state
// holds v everywhere (header epoch, counter, every array value), so the parent can tell one
// complete round from a mix of two. Prints "start v" before and "saved v" after each round.
// With STEP_DELAY_MS > 0 every write step first waits that long, as on a slow disk.
// Usage: node checkpoint-loop-child.mjs DIR MIB [STEP_DELAY_MS]
import { writeCheckpoint } from '../../dist/io/checkpoint-dir.js';
import { writeFaults } from '../../dist/io/atomic.js';

const [dir, mib = '4', stepDelay = '0'] = process.argv.slice(2);
if (!dir) throw new Error('usage: checkpoint-loop-child.mjs DIR MIB [STEP_DELAY_MS]');
if (Number(stepDelay) > 0) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  writeFaults.before = () => void Atomics.wait(cell, 0, 0, Number(stepDelay));
}
const n = Math.round((Number(mib) * 2 ** 20) / 4);
process.stdout.write('ready\n');
for (let v = 1; ; v++) {
  const header = { command: 'train', reason: 'test', savedAt: new Date(0).toISOString(), graftVersion: 'test', phase: 'train', epoch: v, epochs: 1e9, batch: 0, batches: 1 };
  const state = { v, weights: [new Float32Array(n).fill(v), new Float32Array(3).fill(v)], order: new Int32Array(100).fill(v), best: Infinity };
  process.stdout.write(`start ${v}\n`);
  await writeCheckpoint(dir, header, state, { force: true });
  process.stdout.write(`saved ${v}\n`);
}
