import type { GradientFn } from '../gradient.js';
import { scatterBack } from '../scatter-back.js';

/**
 * Gather(data, indices, axis) — an embedding lookup when data is the table: dData adds each dy
 * slice back at the row it was read from (rows read twice get the sum). Indices get none.
 */
const gather: GradientFn = (c) => {
  const [data, indices] = c.node.inputs as [string, string];
  const axis = c.node.attrs?.axis;
  return [scatterBack(c.e, data, c.dy[0]!, (iota) => c.e.op('Gather', [iota, indices], axis === undefined ? undefined : { axis })), undefined];
};

/** Slice(data, starts, ends, axes, steps), any steps: dData = dy at the picked elements, 0 elsewhere. */
const slice: GradientFn = (c) => {
  const [data, ...rest] = c.node.inputs as [string, ...string[]];
  return [scatterBack(c.e, data, c.dy[0]!, (iota) => c.e.op('Slice', [iota, ...rest])), ...rest.map(() => undefined)];
};

export const gatherGradients: Record<string, GradientFn> = { Gather: gather, Slice: slice };
