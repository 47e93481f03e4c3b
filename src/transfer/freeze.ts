import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { suggest } from '../suggest.js';

/**
 * Which reused layers to freeze. 'all' (the write-up's recipe), the first n, or by name/pattern.
 * The new head is never frozen by a policy.
 */
export type FreezePolicy = 'all' | 'none' | { first: number } | { names: readonly string[] } | { pattern: RegExp } | { weights: RegExp | readonly string[] };

/** Which layers to make trainable again for fine-tuning: all, the last n reused layers, or from a named layer on. */
export type UnfreezePolicy = 'all' | { last: number } | { from: string };

/**
 * Sets `trainable` on each reused layer by the policy; returns the names of the frozen ones. A
 * `weights` policy freezes single weights, by name (an ONNX source's initializer names, such as
 * `layer4.1.conv2.weight`; else TF.js's `layer/kernel`): a layer with some of its weights frozen
 * stays trainable and is listed as `layer (k of n weights)`.
 */
export function applyFreeze(reused: readonly tfl.layers.Layer[], policy: FreezePolicy): string[] {
  if (typeof policy === 'object' && 'weights' in policy) return freezeWeights(reused, policy.weights);
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
  if ('weights' in policy) return new Set();
  const matched = reused.filter((l) => policy.pattern.test(l.name));
  if (matched.length === 0) {
    throw new GraftError('BAD_LAYER_REF', `Freeze pattern ${policy.pattern} matches none of the reused layers: ${reused.map((l) => l.name).join(', ')}.`);
  }
  return new Set(matched);
}

/** Makes reused layers trainable by the policy (the others stay as they are); returns the names unfrozen. */
export function applyUnfreeze(reused: readonly tfl.layers.Layer[], policy: UnfreezePolicy): string[] {
  const chosen = selectUnfreeze(reused, policy);
  // TF.js's setter sets every weight's flag too: weights a `weights:` policy held back train again.
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

/** Parses the CLI form: all | none | first:N | /regex/ | name,name | weights:/regex/ | weights:name,name. */
export function parseFreezePolicy(text: string): FreezePolicy {
  if (text === 'all' || text === 'none') return text;
  if (text.startsWith('weights:')) {
    const rest = text.slice('weights:'.length);
    const inner = parseFreezePolicy(rest);
    if (typeof inner === 'object' && 'pattern' in inner) return { weights: inner.pattern };
    if (typeof inner === 'object' && 'names' in inner) return { weights: inner.names };
    throw new GraftError('BAD_ARGUMENT', `--freeze received ${JSON.stringify(text)}; weights: takes a /regex/ or weight names, e.g. weights:/^layer[12]\\./ or weights:conv1.weight,bn1.weight.`);
  }
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

/** A layer's trainable weights whatever their own flags (TF.js's trainableWeights leaves frozen ones out). */
function ownTrainable(layer: tfl.layers.Layer): tfl.LayerVariable[] {
  return ((layer as unknown as { _trainableWeights?: tfl.LayerVariable[] })._trainableWeights ?? []).slice();
}

/** The name a `weights:` policy matches: an ONNX block's initializer name, else TF.js's scoped name. */
function weightLabel(layer: tfl.layers.Layer, w: tfl.LayerVariable): string {
  const onnx = (layer as unknown as { onnxWeightName?: (v: tfl.LayerVariable) => string | undefined }).onnxWeightName?.(w);
  return onnx ?? w.originalName;
}

function freezeWeights(reused: readonly tfl.layers.Layer[], which: RegExp | readonly string[]): string[] {
  const matches = (name: string): boolean => (which instanceof RegExp ? which.test(name) : which.includes(name));
  const all = reused.flatMap((layer) => ownTrainable(layer).map((w) => ({ layer, w, name: weightLabel(layer, w) })));
  const hit = all.filter((x) => matches(x.name));
  if (hit.length === 0) {
    const names = all.map((x) => x.name);
    const missing = which instanceof RegExp ? [] : which.filter((n) => !names.includes(n));
    const hint = missing.map((m) => suggest(m, names)).filter((g) => g !== undefined);
    throw new GraftError('BAD_LAYER_REF', `Freeze policy weights:${which instanceof RegExp ? String(which) : which.join(',')} matches none of the reused weights (${all.length}, e.g. ${names.slice(0, 4).join(', ')}).${hint.length > 0 ? ` Did you mean ${hint.join(', ')}?` : ''} \`graft inspect\` lists them.`);
  }
  if (!(which instanceof RegExp)) {
    const names = new Set(all.map((x) => x.name));
    const missing = which.filter((n) => !names.has(n));
    if (missing.length > 0) throw new GraftError('BAD_LAYER_REF', `Freeze policy weights:${which.join(',')} names ${missing.map((m) => JSON.stringify(m)).join(', ')}, not among the reused weights.${missing.map((m) => suggest(m, [...names])).filter(Boolean).map((g) => ` Did you mean ${g}?`).join('')}`);
  }
  const frozen: string[] = [];
  for (const layer of reused) {
    const own = all.filter((x) => x.layer === layer);
    const off = own.filter((x) => matches(x.name));
    // TF.js's layer.trainable setter sets every weight's flag: the layer first, its weights after.
    layer.trainable = off.length < own.length;
    for (const x of off) x.w.trainable = false;
    if (off.length === 0) continue;
    frozen.push(off.length === own.length ? layer.name : `${layer.name} (${off.length} of ${own.length} weights)`);
  }
  return frozen;
}
