import { describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/fashion-mnist.js';
import { applyTask, DATASET_CLASSES, formatTaskSpec, parseTaskSpec, taskClassNames } from '../../src/data/task.js';
import { tinyDataset } from './idx-fixtures.js';

function specError(text: string): GraftError {
  try {
    parseTaskSpec(text);
  } catch (e) {
    expect(e).toBeInstanceOf(GraftError);
    expect((e as GraftError).code).toBe('BAD_TASK_SPEC');
    expect((e as GraftError).message).toContain(JSON.stringify(text));
    return e as GraftError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

const FM_NAMES = FASHION_MNIST_CLASSES.map((c) => c.name);

describe('parseTaskSpec', () => {
  it('parses the whole dataset', () => {
    expect(parseTaskSpec('fashion-mnist')).toEqual({ dataset: 'fashion-mnist', mode: 'all', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  });

  it('parses exclude, keeping the rest in original order', () => {
    const spec = parseTaskSpec('fashion-mnist:exclude=sandal,shirt');
    expect(spec).toEqual({ dataset: 'fashion-mnist', mode: 'exclude', classes: [0, 1, 2, 3, 4, 7, 8, 9] });
    expect(taskClassNames(spec)).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sneaker', 'Bag', 'Ankle boot']);
  });

  it('parses binary as negative, positive', () => {
    expect(parseTaskSpec('fashion-mnist:binary=tshirt-top,sandal').classes).toEqual([0, 5]);
    expect(parseTaskSpec('fashion-mnist:binary=sandal,tshirt-top').classes).toEqual([5, 0]);
  });

  it('parses classes in the order given', () => {
    const spec = parseTaskSpec('fashion-mnist:classes=bag,coat,dress');
    expect(spec).toEqual({ dataset: 'fashion-mnist', mode: 'classes', classes: [8, 4, 3] });
    expect(taskClassNames(spec)).toEqual(['Bag', 'Coat', 'Dress']);
  });

  it('accepts slugs in any case, display names and indices', () => {
    expect(parseTaskSpec(' Fashion-MNIST:Binary= T-shirt/top , SANDAL ').classes).toEqual([0, 5]);
    expect(parseTaskSpec('fashion-mnist:classes=Ankle boot,1').classes).toEqual([9, 1]);
    expect(parseTaskSpec('fashion-mnist:exclude=5,6').classes).toEqual([0, 1, 2, 3, 4, 7, 8, 9]);
  });

  it('knows cifar10 classes', () => {
    expect(DATASET_CLASSES.cifar10!.map((c) => c.slug)).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(parseTaskSpec('cifar10:binary=cat,dog')).toEqual({ dataset: 'cifar10', mode: 'binary', classes: [3, 5] });
  });

  it('round-trips through formatTaskSpec in canonical form', () => {
    const cases: [string, string][] = [
      ['fashion-mnist', 'fashion-mnist'],
      ['fashion-mnist:exclude=Shirt,5', 'fashion-mnist:exclude=sandal,shirt'],
      ['fashion-mnist:binary=0,Sandal', 'fashion-mnist:binary=tshirt-top,sandal'],
      ['FASHION-MNIST:classes=9,1,2', 'fashion-mnist:classes=ankle-boot,trouser,pullover'],
      ['cifar10:binary=cat,dog', 'cifar10:binary=cat,dog'],
    ];
    for (const [text, canonical] of cases) {
      expect(formatTaskSpec(parseTaskSpec(text))).toBe(canonical);
      expect(parseTaskSpec(canonical)).toEqual(parseTaskSpec(text));
    }
  });

  it('rejects an unknown class, listing the valid ones', () => {
    const e = specError('fashion-mnist:exclude=sandal,boots');
    expect(e.message).toContain('unknown class "boots"');
    expect(e.message).toContain('5=sandal');
    expect(e.message).toContain('9=ankle-boot');
  });

  it('rejects an unknown dataset, listing the known ones', () => {
    const e = specError('mnist:binary=0,1');
    expect(e.message).toContain('unknown dataset "mnist"');
    expect(e.message).toContain('fashion-mnist, cifar10');
  });

  it("treats Object's own names (__proto__, constructor) as unknown datasets, not a crash", () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      expect(specError(`${name}:binary=0,1`).message).toContain(`unknown dataset "${name.toLowerCase()}"`);
    }
  });

  it('rejects an unknown mode, listing the valid forms', () => {
    const e = specError('fashion-mnist:only=bag,coat');
    expect(e.message).toContain('unknown mode "only"');
    expect(e.message).toContain('<dataset>:binary=negative,positive');
  });

  it('rejects malformed lists', () => {
    expect(specError('fashion-mnist:binary=bag,coat,dress').message).toContain('exactly 2 classes');
    expect(specError('fashion-mnist:binary=bag').message).toContain('exactly 2 classes');
    expect(specError('fashion-mnist:classes=bag').message).toContain('at least 2');
    expect(specError('fashion-mnist:classes=bag,,coat').message).toContain('empty entry');
    expect(specError('fashion-mnist:exclude').message).toContain('empty entry');
    expect(specError('fashion-mnist:classes=bag,Bag').message).toContain('listed twice');
    expect(specError('fashion-mnist:classes=3,10').message).toContain('index 10 is out of range 0..9');
    expect(specError('fashion-mnist:exclude=0,1,2,3,4,5,6,7,8').message).toContain('leaves 1');
    expect(specError('').message).toContain('no dataset');
  });

  it('refuses hand-built specs with bad indices', () => {
    expect(() => formatTaskSpec({ dataset: 'fashion-mnist', mode: 'classes', classes: [1, 12] })).toThrow(/class index 12/);
    expect(() => taskClassNames({ dataset: 'fashion-mnist', mode: 'binary', classes: [3, 3] })).toThrow(/repeated/);
  });
});

describe('applyTask', () => {
  const labels = [0, 5, 6, 9, 7, 1, 5, 0];
  const ds = tinyDataset(labels, FM_NAMES);

  it('relabels excluded tasks to 0..k-1 and keeps samples with their labels', () => {
    const out = applyTask(ds, parseTaskSpec('fashion-mnist:exclude=sandal,shirt'));
    // kept: 0→0, 9→7, 7→5, 1→1, 0→0
    expect(Array.from(out.y)).toEqual([0, 7, 5, 1, 0]);
    expect(Array.from(out.x.filter((_, i) => i % 2 === 0))).toEqual([0, 3, 4, 5, 7]);
    expect(out.classNames).toHaveLength(8);
    expect(out.classNames[7]).toBe('Ankle boot');
    expect(out.source).toBe('tiny (fashion-mnist:exclude=sandal,shirt)');
    expect(out.pixelRange).toBe('raw');
  });

  it('maps binary negative to 0 and positive to 1', () => {
    const out = applyTask(ds, parseTaskSpec('fashion-mnist:binary=tshirt-top,sandal'));
    expect(Array.from(out.y)).toEqual([0, 1, 1, 0]);
    expect(Array.from(out.x.filter((_, i) => i % 2 === 1))).toEqual([0, 5, 5, 0]);
    expect(out.classNames).toEqual(['T-shirt/top', 'Sandal']);
  });

  it('orders classes as given', () => {
    const out = applyTask(ds, parseTaskSpec('fashion-mnist:classes=ankle-boot,tshirt-top'));
    expect(Array.from(out.y)).toEqual([1, 0, 1]);
    expect(out.classNames).toEqual(['Ankle boot', 'T-shirt/top']);
  });

  it('refuses a dataset that is not the full original class set', () => {
    const filtered = applyTask(ds, parseTaskSpec('fashion-mnist:exclude=sandal,shirt'));
    expect(() => applyTask(filtered, parseTaskSpec('fashion-mnist:binary=0,5'))).toThrow(/needs the 10 original fashion-mnist classes/);
    const cifarNames = DATASET_CLASSES.cifar10!.map((c) => c.name);
    expect(() => applyTask(ds, parseTaskSpec('cifar10:binary=cat,dog'))).toThrow(cifarNames[0]!);
  });
});
