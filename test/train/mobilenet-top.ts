import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMobileNetV2 } from '../../src/models/mobilenetv2.js';
import { transfer } from '../../src/transfer/transfer.js';
import { applyUnfreeze } from '../../src/transfer/freeze.js';
import { FeatureCache, findSplit } from '../../src/transfer/feature-cache.js';

/**
 * MobileNetV2 α 0.35's top (random weights) as `graft transfer --unfreeze from:LAYER` (default
 * block_16_expand) trains it on cached features. The top shares its layers with the transferred model, so each
 * copy comes from its own transfer of the same source (same weights: transfer copies them).
 */
export async function mobileNetTops(side: number, count: number, from = 'block_16_expand'): Promise<tfl.LayersModel[]> {
  const source = buildMobileNetV2({ alpha: 0.35, inputShape: [side, side, 3], seed: 1 });
  const tops: tfl.LayersModel[] = [];
  for (let i = 0; i < count; i++) {
    const t = await transfer(source, { head: { classes: 2, pooling: 'avg', dropout: 0.2 }, seed: 4 });
    applyUnfreeze(t.reused, { from });
    const search = findSplit(t.model);
    if (!('split' in search)) throw new Error(search.reason);
    tops.push(new FeatureCache(t.model, search.split, 'tfjs').top);
  }
  return tops;
}
