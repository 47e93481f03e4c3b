import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAFT_VERSION } from '../../src/version.js';
import { loadBullmq, parseQueueUrl, redisOptions, REDIS_GIVE_UP_MS } from '../../src/workflows/queue/connection.js';
import { runQueuedStudy } from '../../src/workflows/queue/coordinator.js';
import { partialFileName, readPartial, startPartial } from '../../src/workflows/queue/partial.js';
import { checkQueueFlags } from '../../src/workflows/queue/run.js';
import { planQueuedCompare, type PlannedStudy } from '../../src/workflows/queue/studies.js';
import { startQueueWorker } from '../../src/workflows/queue/worker.js';
import type { ShardFingerprint } from '../../src/workflows/shard.js';
import { rejectsWith, thrown, useBackend } from '../helpers.js';
import { haveRedis, REDIS_SERVER, startRedis, type Redis } from './queue-redis.js';

describe('--queue URL', () => {
  it('reads host, port, database and password, and never prints the password', () => {
    expect(parseQueueUrl('redis://localhost:6380/2')).toMatchObject({ host: 'localhost', port: 6380, db: 2, tls: false });
    expect(parseQueueUrl('redis://queue.lab')).toMatchObject({ port: 6379, db: 0 });
    const u = parseQueueUrl('rediss://:s3cret@h:1/0');
    expect(u).toMatchObject({ password: 's3cret', tls: true });
    expect(u.shown).toBe('rediss://:***@h:1/0');
  });

  it.each([
    ['http://localhost:6379', 'scheme http:'],
    ['localhost:6379', 'not a Redis URL'],
    ['redis://h:1/x', 'received "x"'],
  ])('refuses %s, naming it and the form it needs', (text, named) => {
    const e = thrown(() => parseQueueUrl(text));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toContain(named);
    expect(e.message).toContain('redis://HOST:PORT');
  });

  it('refuses --queue with --shard', () => {
    const e = thrown(() => checkQueueFlags('redis://h:1', '1/2'));
    expect(e.message).toContain('--queue redis://h:1 and --shard 1/2');
    expect(() => checkQueueFlags(undefined, '1/2')).not.toThrow();
  });

  it('stops reconnecting after a few seconds and says so once', () => {
    let gone = 0;
    const o = redisOptions(parseQueueUrl('redis://h:1'), () => gone++);
    let times = 1;
    // Bounded, so a strategy that never gives up fails here instead of looping forever.
    while (o.retryStrategy(times) !== null && times < 1000) times++;
    expect(gone).toBe(1);
    // Retries stop within the stated limit (and not at once).
    expect(times).toBeGreaterThan(1);
    expect((times - 1) * 500).toBeLessThanOrEqual(REDIS_GIVE_UP_MS);
    expect(o.retryStrategy(times + 1)).toBeNull();
    expect(gone).toBe(1);
  });

  it('without bullmq installed, says to install it', async () => {
    const missing = Object.assign(new Error("Cannot find package 'bullmq'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const e = await rejectsWith(loadBullmq(() => Promise.reject(missing)), 'BACKEND_UNAVAILABLE');
    expect(e.message).toContain('npm install bullmq');
  });
});

const FP: ShardFingerprint = { kind: 'compare', graftVersion: GRAFT_VERSION, task: 't', plan: { seeds: [0, 1] }, sourceHash: 's', dataHash: 'd', backend: 'cpu', engine: 'auto' };

describe('the partial file', () => {
  it('gives back the finished trials of the same run, skipping a line cut short by a kill', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'graft-queue-'));
    await startPartial(out, 'compare', FP, new Map([[1, { result: 0.5, worker: 'a:1', seconds: 2 }]]));
    const file = path.join(out, partialFileName('compare'));
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"index":0,"res`);
    const done = await readPartial<number>(out, 'compare', FP, false);
    expect([...done]).toEqual([[1, { result: 0.5, worker: 'a:1', seconds: 2 }]]);
  });

  it('refuses the file of another run, naming the field; --force starts afresh', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'graft-queue-'));
    await startPartial(out, 'compare', FP, new Map([[0, { result: 1, worker: 'a:1', seconds: 1 }]]));
    const other = { ...FP, plan: { seeds: [0, 1, 2] } };
    const e = await rejectsWith(readPartial(out, 'compare', other, false), 'OUTPUT_EXISTS');
    expect(e.message).toContain('plan.seeds: [0,1] vs [0,1,2]');
    expect(e.message).toContain('--force');
    expect((await readPartial(out, 'compare', other, true)).size).toBe(0);
  });
});

const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveRedis) console.log(`skipping the queue's Redis tests: no redis-server at ${REDIS_SERVER} (apt-get install redis-server)`);
if (!haveData) console.log(`skipping the queue's Redis tests: no Fashion-MNIST in ${dataDir}`);

describe.skipIf(!haveRedis || !haveData)('a worker refuses a trial it cannot reproduce', () => {
  let redis: Redis;
  let study: PlannedStudy;
  let source: tfl.LayersModel;

  beforeAll(async () => {
    await useBackend();
    redis = await startRedis();
    source = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28] }), tfl.layers.dense({ units: 4, activation: 'relu' }), tfl.layers.dense({ units: 8, activation: 'softmax' })] });
    study = await planQueuedCompare({ source, task: 'fashion-mnist:binary=tshirt-top,sandal', trainSizes: [5], seeds: 1, frozen: { epochs: 1 }, unfrozen: { epochs: 1 }, dataDir, download: false });
  });
  afterAll(async () => {
    source?.dispose();
    await redis?.kill();
  });

  // The coordinator with a fingerprint changed in one field, as a coordinator elsewhere would have it.
  async function refused(over: Partial<ShardFingerprint>): Promise<{ message: string; lines: string[]; out: string }> {
    const out = mkdtempSync(path.join(tmpdir(), 'graft-queue-'));
    const lines: string[] = [];
    const url = parseQueueUrl(redis.url);
    const worker = startQueueWorker({ url, idleExitSeconds: 2, onLine: (l) => lines.push(l) });
    const e = await rejectsWith(runQueuedStudy({ ...study, fingerprint: { ...study.fingerprint, ...over } }, source, { url, out, force: false, sourceLocation: 'src', pollMs: 100 }), 'RUN_INCOMPLETE');
    const summary = await worker.done;
    expect(summary.ran).toBe(0);
    expect(summary.refused).toBe(1);
    // Failed at once, not retried: taken exactly once.
    expect(lines.filter((l) => l.startsWith('taking'))).toHaveLength(1);
    return { message: e.message, lines, out };
  }

  it('with other data: the job fails with the field, and the coordinator stops naming the worker and keeps its file', async () => {
    const r = await refused({ dataHash: 'from-other-data' });
    expect(r.message).toContain('failed on worker');
    expect(r.message).toContain('dataHash: "from-other-data" vs');
    expect(r.message).toContain('--data-dir');
    expect(r.message).toContain('rerun the same command');
    expect(existsSync(path.join(r.out, partialFileName('compare')))).toBe(true);
  });

  it('on another graft version: the job fails naming both versions', async () => {
    const r = await refused({ graftVersion: '0.0.0-other' });
    expect(r.message).toContain(`runs graft ${GRAFT_VERSION}, but the trial was planned with graft 0.0.0-other`);
  });

  it('on another backend: the job fails naming both and the fix', async () => {
    const r = await refused({ backend: 'tfjs-node' });
    expect(r.message).toMatch(/backend: "tfjs-node" vs "(wasm|cpu)"/);
    expect(r.message).toContain('--backend');
  });
});
