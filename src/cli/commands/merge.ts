import { GraftError } from '../../errors.js';
import { mergeShards } from '../../workflows/merge.js';
import { defineCommand } from '../command.js';
import { printJson } from '../common.js';
import { writeReportFor } from '../report-file.js';
import { printOut } from '../terminal-text.js';
import { printCompare } from './compare.js';
import { printLayers } from './layers.js';
import { printSweep } from './sweep.js';

export const mergeCommand = defineCommand({
  name: 'merge',
  summary: 'Join the shard files of a study run with --shard K/N into one compare.json, sweep.json or layers.json and report, as one machine would write them.',
  usage: 'graft merge DIR|FILE... [--out DIR] [--force] [--json]',
  options: {
    out: { type: 'string', value: 'DIR', description: 'Write the result and report.html here (default: the folder of the first shard file)' },
    force: { type: 'boolean', description: 'Replace a result file graft wrote there' },
    json: { type: 'boolean', description: 'Print the merged result as JSON' },
  },
  epilog: [
    'DIR: a folder the shards wrote (their --out); FILE: a shard file (KIND.shard-K-of-N.json).',
    'Every shard 1..N of one run must be there exactly once, all of the same plan (task, options,',
    'source model, data, graft version, backend, engine); otherwise nothing is written.',
    'Example: graft merge runs/compare   (graft compare, graft layers, graft sweep FILE and graft run FILE take --shard K/N)',
  ].join('\n'),
  async run({ values: v, positionals }) {
    if (positionals.length === 0) throw new GraftError('BAD_ARGUMENT', 'graft merge needs the folders (or files) the shards wrote; received none. Fix: graft merge runs/compare.');
    const summary = await mergeShards({ inputs: positionals, ...(v.out !== undefined && { out: v.out }), force: v.force });
    const report = await writeReportFor(summary.out);
    if (v.json) {
      printJson(summary.result);
      return 0;
    }
    if (summary.kind === 'compare') printCompare(summary.result);
    else if (summary.kind === 'sweep') printSweep(summary.result);
    else printLayers(summary.result);
    printOut(`\nMerged ${summary.shards.length} shard${summary.shards.length === 1 ? '' : 's'}; wrote ${summary.file} and ${report}\n`);
    return 0;
  },
});
