import type { OnnxNode } from '../../engine/onnx/model-proto.js';
import type { Emitter } from './emit.js';
import type { Facts } from './facts.js';

/** What one op's gradient function gets: the forward node, dL/d(each output), which inputs need dL/d(input). */
export interface GradContext {
  node: OnnxNode;
  e: Emitter;
  facts: Facts;
  /** dL/d(output k), or undefined when no gradient reaches that output (e.g. MaxPool's indices). */
  dy: ReadonlyArray<string | undefined>;
  /** needs[i]: input i depends on a trainable tensor, so its gradient is wanted. */
  needs: readonly boolean[];
}

/**
 * dL/d(input i) for each input (undefined where not needed or not differentiable). One small
 * function per op, registered by op type in registry.ts; each states its formula in its comment.
 */
export type GradientFn = (c: GradContext) => Array<string | undefined>;

/** The gradient of the node's only differentiable output, which every single-output op has. */
export function dy0(c: GradContext): string {
  return c.dy[0]!;
}
