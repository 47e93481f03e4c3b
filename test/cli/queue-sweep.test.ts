import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareResult, Trial } from '../../src/evaluate/compare-result.js';
import type { SweepResult } from '../../src/workflows/sweep.js';
import { graftProcesses, haveRedis, REDIS_SERVER, startRedis, waitUntil } from '../workflows/queue-redis.js';
import { useBackend } from '../helpers.js';
import { saveSourceRun } from './in-process.js';
import { loadModel } from '../../src/io/run-dir.js';
import { planSweep, runSweepTrials, type SweepPlan } from '../../src/workflows/sweep.js';
import { finishQueuedSweep } from '../../src/workflows/queue/sweep-choice.js';
import { sweepData } from '../../src/workflows/queue/studies.js';
import { disposeModel } from '../../src/models/dispose.js';

// `graft sweep --queue` and `graft run FILE --queue`: coordinator and workers as separate processes. GRAFT_TEST_BIN: a build elsewhere.
const BIN = process.env.GRAFT_TEST_BIN ?? path.resolve(__dirname, '../../bin/graft.js');
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveRedis) console.log(`skipping graft sweep/run --queue tests: no redis-server at ${REDIS_SERVER} (apt-get install redis-server)`);
if (!haveData) console.log(`skipping graft sweep/run --queue tests: no Fashion-MNIST in ${dataDir}`);

// The engine is part of a trial's fingerprint: the tests choose it per process, not through the environment.
const { GRAFT_ENGINE: _engine, ...env } = process.env;

const { start, killAll } = graftProcesses(BIN, env);
function runNow(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 180_000, env });
}

const dir = mkdtempSync(path.join(tmpdir(), 'graft-queue-sweep-'));
const src = path.join(dir, 'src');
const task = 'fashion-mnist:binary=tshirt-top,sandal';
// 2 freeze policies × 2 rates = 4 configurations: enough for 2 workers to share.
const sweepFile = path.join(dir, 'sweep.yaml');
const CONFIGS = 4;
const compareFile = path.join(dir, 'compare.yaml');
const trainFile = path.join(dir, 'train.yaml');
/** Job ids a worker log says it finished, of a kind. */
const finished = (log: string, kind: string): string[] => [...log.matchAll(new RegExp(`finished ${kind} .*job (\\S+)\\)`, 'g'))].map((m) => m[1]!);
const withoutTime = (r: SweepResult): unknown => ({ ...r, createdAt: '', trials: r.trials.map(({ seconds: _s, ...t }) => t), best: { ...r.best, seconds: 0 } });

describe.skipIf(!haveRedis || !haveData)('graft sweep --queue and graft run FILE --queue', () => {
  let single: SweepResult;

  beforeAll(async () => {
    await useBackend();
    await saveSourceRun(src);
    const data = `dataDir: ${JSON.stringify(dataDir)}\noffline: true\n`;
    writeFileSync(sweepFile, `kind: sweep\nfrom: ${JSON.stringify(src)}\ntask: ${task}\nout: sweep-out\nperClass: 10\nvalSplit: 0.3\n${data}space:\n  freeze: [all, none]\n  frozenLr: [0.01, 0.001]\n  frozenEpochs: [1]\n  unfrozenEpochs: [1]\n`);
    writeFileSync(compareFile, `kind: compare\nfrom: ${JSON.stringify(src)}\ntask: ${task}\nout: compare-out\nperClass: [5, 10]\nseeds: 2\nworkers: 1\nfrozen: { epochs: 1 }\nunfrozen: { epochs: 1 }\n${data}`);
    writeFileSync(trainFile, `kind: train\narchitecture: mlp\ntask: ${task}\nout: train-out\n${data}`);
    const r = runNow(['sweep', sweepFile, '--out', path.join(dir, 'sweep-single'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    single = JSON.parse(readFileSync(path.join(dir, 'sweep-single', 'sweep.json'), 'utf8')) as SweepResult;
  });

  afterAll(() => {
    killAll();
  });

  it('graft sweep --queue with 2 worker processes writes the single-machine sweep.json (but for seconds), the choice scored on test once, by the coordinator', async () => {
    const redis = await startRedis();
    try {
      const out = path.join(dir, 'sweep-queued');
      const coordinator = start(['sweep', sweepFile, '--out', out, '--queue', redis.url]);
      await waitUntil(() => coordinator.log().includes('start workers with'), 'the configurations to be queued');
      const workers = [0, 1].map(() => start(['worker', redis.url, '--idle-exit', '3']));
      expect(await coordinator.exit, coordinator.log()).toBe(0);
      for (const w of workers) expect(await w.exit, w.log()).toBe(0);
      const queued = JSON.parse(readFileSync(path.join(out, 'sweep.json'), 'utf8')) as SweepResult;
      expect(queued.tried).toBe(CONFIGS);
      expect(withoutTime(queued)).toEqual(withoutTime(single));
      // Every configuration trained once on a worker; only the chosen one again, here.
      const ran = workers.flatMap((w) => finished(w.log(), 'sweep'));
      expect(new Set(ran).size).toBe(CONFIGS);
      expect(ran).toHaveLength(CONFIGS);
      const chosen = single.trials.findIndex((t) => JSON.stringify(t.config) === JSON.stringify(single.best.config));
      expect(coordinator.log()).toContain(`chose configuration ${chosen + 1} on validation`);
      expect(existsSync(path.join(out, 'report.html'))).toBe(true);
      expect(existsSync(path.join(out, 'sweep.queue-partial.jsonl'))).toBe(false);
    } finally {
      await redis.kill();
    }
  });

  it('graft sweep --queue, the coordinator killed after two results and rerun: no configuration trained twice, the same sweep.json', async () => {
    const redis = await startRedis();
    try {
      const out = path.join(dir, 'sweep-restarted');
      const worker = start(['worker', redis.url]);
      const first = start(['sweep', sweepFile, '--out', out, '--queue', redis.url]);
      await waitUntil(() => first.log().split(' done by ').length - 1 >= 2, 'two results at the first coordinator');
      first.child.kill('SIGKILL');
      expect(await first.exit).toBeNull();
      const second = start(['sweep', sweepFile, '--out', out, '--queue', redis.url]);
      expect(await second.exit, second.log()).toBe(0);
      expect(Number(/(\d+) finished before/.exec(second.log())?.[1])).toBeGreaterThanOrEqual(2);
      const ran = finished(worker.log(), 'sweep');
      expect(ran.sort()).toEqual([...new Set(ran)].sort());
      expect(ran).toHaveLength(CONFIGS);
      const queued = JSON.parse(readFileSync(path.join(out, 'sweep.json'), 'utf8')) as SweepResult;
      expect(withoutTime(queued)).toEqual(withoutTime(single));
      worker.child.kill('SIGTERM');
      expect(await worker.exit, worker.log()).toBe(0);
    } finally {
      await redis.kill();
    }
  });

  it('graft run FILE --queue of a compare file writes what graft run FILE writes', async () => {
    const redis = await startRedis();
    try {
      const one = runNow(['run', compareFile, '--out', path.join(dir, 'compare-single'), '--json']);
      expect(one.status, one.stderr).toBe(0);
      const coordinator = start(['run', compareFile, '--out', path.join(dir, 'compare-queued'), '--queue', redis.url]);
      await waitUntil(() => coordinator.log().includes('start workers with'), 'the pairs to be queued');
      const worker = start(['worker', redis.url, '--idle-exit', '3']);
      expect(await coordinator.exit, coordinator.log()).toBe(0);
      expect(await worker.exit, worker.log()).toBe(0);
      expect(finished(worker.log(), 'compare')).toHaveLength(4);
      const a = JSON.parse(readFileSync(path.join(dir, 'compare-single', 'compare.json'), 'utf8')) as CompareResult;
      const b = JSON.parse(readFileSync(path.join(dir, 'compare-queued', 'compare.json'), 'utf8')) as CompareResult;
      const noTime = (ts: Trial[]): unknown => ts.map(({ seconds: _s, ...t }) => t);
      expect(noTime(b.trials)).toEqual(noTime(a.trials));
      expect(b.rows).toEqual(a.rows);
      for (const key of ['kind', 'task', 'classNames', 'seeds', 'settings', 'source', 'backend', 'graftVersion'] as const) expect(b[key], key).toEqual(a[key]);
    } finally {
      await redis.kill();
    }
  });

  it('refuses --queue for a train file and with --shard; a worker on another engine refuses a sweep configuration and the coordinator says why', async () => {
    const url = 'redis://127.0.0.1:9';
    const train = runNow(['run', trainFile, '--out', path.join(dir, 'train-queued'), '--queue', url]);
    expect(train.status).toBe(2);
    expect(train.stderr).toContain('a kind: train experiment');
    expect(train.stderr).toContain('Fix: leave out --queue');
    // Refused before a backend starts.
    expect(train.stderr).not.toContain('graft: backend');
    expect(existsSync(path.join(dir, 'train-queued'))).toBe(false);
    for (const cmd of ['run', 'sweep']) {
      const both = runNow([cmd, sweepFile, '--out', path.join(dir, 'both'), '--queue', url, '--shard', '1/2']);
      expect(both.status).toBe(2);
      expect(both.stderr).toContain('use one of them');
    }

    const redis = await startRedis();
    try {
      const out = path.join(dir, 'sweep-refused');
      const coordinator = start(['sweep', sweepFile, '--out', out, '--queue', redis.url, '--engine', 'tfjs']);
      await waitUntil(() => coordinator.log().includes('start workers with'), 'the configurations to be queued');
      const worker = start(['worker', redis.url, '--engine', 'onnxruntime', '--idle-exit', '3']);
      expect(await coordinator.exit, coordinator.log()).not.toBe(0);
      expect(coordinator.log()).toMatch(/trial configuration \d \(.*\) failed on worker .*cannot reproduce this trial's inputs exactly \(engine/);
      expect(await worker.exit, worker.log()).toBe(0);
      expect(finished(worker.log(), 'sweep')).toEqual([]);
      expect(existsSync(path.join(out, 'sweep.json'))).toBe(false);
    } finally {
      await redis.kill();
    }
  });
});

describe.skipIf(!haveData)('the coordinator of a queued sweep', () => {
  it('scores the chosen configuration on test as a single-machine sweep does, and refuses when its retraining differs from the worker\'s', async () => {
    await useBackend();
    const runDir = path.join(dir, 'src-in-process');
    await saveSourceRun(runDir);
    const { model: source } = await loadModel(runDir);
    try {
      const plan: SweepPlan = planSweep({ source, task, space: { freeze: ['all', 'none'], frozenEpochs: [1], unfrozenEpochs: [1] }, perClass: 10, valSplit: 0.3, dataDir, download: false });
      const data = await sweepData(plan);
      // What one process gives: every configuration, its best scored on test.
      const here = await runSweepTrials(source, plan, data, [0, 1]);
      // What the workers send: validation scores only.
      const fromWorkers = here.map(({ test: _test, ...t }) => t);
      const say: string[] = [];
      const r = await finishQueuedSweep(plan, source, fromWorkers, { sourceLocation: runDir, backend: 'x', say: (l) => say.push(l) });
      const scored = here.find((t) => t.test)!;
      expect(r.best.testAccuracy).toBe(scored.test!.accuracy);
      expect(r.best.testLoss).toBe(scored.test!.loss);
      expect(r.best.config).toEqual(scored.config);
      expect(say.join('\n')).toContain('training it again here');
      const i = here.indexOf(scored);
      // A diverged configuration's NaN loss reaches the coordinator as JSON null: still the worst loss, not 0.
      const nullLoss = JSON.parse(JSON.stringify(fromWorkers.map((t, k) => (k === i ? t : { ...t, valAccuracy: scored.valAccuracy, valLoss: Number.NaN })))) as typeof fromWorkers;
      expect(nullLoss[1 - i]!.valLoss).toBeNull();
      expect((await finishQueuedSweep(plan, source, nullLoss, { sourceLocation: runDir, backend: 'x', say: () => undefined })).best.config).toEqual(scored.config);
      // A worker that reported another validation score: its training is not this machine's.
      const off = fromWorkers.map((t, k) => (k === i ? { ...t, valLoss: t.valLoss + 1e-3 } : t));
      await expect(finishQueuedSweep(plan, source, off, { sourceLocation: runDir, backend: 'x', say: () => undefined })).rejects.toThrow(/trained again on this machine, gives validation accuracy .* but its worker reported/);
    } finally {
      disposeModel(source);
    }
  }, 120_000);
});
