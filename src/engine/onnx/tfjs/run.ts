import * as tf from '@tensorflow/tfjs-core';
// tf-core's Node bundle registers no gradients; tfjs-layers' registers them all when it loads. The
// interpreter promises tf.grad through it, so it loads them itself (graft loads tfjs-layers anyway).
import '@tensorflow/tfjs-layers';
import { GraftError } from '../../../errors.js';
import type { OnnxNode } from '../model-proto.js';
import { describeNode } from './attrs.js';
import { HeldValues } from './held-values.js';
import { CHANNELS_LAST } from './layout.js';
import { TF_OPS } from './registry.js';
import type { TfOpContext, TfOpFn } from './types.js';
import type { TfWeightCache } from './weight-cache.js';

export interface RunOnnxOnTfOptions {
  /** Inference semantics only (BatchNormalization on running statistics, Dropout as identity). */
  training?: false;
  /**
   * The default-domain opset the nodes come from (the model's opset_import). Default 13: only
   * Softmax/LogSoftmax read it (before 13 they flatten at `axis`); other opset differences (axes as
   * inputs or attributes, Clip/Pad/Slice bounds) are told apart by what each node carries.
   */
  opset?: number;
  /**
   * Keeps Conv weights in TF.js's layout between calls (not while tf records a gradient; redone
   * when a weight's data changes). Absent: rearranged on every call. The caller disposes it.
   */
  weightCache?: TfWeightCache;
}

/** Default opset when the caller does not say: Softmax on one axis. */
const DEFAULT_OPSET = 13;

const isDefaultDomain = (d: string | undefined): boolean => d === undefined || d === '' || d === 'ai.onnx';

/** The op types the TF.js interpreter runs, sorted. */
export function tfSupportedOps(): string[] {
  return [...TF_OPS.keys()].sort();
}

/** Refuses, naming every op, node and the list, a graph with a node the interpreter cannot run. */
export function checkTfSupported(nodes: readonly OnnxNode[], label: string): void {
  const bad = nodes.filter((n) => !isDefaultDomain(n.domain) || !TF_OPS.has(n.op));
  if (bad.length === 0) return;
  const named = bad.slice(0, 5).map((n) => (isDefaultDomain(n.domain) ? describeNode(n) : `${describeNode(n)} (domain ${JSON.stringify(n.domain)})`));
  const more = bad.length > 5 ? ` and ${bad.length - 5} more` : '';
  const ops = [...new Set(bad.map((n) => n.op))].join(', ');
  throw new GraftError(
    'UNSUPPORTED_OP',
    `${label}: graft's TF.js interpreter cannot run op ${ops} (${named.join('; ')}${more}). It runs the default ONNX domain's ${tfSupportedOps().join(', ')}. Run this model with onnxruntime (--engine onnxruntime), or re-export it so that it uses only those ops.`,
  );
}

/**
 * Runs `nodes` (topologically sorted) on TF.js; returns the tensors named in `outputs`. `values`
 * holds the graph inputs and initializers (float32; integers as int32, see onnxTensorToTf); they
 * stay the caller's. Every op is built from tf-core ops, so tf.grad and tf.variableGrads
 * differentiate through the whole graph. Intermediates are freed after their last reader; the
 * returned tensors are new and the caller's to dispose.
 */
export function runOnnxOnTf(nodes: readonly OnnxNode[], values: Map<string, tf.Tensor>, outputs: readonly string[], opts: RunOnnxOnTfOptions = {}): tf.Tensor[] {
  if ((opts as { training?: boolean }).training === true) {
    throw new GraftError('BAD_ARGUMENT', 'runOnnxOnTf runs ONNX graphs with inference semantics only (received training: true). Train through tf.variableGrads on its output instead; BatchNormalization stays on its running statistics.', { userError: false });
  }
  checkTfSupported(nodes, 'the ONNX graph');
  const ctx: TfOpContext = { opset: opts.opset ?? DEFAULT_OPSET, weights: opts.weightCache };
  const lastRead = new Map<string, number>();
  nodes.forEach((n, i) => n.inputs.forEach((name) => name && lastRead.set(name, i)));
  const wanted = new Set(outputs);
  const held = new HeldValues(values);
  const release = (name: string): void => {
    if (!wanted.has(name)) held.release(name);
  };
  try {
    nodes.forEach((node, i) => {
      // A channels-last variant when the op has one and its inputs suit it (layout.ts).
      const variant = CHANNELS_LAST.get(node.op);
      const plan = variant?.when(node, node.inputs.map((name) => name !== '' && held.isChannelsLast(name)), node.inputs.map((name) => (name ? held.rank(name) : -1)));
      const inputs = node.inputs.map((name, k) => {
        if (name === '') return undefined;
        const t = plan?.[k] ? held.getChannelsLast(name) : held.get(name);
        if (!t) throw new GraftError('MODEL_CORRUPT', `${describeNode(node)} reads ${JSON.stringify(name)}, which no earlier node produces and which is not among the given values (${values.size} inputs and initializers). Pass the nodes topologically sorted with every graph input and initializer in values.`, { userError: false });
        return t;
      });
      const results = plan && variant ? runNode(node, variant.fn, inputs, { ...ctx, channelsLast: plan }) : runNode(node, TF_OPS.get(node.op)!, inputs, ctx);
      node.outputs.forEach((name, k) => {
        const t = results[k];
        if (!name || !t) {
          t?.dispose();
          return;
        }
        // An op must not hand back one of its inputs: freeing one name would free the other.
        held.set(name, inputs.includes(t) ? t.clone() : t, plan !== undefined);
        if (!lastRead.has(name)) release(name);
      });
      for (const name of new Set(node.inputs)) if (name && lastRead.get(name) === i) release(name);
    });
    const missing = outputs.find((name) => held.rank(name) < 0);
    if (missing !== undefined) throw new GraftError('BAD_ARGUMENT', `Output ${JSON.stringify(missing)} is produced by none of the ${nodes.length} nodes and is not among the given values. Ask for one of the nodes' outputs.`, { userError: false });
    return held.finish(outputs) as tf.Tensor[];
  } finally {
    held.dispose();
  }
}

function runNode(node: OnnxNode, op: TfOpFn, inputs: Array<tf.Tensor | undefined>, ctx: TfOpContext): Array<tf.Tensor | undefined> {
  // tidy frees the op's temporaries (transposes, padded copies) and keeps what it returns.
  try {
    let results: Array<tf.Tensor | undefined> = [];
    tf.tidy(() => {
      results = op(node, inputs, ctx);
      return results.filter((t): t is tf.Tensor => t !== undefined);
    });
    return results;
  } catch (e) {
    if (e instanceof GraftError) throw e;
    const shapes = inputs.map((t, k) => (t ? `${t.dtype}[${t.shape.join(', ')}]${ctx.channelsLast?.[k] ? ' (NHWC)' : ''}` : 'none')).join(', ');
    throw new GraftError('UNSUPPORTED_OP', `${describeNode(node)} failed on TF.js with inputs ${shapes}: ${(e as Error).message}. Run this model with onnxruntime (--engine onnxruntime) and report the model to graft.`, { cause: e, userError: false });
  }
}
