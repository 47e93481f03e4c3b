import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** A real redis-server for the queue tests (Debian's package; CI installs it). */
export const REDIS_SERVER = process.env.GRAFT_REDIS_SERVER ?? '/usr/bin/redis-server';
export const haveRedis = existsSync(REDIS_SERVER);

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Redis {
  port: number;
  url: string;
  process: ChildProcess;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

/** Starts redis-server on `port` (a free one by default), without persistence, and waits until it accepts connections. */
export async function startRedis(port?: number): Promise<Redis> {
  const p = port ?? (await freePort());
  const child = spawn(REDIS_SERVER, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${p}: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    process: child,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Waits until `check` returns true, polling; fails naming `what` after `ms`. */
export async function waitUntil(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A graft process of a queue test: its output so far and its exit code. */
export interface Running {
  child: ChildProcess;
  /** stdout and stderr so far. */
  log: () => string;
  exit: Promise<number | null>;
}

/** Starts and tracks graft processes (coordinators, workers), as on separate machines; killAll ends the live ones. */
export function graftProcesses(bin: string, env?: NodeJS.ProcessEnv): { start: (args: string[]) => Running; killAll: () => void } {
  const running: Running[] = [];
  const start = (args: string[]): Running => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env && { env }) });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += String(d)));
    child.stderr!.on('data', (d: Buffer) => (log += String(d)));
    const r: Running = { child, log: () => log, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
    running.push(r);
    return r;
  };
  const killAll = (): void => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  };
  return { start, killAll };
}
