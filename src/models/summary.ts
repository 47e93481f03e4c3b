import * as tfl from '@tensorflow/tfjs-layers';

export interface LayerSummary {
  name: string;
  className: string;
  outputShape: Array<number | null>;
  params: number;
  /** Parameters that train now: a layer with some frozen weights (an OnnxBlock frozen by weights:/regex/) counts only the rest. */
  trainableParams: number;
  trainable: boolean;
}

export interface ModelSummary {
  name: string;
  inputShape: Array<number | null>;
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
}

const count = (ws: readonly tfl.LayerVariable[]): number => ws.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);

/** A model's layers as a table: what `graft inspect` prints. */
export function describeModel(model: tfl.LayersModel): ModelSummary {
  const layers = model.layers.map((l) => {
    const shape = l.outputShape;
    const first = Array.isArray(shape[0]) || shape[0] === undefined ? (shape[0] as Array<number | null> | undefined) ?? [] : (shape as Array<number | null>);
    return { name: l.name, className: l.getClassName(), outputShape: first, params: count(l.weights), trainableParams: l.trainable ? count(l.trainableWeights) : 0, trainable: l.trainable };
  });
  return {
    name: model.name,
    inputShape: model.inputs[0]?.shape ?? [],
    layers,
    totalParams: count(model.weights),
    trainableParams: count(model.trainableWeights),
  };
}

export interface SummaryOptions {
  /** Where the table goes, as Keras's print_fn; it receives the whole table. Default console.log. */
  print?: (text: string) => void;
}

/**
 * Prints the model as Keras's `model.summary()` does (layer and class, output shape, parameters,
 * then the totals) and returns the same text. Nested models and OnnxBlock layers are one row each,
 * with all their parameters.
 */
export function summary(model: tfl.LayersModel, options: SummaryOptions = {}): string {
  const s = describeModel(model);
  const shape = (d: ReadonlyArray<number | null>): string => `(${d.map((v) => v ?? 'None').join(', ')})`;
  const rows = s.layers.map((l) => [`${l.name} (${l.className})`, shape(l.outputShape), l.params.toLocaleString('en-US')]);
  const head = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('').trimEnd();
  const total = widths.reduce((a, b) => a + b, 0);
  const text = [
    `Model: "${s.name}"`,
    '─'.repeat(total),
    line(head),
    '═'.repeat(total),
    ...rows.map(line),
    '═'.repeat(total),
    `Total params: ${s.totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${s.trainableParams.toLocaleString('en-US')}`,
    `Non-trainable params: ${(s.totalParams - s.trainableParams).toLocaleString('en-US')}`,
  ].join('\n');
  (options.print ?? console.log)(text);
  return text;
}
