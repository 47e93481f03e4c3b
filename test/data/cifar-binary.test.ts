import { describe, expect, it } from 'vitest';
import { CIFAR10_RECORD_BYTES, parseCifar10Batches } from '../../src/data/cifar-binary.js';
import { cifarBatch } from './cifar-fixtures.js';
import { GraftError } from '../../src/errors.js';
import { applyTask, parseTaskSpec } from '../../src/data/task.js';
import { thrown } from '../helpers.js';


describe('parseCifar10Batches', () => {
  it('interleaves the colour planes into HWC and keeps labels and class names', () => {
    const ds = parseCifar10Batches([{ bytes: cifarBatch([3, 5]), file: 'a.bin' }, { bytes: cifarBatch([9]), file: 'b.bin' }], 'cifar10/test');
    expect(ds.sampleShape).toEqual([32, 32, 3]);
    expect(Array.from(ds.y)).toEqual([3, 5, 9]);
    expect(ds.pixelRange).toBe('raw');
    expect(ds.classNames[3]).toBe('Cat');
    expect(ds.x.length).toBe(3 * 3072);
    // record 1, pixel (row 2, col 5) = p 69: R = (1+69), G = (1+7+69), B = (1+14+69)
    const o = 3072 + (2 * 32 + 5) * 3;
    expect([ds.x[o], ds.x[o + 1], ds.x[o + 2]]).toEqual([70, 77, 84]);
    // the third sample comes from the second batch, record 0
    expect(ds.x[2 * 3072]).toBe(0);
  });

  it('works with applyTask (cifar10:binary=cat,dog)', () => {
    const ds = parseCifar10Batches([{ bytes: cifarBatch([3, 5, 1, 5, 3]), file: 't.bin' }], 'cifar10/test');
    const task = applyTask(ds, parseTaskSpec('cifar10:binary=cat,dog'));
    expect(Array.from(task.y)).toEqual([0, 1, 1, 0]);
    expect(task.classNames).toEqual(['Cat', 'Dog']);
  });

  it('rejects a truncated batch, naming the file', () => {
    const bytes = cifarBatch([1, 2]).subarray(0, CIFAR10_RECORD_BYTES + 100);
    const e = thrown(() => parseCifar10Batches([{ bytes, file: '/d/data_batch_2.bin' }], 's'));
    expect(e.code).toBe('DATA_CORRUPT');
    expect(e.message).toContain('/d/data_batch_2.bin');
    expect(e.message).toContain(String(CIFAR10_RECORD_BYTES + 100));
  });

  it('rejects an empty batch and a label of 10 or more', () => {
    expect(thrown(() => parseCifar10Batches([{ bytes: new Uint8Array(0), file: 'e.bin' }], 's')).code).toBe('DATA_CORRUPT');
    const e = thrown(() => parseCifar10Batches([{ bytes: cifarBatch([0, 10]), file: 'bad.bin' }], 's'));
    expect(e.code).toBe('DATA_CORRUPT');
    expect(e.message).toMatch(/bad\.bin.*record 1 has label 10/);
  });
});
