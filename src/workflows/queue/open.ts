import type { Queue } from 'bullmq';
import type { GraftError } from '../../errors.js';
import { loadBullmq, redisOptions, redisUnreachable, type Bullmq, type QueueUrl, type RedisOptions } from './connection.js';
import { QUEUE_NAME } from './payload.js';

/**
 * A link to Redis that fails as one: every connection made from its options gives up after a few
 * seconds without Redis, and then every pending call `guard`ed by the link rejects with one clear
 * error (cannot reach / went away) instead of hanging or retrying forever.
 */
export interface RedisLink {
  bullmq: Bullmq;
  options: RedisOptions;
  /** Races `p` against the link going down. */
  guard<T>(p: Promise<T>): Promise<T>;
  /** Called with the last connection error BullMQ reports (kept for the message, not printed). */
  noteError(e: Error): void;
  /** Marks the link as having reached Redis once, so a later loss reads "went away". */
  reached(): void;
  /** The error the link went down with, if it did. */
  failure(): GraftError | undefined;
}

/** `kept()` says what survives a loss (e.g. where the finished trials are), read when it happens. */
export async function redisLink(url: QueueUrl, kept: () => string): Promise<RedisLink> {
  const bullmq = await loadBullmq();
  let lastError = 'no answer';
  let wasReached = false;
  let failed: GraftError | undefined;
  let fail: (e: GraftError) => void = () => undefined;
  const down = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // Nobody may be awaiting it when it fails; the rejection is read through guard().
  down.catch(() => undefined);
  const options = redisOptions(url, () => {
    failed = wasReached ? redisUnreachable(url, `it went away: ${lastError}`, kept()) : redisUnreachable(url, lastError, '');
    fail(failed);
  });
  return {
    bullmq,
    options,
    guard: <T>(p: Promise<T>) => Promise.race([p, down]),
    noteError: (e) => {
      lastError = e.message;
    },
    reached: () => {
      wasReached = true;
    },
    failure: () => failed,
  };
}

export interface OpenQueue {
  queue: Queue;
  link: RedisLink;
  guard<T>(p: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens graft's queue, failing within a few seconds when Redis is not there. */
export async function openQueue(url: QueueUrl, kept: () => string): Promise<OpenQueue> {
  const link = await redisLink(url, kept);
  const queue = new link.bullmq.Queue(QUEUE_NAME, { connection: link.options });
  queue.on('error', (e) => link.noteError(e));
  const close = (): Promise<void> => closeQuietly(() => queue.close());
  // Not closed when Redis was never reached: its connection has ended, and BullMQ reports the failed
  // start as an 'error' event, which needs the listener close() would remove (else: a crash).
  await link.guard(queue.waitUntilReady());
  link.reached();
  return { queue, link, guard: link.guard, close };
}

/** Closes a BullMQ object without waiting long on a Redis that is gone. */
export async function closeQuietly(close: () => Promise<void>): Promise<void> {
  await Promise.race([close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
}
