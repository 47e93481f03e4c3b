import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { transferOptionsFor } from '../../app/arms.js';
import { prepareSource } from '../../app/source.js';
import { sampleSize } from '../../src/data/dataset.js';
import { initBackend } from '../../src/engine/backend.js';
import { disposeModel } from '../../src/models/dispose.js';
import { FeatureCache, findSplit } from '../../src/transfer/feature-cache.js';
import { selectUnfreeze } from '../../src/transfer/freeze.js';
import { transfer } from '../../src/transfer/transfer.js';

/**
 * The app's feature caches at 224×224 (issue 18, item 3: "features are cached once"): the app's
 * transfer model from the Teachable Machine source, split where fineTune's cache would split it in
 * each phase. Each phase's cache must hold features much smaller than an image; a cache of
 * image-sized rows would hold 8,000 images as float32 again (4.8 GB).
 */
const TM = path.resolve(import.meta.dirname, '../../../shared/fixtures/teachable-machine');
const hasTm = existsSync(path.join(TM, 'model.json')) && existsSync(path.join(TM, 'weights.bin'));
if (!hasTm) console.log(`app feature-cache test skipped: no Teachable Machine fixture at ${TM}`);
const SIDE = 224;
/** A cached feature row may take at most this share of an image's values. */
const MAX_SHARE = 0.1;

describe("the app's feature caches at 224×224", () => {
  it.skipIf(!hasTm)('cache a small feature row per image in the frozen and the fine-tune phase, never the image', async () => {
    await initBackend('cpu');
    const source = await prepareSource({ kind: 'tfjs', name: 'model.json', modelJson: readFileSync(path.join(TM, 'model.json'), 'utf8'), weights: readFileSync(path.join(TM, 'weights.bin')) }, SIDE);
    const t = await transfer(source.model, { ...transferOptionsFor(source.cut, 4), seed: 0 });
    try {
      const image = SIDE * SIDE * 3;
      const cached = (): { layer: string; share: number } => {
        const search = findSplit(t.model);
        if (!('split' in search)) throw new Error(`no feature cache: ${search.reason}`);
        const cache = new FeatureCache(t.model, search.split);
        cache.release();
        return { layer: search.split.layer.name, share: sampleSize(cache.featureShape) / image };
      };
      const frozen = cached();
      for (const layer of selectUnfreeze(t.reused, source.unfreeze)) layer.trainable = true;
      const unfrozen = cached();
      console.log(`frozen phase caches ${frozen.layer} (${(100 * frozen.share).toFixed(2)}% of an image's values); fine-tune phase ${unfrozen.layer} (${(100 * unfrozen.share).toFixed(2)}%)`);
      expect(frozen.share).toBeLessThanOrEqual(MAX_SHARE);
      expect(unfrozen.share).toBeLessThanOrEqual(MAX_SHARE);
    } finally {
      disposeModel(t.model);
      disposeModel(source.model);
    }
  });
});
