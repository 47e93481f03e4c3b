import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cliInProcess } from './in-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-check-from-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An experiment file in its own folder, as in examples/: from: the seed's Model A, one level up. */
function experiment(kind: 'transfer' | 'sweep'): string {
  const dir = path.join(root, kind, 'examples');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${kind}.yaml`);
  const body = kind === 'sweep' ? 'space:\n  frozenLr: [0.001, 0.0001]\n' : '';
  writeFileSync(file, `kind: ${kind}\nfrom: ../runs/seed/model-a\ntask: fashion-mnist:binary=shirt,sandal\nout: runs/x\n${body}`);
  return file;
}

describe('an experiment whose from: is not there', () => {
  it.each([
    ['run', 'transfer'],
    ['run', 'sweep'],
    ['sweep', 'sweep'],
  ] as const)('graft %s FILE --check (kind: %s) refuses it, naming the path and the fix', async (command, kind) => {
    const file = experiment(kind);
    const r = await cliInProcess([command, file, '--check']);
    expect(r.code).toBe(2);
    const missing = path.relative(process.cwd(), path.join(root, kind, 'runs', 'seed', 'model-a'));
    expect(r.stderr).toContain(`${file}: from: names ${missing}, and nothing is there (paths in the file are relative to its folder, ${path.dirname(file)}). Fix: run \`graft seed\` first`);
  });

  it('once the model is there, --check calls the file valid', async () => {
    const file = experiment('transfer');
    mkdirSync(path.join(root, 'transfer', 'runs', 'seed', 'model-a'), { recursive: true });
    const r = await cliInProcess(['run', file, '--check']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
