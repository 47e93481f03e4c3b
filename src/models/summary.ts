import * as tfl from '@tensorflow/tfjs-layers';

export interface LayerSummary {
  name: string;
  className: string;
  outputShape: Array<number | null>;
  params: number;
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
    return { name: l.name, className: l.getClassName(), outputShape: first, params: count(l.weights), trainable: l.trainable };
  });
  return {
    name: model.name,
    inputShape: model.inputs[0]?.shape ?? [],
    layers,
    totalParams: count(model.weights),
    trainableParams: count(model.trainableWeights),
  };
}
