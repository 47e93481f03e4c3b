import type * as tfl from '@tensorflow/tfjs-layers';

/** Keras application block prefixes: VGG's block1_…, MobileNetV2's block_1_… and expanded_conv_…. */
const BLOCK = /^(block_?\d+|expanded_conv)(?=_|$)/;

/**
 * Splits layers (in order) into the groups that gradual unfreezing and discriminative rates work on:
 * a named block (VGG16, MobileNetV2) is one group; otherwise each layer with weights starts a group,
 * and weightless layers and BatchNorm join the group before them (they belong to its conv or dense).
 */
export function layerGroups(layers: readonly tfl.layers.Layer[]): tfl.layers.Layer[][] {
  const groups: tfl.layers.Layer[][] = [];
  let key: string | undefined;
  for (const layer of layers) {
    const block = BLOCK.exec(layer.name)?.[1];
    const current = groups[groups.length - 1];
    const joins =
      current !== undefined &&
      (block !== undefined ? block === key : key === undefined && (layer.weights.length === 0 || layer.getClassName() === 'BatchNormalization'));
    if (joins) current.push(layer);
    else groups.push([layer]);
    key = block;
  }
  return groups;
}

/**
 * fastai's discriminative rates: the earliest group's rate is `ratio` × the phase's rate, rising
 * geometrically group by group; layers outside `groups` (the new head) keep the full rate.
 */
export function discriminativeScale(groups: readonly (readonly tfl.layers.Layer[])[], ratio: number): (layer: tfl.layers.Layer) => number {
  const factor = new Map<tfl.layers.Layer, number>();
  const n = groups.length;
  groups.forEach((g, i) => g.forEach((l) => factor.set(l, ratio ** ((n - i) / n))));
  return (layer) => factor.get(layer) ?? 1;
}
