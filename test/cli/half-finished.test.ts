import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { saveRun } from '../../src/io/run-dir.js';
import { buildMlp } from '../../src/models/mlp.js';
import { testRunInfo, useBackend } from '../helpers.js';
import { deadPid } from '../io/fault-helpers.js';
import { cliInProcess as graft } from './in-process.js';

/**
 * Every command that reads a run says "half-finished run at X (…); rerun with --force" for each
 * shape a killed save can leave, instead of a parse error; writers refuse the path without --force.
 * In-process (runCli) to stay fast; kill-save.test.ts runs bin/graft.js on a folder a real kill left.
 */

beforeAll(useBackend);

const info = testRunInfo({ task: 'fashion-mnist:binary=tshirt-top,sandal', classNames: ['tshirt-top', 'sandal'], sampleShape: [28, 28], preprocessing: { pixelScale: 1 / 255 } });

let root: string;
let complete: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'graft-cli-half-'));
  complete = path.join(root, 'complete');
  await saveRun(complete, buildMlp({ classes: 2, hidden: 4 }), info);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What a kill can leave, each in a folder of its own; returns the run's path. */
const shapes: Record<string, (parent: string) => Promise<string>> = {
  'the folder missing, a partial copy beside it': async (parent) => {
    const partial = path.join(parent, `.run.tmp-${deadPid()}-0123456789ab`);
    await cp(complete, partial, { recursive: true });
    await rm(path.join(partial, 'run.json'));
    return path.join(parent, 'run');
  },
  'the folder missing, the previous run moved aside': async (parent) => {
    await cp(complete, path.join(parent, `.run.old-${deadPid()}-0123456789ab`), { recursive: true });
    return path.join(parent, 'run');
  },
  'a complete run beside a partial replacement': async (parent) => {
    await cp(complete, path.join(parent, 'run'), { recursive: true });
    await mkdir(path.join(parent, `.run.tmp-${deadPid()}-0123456789ab`));
    return path.join(parent, 'run');
  },
  'run.json (the completion marker) missing': async (parent) => {
    await cp(complete, path.join(parent, 'run'), { recursive: true });
    await rm(path.join(parent, 'run', 'run.json'));
    return path.join(parent, 'run');
  },
};

const commands: Record<string, (run: string, out: string) => string[]> = {
  report: (run) => ['report', run],
  evaluate: (run) => ['evaluate', '--model', run, '--offline', '--backend', 'wasm'],
  predict: (run, out) => ['predict', '--model', run, path.join(out, 'image.png'), '--backend', 'wasm'],
  inspect: (run) => ['inspect', run, '--backend', 'wasm'],
  'transfer --from': (run, out) => ['transfer', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', path.join(out, 'b'), '--offline', '--backend', 'wasm'],
  'compare --from': (run, out) => ['compare', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', path.join(out, 'c'), '--offline', '--backend', 'wasm'],
  export: (run, out) => ['export', run, '--to', path.join(out, 'e.keras'), '--backend', 'wasm'],
};

describe('commands on a half-finished run', () => {
  for (const [shape, make] of Object.entries(shapes)) {
    describe(shape, () => {
      for (const [name, args] of Object.entries(commands)) {
        it(`graft ${name} says "half-finished run … rerun with --force"`, async () => {
          const parent = await mkdtemp(path.join(root, 'case-'));
          const run = await make(parent);
          const { code, stderr } = await graft(args(run, parent));
          expect(code, stderr).toBe(2);
          expect(stderr).toContain(`graft ${name.split(' ')[0]}: Half-finished run at ${run} (`);
          expect(stderr).toContain('rerun with --force');
          expect(stderr).not.toMatch(/JSON|Unexpected|internal error/);
        });
      }

      it('graft train --out refuses the path without --force, naming it half-finished', async () => {
        const parent = await mkdtemp(path.join(root, 'case-'));
        const run = await make(parent);
        const { code, stderr } = await graft(['train', '--task', 'fashion-mnist', '--out', run, '--offline', '--backend', 'wasm']);
        expect(code, stderr).toBe(2);
        expect(stderr).toContain(`Half-finished run at ${run} (`);
        expect(stderr).toContain('rerun with --force to replace it, or choose another --out');
      });
    });
  }

  it('graft report on a folder of runs names the half-finished one among complete ones', async () => {
    const parent = await mkdtemp(path.join(root, 'case-'));
    await cp(complete, path.join(parent, 'model-a'), { recursive: true });
    await cp(complete, path.join(parent, `.model-b.tmp-${deadPid()}-0123456789ab`), { recursive: true });
    const { code, stderr } = await graft(['report', parent]);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(`Half-finished run at ${path.join(parent, 'model-b')}`);
  });
});
