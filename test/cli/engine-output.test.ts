import { afterAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { engineName, fallbackReasons, phaseEngines } from '../../src/cli/engine-text.js';

const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping engine-output CLI tests: no Fashion-MNIST in ${DATA}`);
const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`engine-output test on onnxruntime skipped: ${ort}`);

const root = mkdtempSync(path.join(tmpdir(), 'graft-engine-out-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const COMMON = ['--data-dir', DATA, '--offline', '--backend', 'wasm', '--per-class', '20'];

/** The CLI in this process: exit code and stdout (stderr silenced). */
async function cliStdout(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await runCli(args), stdout };
  } finally {
    vi.restoreAllMocks();
  }
}

describe.skipIf(!haveData)('the engine of each phase in the CLI output', () => {
  it('graft train --engine tfjs names TF.js and why', async () => {
    const r = await cliStdout(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--epochs', '1', ...COMMON, '--engine', 'tfjs', '--out', path.join(root, 'tfjs')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nEngine: TF.js (TF.js was asked for)\n');
    const json = await cliStdout(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--epochs', '1', ...COMMON, '--engine', 'tfjs', '--json', '--out', path.join(root, 'tfjs-json')]);
    expect(JSON.parse(json.stdout).engine).toEqual({ engine: 'tfjs', reason: 'TF.js was asked for' });
  });

  it.skipIf(typeof ort === 'string')('graft train and graft transfer on auto name onnxruntime', async () => {
    const a = path.join(root, 'a');
    const r = await cliStdout(['train', '--task', 'fashion-mnist:exclude=sandal,shirt', '--epochs', '1', ...COMMON, '--out', a]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nEngine: onnxruntime\n');
    const t = await cliStdout(['transfer', '--from', a, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--frozen-epochs', '1', '--epochs', '1', ...COMMON, '--out', path.join(root, 'b')]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('\nEngine: onnxruntime\n');
    const tj = await cliStdout(['transfer', '--from', a, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--frozen-epochs', '1', '--epochs', '1', ...COMMON, '--json', '--out', path.join(root, 'b-json')]);
    expect(JSON.parse(tj.stdout).phases.map((p: { engine: unknown }) => p.engine)).toEqual([{ engine: 'onnxruntime' }, { engine: 'onnxruntime' }]);
  });
});

describe('engine text', () => {
  const tfjs = { engine: 'tfjs' as const, reason: 'dense_1 is a Lambda layer' };
  it('one engine for all phases is said once; different ones per phase', () => {
    expect(phaseEngines([{ name: 'frozen', engine: { engine: 'onnxruntime' } }, { name: 'unfrozen', engine: { engine: 'onnxruntime' } }])).toBe('Engine: onnxruntime');
    expect(phaseEngines([{ name: 'frozen', engine: { engine: 'onnxruntime' } }, { name: 'unfrozen', engine: tfjs }])).toBe(
      'Engine: frozen phase onnxruntime, unfrozen phase TF.js (dense_1 is a Lambda layer)',
    );
    expect(phaseEngines([{ name: 'train' }])).toBe('Engine: unknown');
  });

  it('the seed table: a short name per row, each fallback reason once below', () => {
    expect(engineName(tfjs, false)).toBe('TF.js');
    const rows = [
      { model: 'A', phase: 'train', engine: { engine: 'onnxruntime' as const } },
      { model: 'B', phase: 'frozen', engine: tfjs },
      { model: 'B', phase: 'unfrozen', engine: tfjs },
    ];
    expect(fallbackReasons(rows)).toBe('TF.js for B frozen, B unfrozen: dense_1 is a Lambda layer\n');
    expect(fallbackReasons(rows.slice(0, 1))).toBe('');
  });
});
