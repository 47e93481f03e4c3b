import { spawn } from 'node:child_process';
import { GraftError } from '../../errors.js';
import { parseQueueUrl } from '../../workflows/queue/connection.js';
import { DEFAULT_STALL_SECONDS, startQueueWorker } from '../../workflows/queue/worker.js';
import { defineCommand, numberOption } from '../command.js';
import { BACKEND_OPTION, ENGINE_OPTION, startBackend, useEngine } from '../common.js';
import { printErr } from '../terminal-text.js';

export const workerCommand = defineCommand({
  name: 'worker',
  summary: 'Run the trials that graft compare/layers/sweep --queue (or graft run FILE --queue) put on a Redis queue (any number of workers, any machines).',
  usage: 'graft worker redis://HOST:PORT[/DB] [--concurrency 1] [--data-dir DIR] [--idle-exit SECONDS]',
  options: {
    concurrency: { type: 'string', value: 'N', default: '1', description: 'Trials run at once on this machine (one process each)' },
    'data-dir': { type: 'string', value: 'DIR', description: "Folder with the dataset files on this machine (default: the coordinator's --data-dir)" },
    'idle-exit': { type: 'string', value: 'SECONDS', description: 'Exit when no trial has arrived for this long (default: keep waiting)' },
    'stall-seconds': { type: 'string', value: 'S', default: String(DEFAULT_STALL_SECONDS), description: "A trial whose worker is silent this long (killed, cut off) goes to another worker; keep it well above the longest time this worker is busy without a pause (reading a large dataset)" },
    ...BACKEND_OPTION,
    ...ENGINE_OPTION,
  },
  epilog: [
    'Each trial carries its task, plan, data hash and the source model by content hash. A worker',
    "refuses (fails at once, not retried) a trial it cannot reproduce exactly: another graft",
    'version, other data, another backend or engine; the coordinator prints the reason.',
    'Example: graft worker redis://queue.lab:6379 --concurrency 4',
  ].join('\n'),
  async run({ values: v, positionals }) {
    const [location] = positionals;
    if (!location || positionals.length > 1) throw new GraftError('BAD_ARGUMENT', `graft worker takes one Redis URL; received ${positionals.length === 0 ? 'none' : positionals.join(' ')}. Fix: graft worker redis://HOST:6379`);
    const url = parseQueueUrl(location);
    const concurrency = numberOption('concurrency', v.concurrency, { integer: true, min: 1, max: 64 })!;
    const idleExitSeconds = numberOption('idle-exit', v['idle-exit'], { min: 0 });
    const stallSeconds = numberOption('stall-seconds', v['stall-seconds'], { min: 1 })!;
    useEngine(v.engine);
    await startBackend(v.backend, false);
    // TF.js trains one model per process at a time: more trials at once are more processes.
    const others = Array.from({ length: concurrency - 1 }, () => spawnWorker(process.argv.slice(2)));
    const w = startQueueWorker({ url, stallSeconds, ...(v['data-dir'] !== undefined && { dataDir: v['data-dir'] }), ...(idleExitSeconds !== undefined && { idleExitSeconds }), onLine: (l) => printErr(`graft worker: ${l}\n`) });
    const onSignal = (): void => {
      printErr(`graft worker: stopping after the trial in hand (send SIGKILL to stop now; the trial then goes to another worker after --stall-seconds)\n`);
      w.stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const s = await w.done;
      printErr(`graft worker: ${s.name} ran ${s.ran} trial${s.ran === 1 ? '' : 's'}${s.refused > 0 ? `, refused ${s.refused}` : ''}; exiting\n`);
      const codes = await Promise.all(others);
      return Math.max(0, ...codes);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});

/** Another `graft worker` process with the same options, running one trial at a time. */
function spawnWorker(args: string[]): Promise<number> {
  const rest = args.filter((a, i) => !a.startsWith('--concurrency') && args[i - 1] !== '--concurrency');
  const child = spawn(process.execPath, [process.argv[1]!, ...rest, '--concurrency', '1'], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
