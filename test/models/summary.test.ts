import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp } from '../../src/models/mlp.js';
import { describeModel, summary } from '../../src/models/summary.js';
import * as graft from '../../src/index.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { OnnxBlock } from '../../src/models/onnx-block/layer.js';
import { parseFreezePolicy } from '../../src/transfer/freeze.js';
import { transfer } from '../../src/transfer/transfer.js';
import { useBackend } from '../helpers.js';

beforeAll(useBackend);

const FILE = path.resolve(__dirname, '../../fixtures/onnx/fashion-mnist-a.onnx');
const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

describe('summary(model)', () => {
  it('is part of the public API', () => {
    expect(graft.summary).toBe(summary);
    expect(typeof graft.predict).toBe('function');
    expect(typeof graft.lrFind).toBe('function');
  });

  it('prints a Keras-like table: one row per layer with its output shape and parameters, then the totals', () => {
    const model = buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, dropout: 0.2, seed: 1 });
    model.layers[1]!.trainable = false;
    const printed: string[] = [];
    const text = summary(model, { print: (t) => printed.push(t) });
    expect(printed).toEqual([text]);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`Model: "${model.name}"`);
    // Dense parameters: inputs × units + units.
    const hidden = 64 * 12 + 12;
    const out = 12 * 4 + 4;
    const row = (name: string): string => lines.find((l) => l.startsWith(`${name} (`))!;
    expect(row('flatten')).toMatch(/^flatten \(Flatten\)\s+\(None, 64\)\s+0$/);
    expect(row('hidden')).toMatch(new RegExp(`^hidden \\(Dense\\)\\s+\\(None, 12\\)\\s+${hidden}$`));
    expect(row('dropout')).toMatch(/\(Dropout\)\s+\(None, 12\)\s+0$/);
    expect(lines.filter((l) => /\(\w+\)\s+\(/.test(l))).toHaveLength(model.layers.length);
    expect(lines.slice(-3)).toEqual([`Total params: ${(hidden + out).toLocaleString('en-US')}`, `Trainable params: ${out}`, `Non-trainable params: ${hidden.toLocaleString('en-US')}`]);
    model.dispose();
  });

  it('counts an OnnxBlock layer’s parameters, and only its unfrozen weights as trainable', async () => {
    const source = await loadOnnxSource(FILE, { preprocess: 'scale' });
    const t = await transfer(source.model, { cut: -1, head: { classes: 2 }, freeze: parseFreezePolicy('weights:/^features\\.0\\./') });
    const block = t.model.layers.find((l): l is OnnxBlock => l instanceof OnnxBlock)!;
    const all = block.spec.weights.reduce((n, w) => n + product(w.dims), 0);
    const frozen = block.spec.weights.filter((w) => w.name.startsWith('features.0.')).reduce((n, w) => n + product(w.dims), 0);
    expect(frozen).toBeGreaterThan(0);
    const layer = describeModel(t.model).layers.find((l) => l.name === block.name)!;
    expect(layer.className).toBe('OnnxBlock');
    expect(layer.params).toBe(all);
    expect(layer.trainableParams).toBe(all - frozen);
    const text = summary(t.model, { print: () => {} });
    expect(text).toMatch(new RegExp(`${block.name} \\(OnnxBlock\\)\\s+\\(None[^)]*\\)\\s+${all.toLocaleString('en-US')}\\n`));
    const total = t.model.layers.reduce((n, l) => n + l.countParams(), 0);
    expect(text).toContain(`Total params: ${total.toLocaleString('en-US')}`);
    expect(text).toContain(`Non-trainable params: ${frozen.toLocaleString('en-US')}`);
    t.model.dispose();
    source.model.dispose();
  });
});
