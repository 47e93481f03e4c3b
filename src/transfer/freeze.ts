import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { suggest } from '../suggest.js';

/**
 * Which reused layers to freeze. 'all' (the write-up's recipe), the first n, or by name/pattern.
 * The new head is never frozen by a policy.
 */
export type FreezePolicy = 'all' | 'none' | { first: number } | { names: readonly string[] } | { pattern: RegExp };

/** Which layers to make trainable again for fine-tuning: all, the last n reused layers, or from a named layer on. */
export type UnfreezePolicy = 'all' | { last: number } | { from: string };

/** Sets `trainable` on each reused layer by the policy; returns the names of the frozen ones. */
export function applyFreeze(reused: readonly tfl.layers.Layer[], policy: FreezePolicy): string[] {
  const frozen = selectFrozen(reused, policy);
  for (const layer of reused) layer.trainable = !frozen.has(layer);
  return reused.filter((l) => frozen.has(l)).map((l) => l.name);
}

function selectFrozen(reused: readonly tfl.layers.Layer[], policy: FreezePolicy): Set<tfl.layers.Layer> {
  if (policy === 'all') return new Set(reused);
  if (policy === 'none') return new Set();
  if ('first' in policy) {
    if (!Number.isInteger(policy.first) || policy.first < 0 || policy.first > reused.length) {
      throw new GraftError('BAD_ARGUMENT', `Freeze policy first:${policy.first} asks for ${policy.first} layers; the model reuses ${reused.length}, so use first:0 to first:${reused.length} (or all).`);
    }
    return new Set(reused.slice(0, policy.first));
  }
  if ('names' in policy) {
    const known = new Set(reused.map((l) => l.name));
    const missing = policy.names.filter((n) => !known.has(n));
    if (missing.length > 0) {
      const guesses = missing.map((m) => suggest(m, [...known, 'all', 'none'])).filter((g) => g !== undefined);
      const hint = guesses.length > 0 ? ` Did you mean ${guesses.join(', ')}?` : '';
      throw new GraftError('BAD_LAYER_REF', `Freeze policy ${policy.names.join(',')} names ${missing.map((m) => JSON.stringify(m)).join(', ')}, not among the reused layers: ${[...known].join(', ')}.${hint} The policy is all, none, first:N, /regex/ or layer names.`);
    }
    return new Set(reused.filter((l) => policy.names.includes(l.name)));
  }
  const matched = reused.filter((l) => policy.pattern.test(l.name));
  if (matched.length === 0) {
    throw new GraftError('BAD_LAYER_REF', `Freeze pattern ${policy.pattern} matches none of the reused layers: ${reused.map((l) => l.name).join(', ')}.`);
  }
  return new Set(matched);
}

/** Makes reused layers trainable by the policy (the others stay as they are); returns the names unfrozen. */
export function applyUnfreeze(reused: readonly tfl.layers.Layer[], policy: UnfreezePolicy): string[] {
  const chosen = selectUnfreeze(reused, policy);
  for (const layer of chosen) layer.trainable = true;
  return chosen.map((l) => l.name);
}

/** The reused layers an unfreeze policy names, in order. */
export function selectUnfreeze(reused: readonly tfl.layers.Layer[], policy: UnfreezePolicy): tfl.layers.Layer[] {
  let chosen: readonly tfl.layers.Layer[];
  if (policy === 'all') chosen = reused;
  else if ('last' in policy) {
    if (!Number.isInteger(policy.last) || policy.last < 1 || policy.last > reused.length) {
      throw new GraftError('BAD_ARGUMENT', `Unfreeze policy last:${policy.last} asks for ${policy.last} layers; the model reuses ${reused.length}, so use last:1 to last:${reused.length} (or all).`);
    }
    chosen = reused.slice(reused.length - policy.last);
  } else {
    const i = reused.findIndex((l) => l.name === policy.from);
    if (i < 0) throw new GraftError('BAD_LAYER_REF', `Unfreeze from ${JSON.stringify(policy.from)}: no such reused layer. Reused layers: ${reused.map((l) => l.name).join(', ')}.`);
    chosen = reused.slice(i);
  }
  return [...chosen];
}

/** Parses the CLI form: all | none | first:N | /regex/ | name,name. */
export function parseFreezePolicy(text: string): FreezePolicy {
  if (text === 'all' || text === 'none') return text;
  const first = /^first:(\d+)$/.exec(text);
  if (first) return { first: Number(first[1]) };
  // graft's own forms, mistyped or given to the wrong flag: say what was meant, not "no such layer".
  if (text.startsWith('first:')) throw new GraftError('BAD_ARGUMENT', `--freeze received ${JSON.stringify(text)}; first:N needs a whole number of layers, e.g. first:2.`);
  if (/^(last|from):/.test(text)) throw new GraftError('BAD_ARGUMENT', `--freeze received ${JSON.stringify(text)}; last:N and from:LAYER are forms of --unfreeze. --freeze takes all, none, first:N, /regex/ or layer names.`);
  const re = /^\/(.+)\/([a-z]*)$/.exec(text);
  if (re) {
    try {
      return { pattern: new RegExp(re[1]!, re[2]) };
    } catch (e) {
      throw new GraftError('BAD_ARGUMENT', `--freeze ${text}: not a valid regular expression (${(e as Error).message}).`);
    }
  }
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new GraftError('BAD_ARGUMENT', `--freeze received ${JSON.stringify(text)}; use all, none, first:N, /regex/ or a comma-separated list of layer names.`);
  return { names };
}

/** Parses the CLI form: all | last:N | from:NAME. */
export function parseUnfreezePolicy(text: string): UnfreezePolicy {
  if (text === 'all') return 'all';
  const last = /^last:(\d+)$/.exec(text);
  if (last) return { last: Number(last[1]) };
  if (text.startsWith('last:')) throw new GraftError('BAD_ARGUMENT', `--unfreeze received ${JSON.stringify(text)}; last:N needs a whole number of layers, e.g. last:4.`);
  const from = /^from:(.+)$/.exec(text);
  if (from) return { from: from[1]! };
  throw new GraftError('BAD_ARGUMENT', `--unfreeze received ${JSON.stringify(text)}; use all, last:N or from:LAYER_NAME.`);
}
