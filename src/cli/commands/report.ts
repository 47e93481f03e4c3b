import { GraftError } from '../../errors.js';
import { assertRunsFinished } from '../../io/half-finished.js';
import { defineCommand } from '../command.js';
import { writeReportFor } from '../report-file.js';
import { printOut } from '../terminal-text.js';

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'Write one self-contained HTML report (verdict, learning curves, confusion matrices, comparisons) for a run, seed, compare, sweep, layers or lr-find folder.',
  usage: 'graft report DIR [--out FILE]',
  options: {
    out: { type: 'string', value: 'FILE', description: 'Where to write the HTML (default DIR/report.html)' },
  },
  epilog: 'DIR: a run directory (run.json), a folder of runs such as runs/seed, or the --out folder of graft compare, sweep, layers, merge\n(compare.json, sweep.json, layers.json) or lr-find (lr-find.json: the range test\'s curve and suggestion).\nThe file has no scripts and no external links: it opens offline.',
  async run({ values: v, positionals }) {
    const [dir] = positionals;
    if (!dir || positionals.length > 1) throw new GraftError('BAD_ARGUMENT', `graft report takes one folder; received ${positionals.length} (${positionals.join(' ') || 'none'}). Example: graft report runs/seed`);
    // A report that silently skipped an unfinished run would mislead.
    await assertRunsFinished(dir);
    // Written atomically: a half-written report never replaces a good one.
    printOut(`${await writeReportFor(dir, v.out)}\n`);
    return 0;
  },
});
