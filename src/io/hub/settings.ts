import { homedir } from 'node:os';
import * as path from 'node:path';
import { GraftError, describeValue } from '../../errors.js';
import type { Environment } from '../environment.js';

/** Where hub files come from and go to, resolved once from options and the environment. */
export interface HubSettings {
  /** Base URL without a trailing "/". */
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  offline: boolean;
}

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** graft's hub cache: $GRAFT_CACHE/hub, else $XDG_CACHE_HOME/graft/hub, else ~/.cache/graft/hub. */
export function hubCacheDir(env: Environment = process.env): string {
  if (env.GRAFT_CACHE && path.isAbsolute(env.GRAFT_CACHE)) return path.join(env.GRAFT_CACHE, 'hub');
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.cache');
  return path.join(base, 'graft', 'hub');
}

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1, true, yes or on. */
function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

export function hubSettings(options: { cacheDir?: string; endpoint?: string; token?: string; offline?: boolean }, env: Environment = process.env): HubSettings {
  const endpoint = (options.endpoint ?? (env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT)).replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new GraftError('BAD_ARGUMENT', `Hub endpoint ${describeValue(endpoint)} (${options.endpoint !== undefined ? 'the endpoint option' : 'HF_ENDPOINT'}) is not an http(s) URL. Set it to the hub's base URL, e.g. ${DEFAULT_HUB_ENDPOINT}.`);
  }
  return {
    endpoint,
    token: options.token ?? (env.HF_TOKEN || undefined),
    cacheDir: path.resolve(options.cacheDir ?? hubCacheDir(env)),
    offline: options.offline ?? truthy(env.HF_HUB_OFFLINE),
  };
}
