import { afterEach, describe, expect, it, vi } from 'vitest';
import { printSweep } from '../../src/cli/commands/sweep.js';
import { renderTable } from '../../src/cli/table.js';
import type { SweepResult } from '../../src/evaluate/sweep-result.js';

/** The heading line's columns (two or more spaces apart; a heading may hold one space) and the rule's segments. */
function columns(table: string): { headings: string[]; rules: string[] } {
  const [head, rule] = table.split('\n');
  return { headings: head!.trim().split(/ {2,}/), rules: rule!.trim().split(/ +/) };
}

afterEach(() => vi.restoreAllMocks());

describe('renderTable', () => {
  it('underlines each heading once: a column without a heading gets no rule', () => {
    const t = renderTable(['#', 'val accuracy', ''], [['1', '0.5', ''], ['2', '0.6', '← chosen']]);
    const { headings, rules } = columns(t);
    expect(rules).toHaveLength(headings.length);
    expect(t.split('\n')[1]).toBe('─  ────────────');
  });
});

describe('graft sweep table', () => {
  it('has as many rules under the headings as headings', () => {
    const config = { cut: null, freeze: 'all', frozenEpochs: 4, unfrozenEpochs: 8, frozenLr: 0.001, unfrozenLr: 0.0001 };
    const r: SweepResult = {
      kind: 'sweep', createdAt: 't', graftVersion: 't', backend: 'cpu', source: 'runs/a', task: 't', mode: 'grid', tried: 2,
      trials: [{ config, valAccuracy: 0.97, valLoss: 0.1, seconds: 2 }, { config: { ...config, frozenLr: 0.01 }, valAccuracy: 0.95, valLoss: 0.2, seconds: 2 }],
      best: { config, valAccuracy: 0.97, valLoss: 0.1, seconds: 2, testAccuracy: 0.955, testLoss: 0.12 },
      caveat: 'optimistic',
    };
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    printSweep(r);
    const table = out.slice(out.indexOf('\n#') + 1);
    const { headings, rules } = columns(table);
    expect(headings).toEqual(['#', 'cut', 'freeze', 'frozen epochs', 'unfrozen epochs', 'frozen lr', 'unfrozen lr', 'val accuracy', 'val loss', 'seconds']);
    expect(rules).toHaveLength(headings.length);
    expect(table).toContain('← chosen');
  });
});
