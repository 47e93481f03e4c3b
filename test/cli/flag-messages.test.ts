import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { numberOption } from '../../src/cli/command.js';
import { applyFreeze, parseFreezePolicy, parseUnfreezePolicy } from '../../src/transfer/freeze.js';
import { cliInProcess } from './in-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-flags-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const out = path.join(root, 'run');
const train = (...extra: string[]) => cliInProcess(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--out', out, '--offline', '--data-dir', path.join(root, 'none'), ...extra]);
const transfer = (...extra: string[]) => cliInProcess(['transfer', '--from', path.join(root, 'model'), '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--out', out, '--offline', ...extra]);

/** The one line graft printed for the error, and that nothing was written. */
function errorLine(r: { code: number; stderr: string }, command: string): string {
  expect(r.code).toBe(2);
  expect(existsSync(out)).toBe(false);
  return r.stderr.split('\n').find((l) => l.startsWith(`graft ${command}:`)) ?? r.stderr;
}

describe('CLI messages for mistyped commands and flags', () => {
  it('a mistyped command suggests the right one', async () => {
    const r = await cliInProcess(['trian']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('graft: unknown command "trian". Did you mean `graft train`?');
    expect((await cliInProcess(['frobnicate'])).stderr).toContain('graft: unknown command "frobnicate".\n');
  });

  it('a mistyped flag suggests the right one; an unrelated one says there is none', async () => {
    expect(errorLine(await train('--epoch', '3'), 'train')).toBe('graft train: graft train has no option --epoch; did you mean --epochs?');
    expect(errorLine(await train('--learning-rate=0.1'), 'train')).toBe('graft train: graft train has no option --learning-rate.');
    expect(errorLine(await train('--constructor'), 'train')).toBe('graft train: graft train has no option --constructor.');
    expect((await train('--epoch', '3')).stderr).toContain('Run `graft train --help` for the options.');
  });

  it('--epochs -1 gets graft\'s range message, not "argument is ambiguous"', async () => {
    const r = await train('--epochs', '-1');
    expect(r.stderr).not.toContain('ambiguous');
    expect(errorLine(r, 'train')).toBe('graft train: --epochs needs a whole number, 0 or more; received "-1".');
  });

  it('--lr 0 says the allowed range in words', async () => {
    expect(errorLine(await train('--lr', '0'), 'train')).toBe('graft train: --lr needs a number greater than 0; received "0".');
    expect(errorLine(await train('--lr', '-0.5'), 'train')).toBe('graft train: --lr needs a number greater than 0; received "-0.5".');
  });

  it('a flag followed by another flag instead of its value says so', async () => {
    const r = await cliInProcess(['train', '--task', 'fashion-mnist', '--out', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out needs a value (DIR: Run directory to write); received the flag --json instead.');
  });

  it('the freeze-policy errors echo what was typed', async () => {
    expect(errorLine(await transfer('--freeze', 'first:two'), 'transfer')).toBe('graft transfer: --freeze received "first:two"; first:N needs a whole number of layers, e.g. first:2.');
    expect(errorLine(await transfer('--freeze', 'last:2'), 'transfer')).toContain('--freeze received "last:2"; last:N and from:LAYER are forms of --unfreeze.');
    expect(() => parseUnfreezePolicy('last:x')).toThrow('--unfreeze received "last:x"; last:N needs a whole number of layers, e.g. last:4.');
    const layers = ['flatten', 'hidden', 'dropout'].map((name) => ({ name, trainable: true })) as unknown as tfl.layers.Layer[];
    expect(() => applyFreeze(layers, parseFreezePolicy('hiden'))).toThrow('Freeze policy hiden names "hiden", not among the reused layers: flatten, hidden, dropout. Did you mean hidden?');
    expect(() => applyFreeze(layers, parseFreezePolicy('first:5'))).toThrow('Freeze policy first:5 asks for 5 layers; the model reuses 3, so use first:0 to first:3 (or all).');
  });
});

describe('numberOption states the range in words', () => {
  const message = (o: Parameters<typeof numberOption>[2], text = 'x') => {
    try {
      numberOption('n', text, o);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  it('each kind of range', () => {
    expect(message({ integer: true, min: 1 })).toBe('--n needs a whole number, 1 or more; received "x".');
    expect(message({ min: 0, max: 0.9 })).toBe('--n needs a number from 0 to 0.9; received "x".');
    expect(message({ above: 0 })).toBe('--n needs a number greater than 0; received "x".');
    expect(message({ above: 0, max: 1 })).toBe('--n needs a number greater than 0 and at most 1; received "x".');
    expect(message({})).toBe('--n needs a number; received "x".');
    expect(message({ above: 0 }, '0')).toContain('greater than 0');
    expect(message({ above: 0 }, '1e-9')).toBe('accepted');
  });
});
