import { GraftError } from '../../errors.js';

/**
 * Where the trial queue lives: a `redis://` URL, parsed once, and the Redis client options graft
 * uses everywhere. ioredis reconnects forever by default; graft gives up after a few seconds so a
 * wrong URL or a Redis that went away ends with one clear error instead of endless retries.
 */

/** How long graft keeps reconnecting to a Redis that stopped answering before it gives up. */
export const REDIS_GIVE_UP_MS = 5000;
const RETRY_EVERY_MS = 500;

export interface QueueUrl {
  /** The URL as given, with any password replaced by ***: safe to print. */
  shown: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

const URL_HELP = 'Use redis://HOST:PORT[/DB] (rediss:// for TLS, redis://:PASSWORD@HOST:PORT for a password), e.g. redis://localhost:6379.';

export function parseQueueUrl(text: string): QueueUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new GraftError('BAD_ARGUMENT', `${JSON.stringify(text)} is not a Redis URL. ${URL_HELP}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new GraftError('BAD_ARGUMENT', `${JSON.stringify(text)} is not a Redis URL (scheme ${u.protocol}). ${URL_HELP}`);
  if (!u.hostname) throw new GraftError('BAD_ARGUMENT', `${JSON.stringify(text)} names no host. ${URL_HELP}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isSafeInteger(db) || db < 0 || !/^\d*$/.test(dbText)) throw new GraftError('BAD_ARGUMENT', `${JSON.stringify(text)}: the database must be a whole number, received ${JSON.stringify(dbText)}. ${URL_HELP}`);
  const password = u.password === '' ? undefined : decodeURIComponent(u.password);
  const username = u.username === '' ? undefined : decodeURIComponent(u.username);
  const shown = password === undefined ? text : text.replace(`:${u.password}@`, ':***@');
  return { shown, host: u.hostname.replace(/^\[|\]$/g, ''), port, db, tls: u.protocol === 'rediss:', ...(username !== undefined && { username }), ...(password !== undefined && { password }) };
}

/** ioredis options (the subset graft sets); `onGone` runs once when graft stops reconnecting. */
export interface RedisOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
  maxRetriesPerRequest: null;
  connectTimeout: number;
  retryStrategy: (times: number) => number | null;
}

export function redisOptions(url: QueueUrl, onGone: () => void): RedisOptions {
  let gone = false;
  return {
    host: url.host,
    port: url.port,
    db: url.db,
    ...(url.username !== undefined && { username: url.username }),
    ...(url.password !== undefined && { password: url.password }),
    ...(url.tls && { tls: {} }),
    // BullMQ's workers block on Redis; it requires null here.
    maxRetriesPerRequest: null,
    connectTimeout: REDIS_GIVE_UP_MS,
    retryStrategy: (times) => {
      if (times * RETRY_EVERY_MS <= REDIS_GIVE_UP_MS) return RETRY_EVERY_MS;
      if (!gone) {
        gone = true;
        onGone();
      }
      return null;
    },
  };
}

/** What graft uses of BullMQ, loaded only when a queue is used (it is an optional dependency). */
export type Bullmq = typeof import('bullmq');

export async function loadBullmq(importer: () => Promise<Bullmq> = () => import('bullmq')): Promise<Bullmq> {
  try {
    return await importer();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new GraftError('BACKEND_UNAVAILABLE', `--queue and graft worker need the bullmq package, which is not installed (${(e as Error).message.split('\n')[0]}). Fix: npm install bullmq`, { cause: e });
    }
    throw e;
  }
}

/** The error when Redis cannot be reached at all or stops answering. */
export function redisUnreachable(url: QueueUrl, detail: string, what: string): GraftError {
  return new GraftError(
    'NETWORK',
    `cannot reach Redis at ${url.shown} (${detail}; gave up after ${REDIS_GIVE_UP_MS / 1000} s). ${what}Fix: start Redis there (e.g. redis-server --port ${url.port}) or pass the URL of a running one.`,
  );
}
