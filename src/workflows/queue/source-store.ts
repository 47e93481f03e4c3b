import { GraftError } from '../../errors.js';
import { sha256 } from '../shard.js';
import { sourceKeys } from './payload.js';

/**
 * The source model travels once per study through Redis, as its TF.js files keyed by their content
 * hash (the fingerprint's sourceHash), not inside every job.
 */

/** The few Redis commands used here; BullMQ's clients, built from connection options, are ioredis ones and have them. */
export interface BlobStore {
  exists(...keys: string[]): Promise<number>;
  set(key: string, value: string | Buffer): Promise<unknown>;
  get(key: string): Promise<string | null>;
  getBuffer(key: string): Promise<Buffer | null>;
}

export interface SourceFiles {
  modelJson: string;
  weights: Uint8Array;
}

/** Stores the files unless Redis holds them already; returns whether it uploaded. */
export async function uploadSource(client: BlobStore, hash: string, files: SourceFiles): Promise<boolean> {
  const keys = sourceKeys(hash);
  if ((await client.exists(keys.modelJson, keys.weights)) === 2) return false;
  // Weights first: a worker that sees model.json finds its weights.
  await client.set(keys.weights, Buffer.from(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength));
  await client.set(keys.modelJson, files.modelJson);
  return true;
}

/** Fetches the files and checks they hash to `hash`. */
export async function fetchSource(client: BlobStore, hash: string): Promise<SourceFiles> {
  const keys = sourceKeys(hash);
  const [modelJson, weights] = await Promise.all([client.get(keys.modelJson), client.getBuffer(keys.weights)]);
  if (modelJson === null || weights === null) {
    throw new GraftError('MODEL_NOT_FOUND', `the trial's source model (sha256 ${hash}) is not in Redis (${keys.modelJson}). Fix: rerun the coordinator (graft compare … --queue), which uploads it.`);
  }
  const files = { modelJson, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) };
  const got = sha256([files.modelJson, files.weights]);
  if (got !== hash) throw new GraftError('CHECKSUM_MISMATCH', `the source model in Redis hashes to sha256 ${got}, not the trial's ${hash}. Fix: delete ${keys.modelJson} and ${keys.weights} from Redis and rerun the coordinator.`);
  return files;
}
