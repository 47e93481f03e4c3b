import { BOOL, encodeGraph, encodeOnnxModel, INT64, type OnnxGraph, type OnnxValue } from '../../engine/onnx/model-proto.js';

/**
 * Several training steps in one onnxruntime run: the step graph as the body of an ONNX Loop.
 * Why: onnxruntime-node copies every output into a fresh JavaScript buffer on every run (even one
 * given pre-allocated), and each run converts every input, so a small model's step spent a third of
 * its time moving its weights across (bench/RESULTS.md, issue 17). In the Loop the weights, optimizer
 * slots and moving statistics are loop-carried and cross once per K steps.
 *
 * Names in the outer graph: `trips` (int64 scalar: the steps this run takes), `start.NAME` for
 * each carried value's value before the first step, `steps.NAME` for each per-step input stacked
 * on a new first axis, `end.OUT` for each carried output after the last step, and `steps.logits`
 * for every step's logits stacked the same way. Inputs the same at every step (frozen weights) keep
 * their names; the body reads them from the outer scope.
 */

export const TRIPS = 'trips';
export const startName = (input: string): string => `start.${input}`;
export const stepsName = (name: string): string => `steps.${name}`;
export const endName = (output: string): string => `end.${output}`;

/**
 * `step` wrapped in a Loop, as a ModelProto's bytes. `carried` pairs each updated input with its
 * output; `perStep` names the inputs fed once per step (stacked); every other input stays the same
 * across steps. `scanned` are the step outputs collected per step (the logits).
 */
export function loopStepGraph(
  step: OnnxGraph,
  o: { carried: Array<{ input: string; output: string }>; perStep: readonly string[]; scanned: string[]; opset: number; irVersion: number },
): Uint8Array {
  const carriedIn = new Set(o.carried.map((c) => c.input));
  const stepped = new Set(o.perStep);
  const perStep = step.inputs.filter((i) => stepped.has(i.name));
  const constant = step.inputs.filter((i) => !stepped.has(i.name) && !carriedIn.has(i.name));
  const inputOf = new Map(step.inputs.map((i) => [i.name, i] as const));
  const outputOf = new Map(step.outputs.map((v) => [v.name, v] as const));
  for (const c of o.carried) {
    if (!inputOf.has(c.input) || !outputOf.has(c.output)) throw new Error(`loopStepGraph: carried ${c.input} → ${c.output} is not an input/output pair of the step graph`);
  }
  const body: OnnxGraph = {
    inputs: [{ name: 'loop.iter', type: INT64, shape: [] }, { name: 'loop.cond_in', type: BOOL, shape: [] }, ...o.carried.map((c) => inputOf.get(c.input)!)],
    nodes: [
      ...perStep.map((p) => ({ op: 'Gather', inputs: [stepsName(p.name), 'loop.iter'], outputs: [p.name], attrs: { axis: 0 } })),
      ...step.nodes,
      { op: 'Identity', inputs: ['loop.cond_in'], outputs: ['loop.cond_out'] },
    ],
    outputs: [{ name: 'loop.cond_out', type: BOOL, shape: [] }, ...o.carried.map((c) => outputOf.get(c.output)!), ...o.scanned.map((s) => outputOf.get(s)!)],
    initializers: step.initializers,
  };
  const stacked = (v: OnnxValue, name: string): OnnxValue => ({ name, type: v.type, ...(v.shape ? { shape: ['steps', ...v.shape] } : {}) });
  const outer: OnnxGraph = {
    inputs: [
      { name: TRIPS, type: INT64, shape: [] },
      ...o.carried.map((c) => ({ ...inputOf.get(c.input)!, name: startName(c.input) })),
      ...perStep.map((p) => stacked(p, stepsName(p.name))),
      ...constant,
    ],
    nodes: [
      {
        op: 'Loop',
        inputs: [TRIPS, '', ...o.carried.map((c) => startName(c.input))],
        outputs: [...o.carried.map((c) => endName(c.output)), ...o.scanned.map(stepsName)],
        attrs: { body: { graph: encodeGraph(body, 'graft_step') } },
      },
    ],
    outputs: [...o.carried.map((c) => ({ ...outputOf.get(c.output)!, name: endName(c.output) })), ...o.scanned.map((s) => stacked(outputOf.get(s)!, stepsName(s)))],
    initializers: [],
  };
  return encodeOnnxModel({ irVersion: o.irVersion, producerName: 'graft', opsets: [{ domain: '', version: o.opset }], graphName: 'graft_train_steps', graph: outer });
}
