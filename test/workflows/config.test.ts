import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { loadExperiment } from '../../src/workflows/config/load.js';
import { schemaReference } from '../../src/workflows/config/validate.js';
import { editDistance, suggest } from '../../src/suggest.js';
import { COMPARE_DEFAULTS } from '../../src/workflows/compare.js';

const EXAMPLES = path.resolve(__dirname, '../../examples');
const dir = mkdtempSync(path.join(tmpdir(), 'graft-config-'));

/** Writes `text` as dir/name and returns the path. */
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Loads `text` as a config file and returns the error message it must fail with. */
async function failure(text: string, name = 'x.yaml'): Promise<string> {
  const p = file(name, text);
  try {
    await loadExperiment(p);
  } catch (e) {
    expect(e).toBeInstanceOf(GraftError);
    expect((e as GraftError).code).toBe('BAD_ARGUMENT');
    return (e as GraftError).message;
  }
  throw new Error(`expected ${name} to be refused:\n${text}`);
}

const COMPARE = 'kind: compare\nfrom: runs/a\ntask: fashion-mnist:binary=shirt,sandal\nout: out\n';

describe('examples/', () => {
  const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));

  it('has the write-up experiments', () => {
    expect(files.sort()).toEqual(
      expect.arrayContaining(['compare-shirt-sandal.yaml', 'compare-tshirt-sandal.yaml', 'layers-shirt-sandal.yaml', 'model-a.yaml', 'model-b-transfer.yaml', 'seed-mlp.yaml', 'sweep-shirt-sandal.yaml']),
    );
  });

  it.each(files)('%s validates', async (f) => {
    const exp = await loadExperiment(path.join(EXAMPLES, f));
    expect(f.startsWith(exp.kind) || (f.startsWith('model-a') && exp.kind === 'train') || (f.startsWith('model-b') && exp.kind === 'transfer') || (f === 'seed-mlp.yaml' && exp.kind === 'seed')).toBe(true);
    expect(path.isAbsolute(exp.out)).toBe(true);
  });

  it('model B follows model A with the write-up settings', async () => {
    const a = await loadExperiment(path.join(EXAMPLES, 'model-a.yaml'));
    const b = await loadExperiment(path.join(EXAMPLES, 'model-b-transfer.yaml'));
    if (a.kind !== 'train' || b.kind !== 'transfer') throw new Error('wrong kinds');
    expect(b.from).toBe(a.out);
    expect(b.frozen).toEqual({ epochs: 4, optimizer: { name: 'sgd', learningRate: 0.001 } });
    expect(b.unfrozen?.epochs).toBe(16);
    expect(b.unfrozen?.optimizer?.learningRate).toBeLessThan(0.001);
  });

  it('the sweep is a 2 × 2 × 2 grid', async () => {
    const s = await loadExperiment(path.join(EXAMPLES, 'sweep-shirt-sandal.yaml'));
    if (s.kind !== 'sweep') throw new Error('wrong kind');
    const sizes = Object.values(s.space).map((v) => (v as unknown[]).length);
    expect(sizes.reduce((a, b) => a * b, 1)).toBe(8);
  });
});

describe('loadExperiment', () => {
  it('resolves from, out, dataDir and log against the file’s folder, not the working directory', async () => {
    const p = file('paths.yaml', 'kind: transfer\nfrom: ../runs/a\ntask: fashion-mnist:binary=shirt,sandal\nout: sub/b\ndataDir: /abs/data\nlog: b.jsonl\n');
    const exp = await loadExperiment(p);
    if (exp.kind !== 'transfer') throw new Error('wrong kind');
    expect(exp.from).toBe(path.resolve(dir, '../runs/a'));
    expect(exp.out).toBe(path.join(dir, 'sub/b'));
    expect(exp.dataDir).toBe('/abs/data');
    expect(exp.log).toBe(path.join(dir, 'b.jsonl'));
  });

  it('reads JSON by extension, with the same checks', async () => {
    const exp = await loadExperiment(file('e.json', JSON.stringify({ kind: 'compare', from: 'a', task: 'fashion-mnist:binary=shirt,sandal', out: 'o', perClass: [10, 'all'], seeds: 3 }, null, 2)));
    expect(exp).toMatchObject({ kind: 'compare', perClass: [10, 'all'], seeds: 3 });
    const msg = await failure('{\n  "kind": "compare",\n  "from": "a",\n  "task": "fashion-mnist",\n  "out": "o",\n  "seeds": "5"\n}\n', 'bad.json');
    expect(msg).toMatch(/bad\.json:6:12: compare\.seeds must be a whole number ≥ 1 and ≤ 1000; received "5"\. Fix: write seeds: 5\./);
  });

  it('keeps absent fields absent (the workflows apply the documented defaults)', async () => {
    const exp = await loadExperiment(file('min.yaml', COMPARE));
    expect(exp).toEqual({ kind: 'compare', from: path.join(dir, 'runs/a'), task: 'fashion-mnist:binary=shirt,sandal', out: path.join(dir, 'out') });
  });

  it('graft sweep files may leave kind out', async () => {
    const p = file('bare-sweep.yaml', 'from: a\ntask: fashion-mnist:binary=shirt,sandal\nout: o\nspace:\n  frozenLr: [0.01, 0.001]\n');
    expect(await loadExperiment(p, { defaultKind: 'sweep' })).toMatchObject({ kind: 'sweep', space: { frozenLr: [0.01, 0.001] } });
    await expect(loadExperiment(p)).rejects.toThrow(/bare-sweep\.yaml:1:1: kind is required; received nothing\. Fix: add a first line kind: KIND, one of train, transfer, seed, compare, sweep, layers/);
  });
});

describe('validation errors name the file, line, field and received value', () => {
  it('wrong type', async () => {
    const msg = await failure(`${COMPARE}seeds: five\n`);
    expect(msg).toMatch(/^.*x\.yaml:5:8: compare\.seeds must be a whole number ≥ 1 and ≤ 1000; received "five"\. Fix: write seeds: 5\.$/);
  });

  it('wrong type inside lists and nested mappings', async () => {
    const msg = await failure(`${COMPARE}perClass: [10, fifty, 200]\nfrozen:\n  optimizer:\n    learningRate: -1\nhead: 3\n`);
    expect(msg).toContain('x.yaml:5:16: compare.perClass[1] must be a whole number ≥ 1 or "all"; received "fifty"');
    expect(msg).toContain('x.yaml:8:19: compare.frozen.optimizer.learningRate must be a number > 0 and ≤ 10; received -1. Fix: write learningRate: 0.001.');
    expect(msg).toContain('x.yaml:9:7: compare.head must be a mapping with the fields hidden, dropout, pooling; received 3.');
  });

  it('unknown key, with a did-you-mean by edit distance', async () => {
    const msg = await failure(`${COMPARE}seed: 3\nfrozen:\n  learning_rate: 0.1\n`);
    expect(msg).toContain('x.yaml:5:1: compare.seed is not a field of a kind: compare experiment; received "seed". Fix: did you mean "seeds"?');
    expect(msg).toContain('x.yaml:7:3: compare.frozen.learning_rate is not a field of compare.frozen; received "learning_rate". Fix: remove it. The fields are: epochs, optimizer, schedule.');
    const far = await failure(`${COMPARE}colour: blue\n`);
    expect(far).toMatch(/compare\.colour is not a field .* Fix: remove it\. The fields are: kind, task, from, preprocess, layout, out, /);
  });

  it('missing required field', async () => {
    const msg = await failure('# Model B\nkind: transfer\ntask: fashion-mnist:binary=tshirt-top,sandal\nout: b\n');
    expect(msg).toMatch(/x\.yaml:2:1: transfer\.from is required \(Source model.*\); received nothing\. Fix: add from: \.\.\/runs\/model-a\./);
  });

  it('bad enum value, with a suggestion', async () => {
    const msg = await failure('kind: train\ntask: fashion-mnist\nout: a\narchitecture: cnnn\n');
    expect(msg).toBe(`${path.join(dir, 'x.yaml')}:4:15: train.architecture must be one of mlp, cnn; received "cnnn". Fix: did you mean architecture: cnn?`);
    expect(await failure('kind: compair\n')).toMatch(/x\.yaml:1:7: kind must be one of train, transfer, seed, compare, sweep, layers; received "compair"\. Fix: did you mean kind: compare\?/);
  });

  it('values checked by the library parsers (task spec)', async () => {
    const msg = await failure('kind: train\nout: a\ntask: fashion-mnist:binary=shirt,sandle\n');
    expect(msg).toMatch(/x\.yaml:3:7: train\.task is not a task spec; received "fashion-mnist:binary=shirt,sandle"\. Fix: .*unknown class "sandle"/);
    expect(await failure('kind: transfer\nfrom: a\nout: b\ntask: fashion-mnist\nunfreeze: last\ncut: [1]\n')).toBe(
      [
        `${path.join(dir, 'x.yaml')}:5:11: transfer.unfreeze is not an unfreeze policy; received "last". Fix: use all, last:N or from:LAYER_NAME.`,
        `${path.join(dir, 'x.yaml')}:6:6: transfer.cut must be a layer name or index (graft inspect lists them); received [1]. Fix: write cut: hidden.`,
      ].join('\n'),
    );
  });

  it('YAML syntax error with its line', async () => {
    const msg = await failure(`${COMPARE}perClass: [10, 50\nseeds: 5\n`);
    expect(msg).toMatch(/x\.yaml:6:1: YAML syntax error: Flow sequence .* end with a \]\. Fix: check the indentation and brackets on or just before line 6\.$/);
    expect(await failure('kind: train\ntask: fashion-mnist\nout: a\nepochs: 3: 4\n')).toMatch(/x\.yaml:4:9: YAML syntax error: Nested mappings/);
    expect(await failure('kind: train\ntask: fashion-mnist\nout: a\n\tepochs: 3\n')).toMatch(/x\.yaml:4:1: YAML syntax error: Tabs are not allowed as indentation/);
  });

  it('duplicate key, naming both lines', async () => {
    const msg = await failure(`${COMPARE}seeds: 5\nworkers: 2\nseeds: 10\n`);
    expect(msg).toContain('x.yaml:7:1: compare.seeds appears twice (first at line 5); received a second value 10. Fix: keep one of them.');
  });

  it('lists every problem, one per line', async () => {
    const msg = await failure(`${COMPARE}seeds: 0\nworkers: many\nmode: grid\n`);
    expect(msg.split('\n')).toHaveLength(3);
  });

  it('a file that is not a mapping, or is empty', async () => {
    expect(await failure('- kind: train\n')).toMatch(/x\.yaml:1:1: an experiment file must be a mapping of fields .*received a list of 1 item\. Fix: start from one of the files in examples\/\.$/);
    expect(await failure('# nothing\n')).toMatch(/x\.yaml:1:1: the file is empty/);
    expect(await failure('"just text"\n')).toMatch(/must be a mapping.*received "just text"/);
  });

  it('cross-field rules', async () => {
    expect(await failure('kind: train\ntask: fashion-mnist\nout: a\nearlyStopping: { patience: 2 }\n')).toMatch(/x\.yaml:4:1: train\.earlyStopping needs validation data, but valSplit is not set\. Fix: add valSplit: 0\.1/);
    expect(await failure('kind: sweep\nfrom: a\ntask: fashion-mnist\nout: o\nspace: { freeze: [all] }\nsamples: 4\n')).toMatch(/x\.yaml:6:1: sweep\.samples applies only to mode: random/);
  });

  it('refuses files over 1 MB, deep nesting, aliases and unknown extensions', async () => {
    expect(await failure(`${COMPARE}# ${'x'.repeat(1_100_000)}\n`)).toMatch(/at most 1000000 bytes; received 11\d{5}/);
    const deep = `${COMPARE}head: ${'['.repeat(40)}${']'.repeat(40)}\n`;
    expect(await failure(deep)).toMatch(/x\.yaml:5:\d+: the file nests more than 16 levels deep/);
    expect(await failure(`${COMPARE}seeds: &n 5\nworkers: *n\n`)).toMatch(/x\.yaml:6:10: anchors and aliases \(\*n\) are not used/);
    expect(await failure(COMPARE, 'x.toml')).toMatch(/must end in \.yaml, \.yml, \.json; received extension "\.toml"/);
    await expect(loadExperiment(path.join(dir, 'missing.yaml'))).rejects.toThrow(/no such experiment file/);
  });
});

describe('schema helpers', () => {
  it('suggests by edit distance, ignoring case, dashes and underscores', () => {
    expect(editDistance('seed', 'seeds')).toBe(1);
    expect(editDistance('trian', 'train')).toBe(1); // a swap of neighbours is one edit
    expect(editDistance('abc', 'cba')).toBe(2);
    expect(suggest('per_class', ['perClass', 'seeds'])).toBe('perClass');
    expect(suggest('valsplit', ['valSplit'])).toBe('valSplit');
    expect(suggest('zzz', ['perClass', 'seeds'])).toBeUndefined();
  });

  it('the reference states defaults from the workflow constants', () => {
    const ref = schemaReference();
    expect(ref).toContain(`seeds: a whole number ≥ 1 and ≤ 1000 (default ${COMPARE_DEFAULTS.seeds})`);
    expect(ref).toContain(`perClass: a list, each item a whole number ≥ 1 or "all" (default [${COMPARE_DEFAULTS.trainSizes.join(', ')}])`);
    for (const kind of ['train', 'transfer', 'seed', 'compare', 'sweep', 'layers']) expect(ref).toContain(`kind: ${kind} — `);
  });
});
