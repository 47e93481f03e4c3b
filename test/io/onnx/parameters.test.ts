import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initializerRoles } from '../../../src/io/onnx/parameters.js';
import { readOnnxModel } from '../../../src/io/onnx/read.js';

/**
 * ONNX keeps no requires_grad, so graft reads which initializers are parameters from how they are
 * used. Checked against the truth make.py recorded from PyTorch (each initializer that is a
 * PyTorch parameter, or folded from one, has `param` in the fixture's .ref.json): the same set,
 * for every committed export of the conv net (BN folded and kept) and of the BERT-style encoder.
 */
const DIR = path.resolve(__dirname, '../../../fixtures/onnx');

interface Entry { file: string; ok: boolean; variant: string; initializers?: Record<string, { param?: string }>; folded?: { initializers?: Record<string, { param?: string }> } }

const cases = ['convnet', 'bert-tiny'].flatMap((model) => {
  const header = JSON.parse(readFileSync(path.join(DIR, `${model}.ref.json`), 'utf8')) as { onnx: Entry[] };
  return header.onnx.filter((e) => e.ok).map((e) => ({ model, entry: e }));
});

describe('initializerRoles finds PyTorch parameters in exported graphs', () => {
  for (const { entry } of cases) {
    it(entry.file, async () => {
      const { model } = await readOnnxModel(path.join(DIR, entry.file));
      const map = (entry.variant === 'keep-bn' || !entry.folded ? entry.initializers : entry.folded.initializers) ?? {};
      const truth = Object.entries(map).filter(([, v]) => v.param).map(([k]) => k).sort();
      const roles = initializerRoles(model.graph);
      const found = [...roles].filter(([, r]) => r === 'parameter').map(([k]) => k).sort();
      expect(truth.length).toBeGreaterThan(5);
      expect(found).toEqual(truth);
      // BatchNorm's running statistics are state, never parameters.
      for (const n of model.graph.nodes.filter((x) => x.op === 'BatchNormalization')) {
        expect(roles.get(n.inputs[3]!)).toBe('state');
        expect(roles.get(n.inputs[4]!)).toBe('state');
      }
    });
  }
});
