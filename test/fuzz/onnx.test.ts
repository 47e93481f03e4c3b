import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/graph-builder.js';
import { encodeModel, encodeOnnxModel, type OnnxModel } from '../../src/engine/onnx/model-proto.js';
import { ProtoWriter } from '../../src/engine/onnx/protobuf.js';
import { decodeOnnxModel } from '../../src/io/onnx/read.js';
import * as tf from '@tensorflow/tfjs-core';
import { importOnnxSource } from '../../src/io/onnx/source.js';
import { useBackend } from '../helpers.js';
import { hashBytes } from './checks.js';
import { FUZZ_CASES, FUZZ_TIMEOUT_MS, fuzz, invariant, MiB } from './harness.js';

const FUZZ_CASES_IMPORT = FUZZ_CASES / 2;
import { BinaryMutator, type Rng } from './mutate.js';
import { mutateTree, rewrite, varint } from './protobuf-tree.js';

/**
 * The ONNX reader (protobuf → IR, external data, graph checks) over damaged and hostile files:
 * exporter output (a PyTorch conv net, an onnx.helper model with every dtype and attribute type,
 * an MLP whose weights are in an external file) and a graph graft wrote itself.
 */

const FIXTURES = path.join(import.meta.dirname, '../io/onnx/fixtures');
// Every case reads from this folder, so the MLP's external data file is found beside it.
const dir = mkdtempSync(path.join(tmpdir(), 'graft-fuzz-onnx-'));
copyFileSync(path.join(FIXTURES, 'mlp.weights'), path.join(dir, 'mlp.weights'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function graftSeed(): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('x', ['batch', 4]);
  const h = b.op('Mul', [x, b.scalar(0.5)]);
  const r = b.op('Reshape', [b.op('Relu', [h]), b.ints([-1, 2, 2])]);
  b.output(b.op('ReduceSum', [r, b.ints([2])], { keepdims: 0 }), 'y', ['batch', 2]);
  return encodeModel(b.graph, 'graft_seed');
}

const SEEDS = [...['conv.onnx', 'dtypes.onnx', 'mlp.onnx'].map((f) => new Uint8Array(readFileSync(path.join(FIXTURES, f)))), graftSeed()];
// Protobuf has no header: structure is everywhere, so positions are drawn over the whole file.
const mutator = new BinaryMutator({ magicLength: 2 });

const relu = (i: string, o: string) => ({ op: 'Relu', inputs: [i], outputs: [o] });
const g = (over: Partial<OnnxModel['graph']>): OnnxModel => ({ irVersion: 8, opsets: [{ domain: '', version: 17 }], graphName: 'g', graph: { nodes: [], inputs: [{ name: 'x', shape: [1] }], outputs: [], initializers: [], ...over } });

/** Files built to lie about one thing each: sizes, structure, references. */
function hostile(rng: Rng): { bytes: Uint8Array; what: string } {
  const k = rng.int(8);
  if (k === 0) {
    const dims = Array.from({ length: 1 + rng.int(4) }, () => [0, 1, 2 ** 31 - 1, 2 ** 32, 2 ** 40, 2n ** 62n, -1][rng.int(7)]!);
    const t = new ProtoWriter();
    for (const d of dims) t.int(1, d);
    t.int(2, [1, 7, 10, 11][rng.int(4)]!).string(8, 'w').bytes(9, new Uint8Array(rng.int(64)));
    const graph = new ProtoWriter().string(2, 'g').message(5, t);
    return { bytes: new ProtoWriter().int(1, 8).message(7, graph).message(8, new ProtoWriter().int(2, 17)).finish(), what: `tensor dims [${dims.join(', ')}]` };
  }
  if (k === 1) {
    const n = 2 + rng.int(50);
    const nodes = Array.from({ length: n }, (_, i) => relu(`v${(i + n - 1) % n}`, `v${i}`));
    return { bytes: encodeOnnxModel(g({ nodes, outputs: [{ name: 'v0', shape: [1] }] })), what: `a cycle of ${n} nodes` };
  }
  if (k === 2) {
    // A long chain: graph checks must not recurse per node.
    const n = 2_000 + rng.int(18_000);
    const nodes = Array.from({ length: n }, (_, i) => relu(i === 0 ? 'x' : `v${i - 1}`, `v${i}`));
    return { bytes: encodeOnnxModel(g({ nodes, outputs: [{ name: `v${n - 1}`, shape: [1] }] })), what: `a chain of ${n} nodes` };
  }
  if (k === 3) {
    let w = new ProtoWriter().int(1, 1);
    const depth = 30 + rng.int(5000);
    for (let i = 0; i < depth; i++) w = new ProtoWriter().message(rng.int(2) ? 7 : 1, w);
    return { bytes: new ProtoWriter().int(1, 8).message(7, w).finish(), what: `messages nested ${depth} deep` };
  }
  if (k === 4) {
    const location = ['../mlp.weights', '/etc/passwd', 'C:\\w.bin', 'mlp.weights/x', '.', '', 'x'.repeat(5000), '\0', 'mlp.weights'][rng.int(9)]!;
    const entries: Array<[string, string]> = [['location', location], ['offset', String([0, 8, 2 ** 40, -1][rng.int(4)])], ['length', String([8, 0, 2 ** 53, 12][rng.int(4)])]];
    const t = new ProtoWriter().int(1, 2).int(2, 1).string(8, 'w');
    for (const [key, value] of entries) t.message(13, new ProtoWriter().string(1, key).string(2, value));
    t.int(14, 1);
    const graph = new ProtoWriter().message(1, new ProtoWriter().string(1, 'w').string(2, 'y').string(4, 'Relu')).string(2, 'g').message(5, t);
    graph.message(12, new ProtoWriter().string(1, 'y').message(2, new ProtoWriter().message(1, new ProtoWriter().int(1, 1))));
    return { bytes: new ProtoWriter().int(1, 8).message(7, graph).message(8, new ProtoWriter().int(2, 17)).finish(), what: `external data ${JSON.stringify(entries).slice(0, 80)}` };
  }
  if (k === 5) {
    const nodes = [relu('x', 'y'), relu(rng.int(2) ? 'x' : 'ghost', rng.int(2) ? 'y' : 'z')];
    return { bytes: encodeOnnxModel(g({ nodes, outputs: [{ name: rng.int(2) ? 'y' : 'nowhere', shape: [1] }] })), what: 'values written twice or never' };
  }
  if (k === 6) {
    // A length prefix claiming far more than the file holds, at the graph field.
    const claim = [2 ** 31, 2 ** 32 + 5, 2 ** 53, 2n ** 63n][rng.int(4)]!;
    return { bytes: Uint8Array.of(0x08, 0x08, 0x3a, ...varint(claim), 1, 2, 3), what: `graph length ${claim}` };
  }
  // Typed values far fewer than the dims: counted before any allocation.
  const count = [1, 2 ** 20, 2 ** 28][rng.int(3)]!;
  const t = new ProtoWriter().int(1, count).int(2, [1, 6, 7, 11][rng.int(4)]!).string(8, 'w').int(7, 1).float(4, 1).int(5, 2);
  return { bytes: new ProtoWriter().int(1, 8).message(7, new ProtoWriter().message(5, t)).message(8, new ProtoWriter().int(2, 17)).finish(), what: `typed values for dims [${count}]` };
}


describe('fuzzing the ONNX reader', () => {
  it('the tree mutator parses and writes every seed back byte for byte', () => {
    for (const seed of SEEDS) expect(rewrite(seed)).toEqual(seed);
  });

  it('every mutation ends in a model that re-encodes to itself, or a GraftError naming the file', async () => {
    await fuzz({
      name: 'ONNX',
      seed: 131,
      sync: false,
      make: (rng) => {
        if (rng.next() < 0.15) {
          const h = hostile(rng);
          return { input: h.bytes, what: h.what, size: h.bytes.length };
        }
        const k = rng.int(SEEDS.length);
        // 40 %: one field's meaning changed with every length kept right; else bytes damaged.
        const m = (rng.next() < 0.4 && mutateTree(SEEDS[k]!, rng)) || mutator.mutate(SEEDS[k]!, rng);
        return { input: m.value, what: `seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: async (bytes, label) => (await decodeOnnxModel(bytes, path.join(dir, `${label}.onnx`))).model,
      // Tensors come from the file's bytes (int64 from 1-byte varints: 8×) or the 332-byte data file;
      // a node costs ~1 KB of objects per ~25 bytes of file.
      allowance: (size) => 32 * MiB + 64 * size,
      fingerprint: (m) => (m.graph.nodes.length > 1000 ? `${m.graph.nodes.length} nodes` : hashBytes(encodeOnnxModel(m))),
      check: async (m) => {
        for (const t of m.graph.initializers) invariant(t.data.length === t.dims.reduce((a, b) => a * b, 1), `initializer ${t.name}: ${t.data.length} values for dims [${t.dims}]`);
        // What graft accepted it must be able to write, and read back the same. (Not for the long
        // chains: they test the reader's scaling, and the writer's many small arrays would count here.)
        if (m.graph.nodes.length > 1000) return;
        const again = (await decodeOnnxModel(encodeOnnxModel(m), path.join(dir, 'again.onnx'))).model;
        invariant(hashBytes(encodeOnnxModel(again)) === hashBytes(encodeOnnxModel(m)), 'reads back differently after writing');
      },
    });
  }, FUZZ_TIMEOUT_MS);
});

/** Exporter files of image models, the inputs transfer imports (static graph, cut, blocks, TF.js layers). */
const IMAGE_SEEDS = ['fashion-mnist-a.onnx', 'convnet.torchscript-op17.keep-bn.onnx', 'convnet.dynamo-op18.onnx'].map((f) => new Uint8Array(readFileSync(path.join(import.meta.dirname, '../../fixtures/onnx', f))));

describe('fuzzing the ONNX import as a transfer source', () => {
  beforeAll(useBackend);
  it('every mutation ends in a TF.js model of the cut features, or a GraftError', async () => {
    await fuzz({
      name: 'ONNX import',
      seed: 137,
      sync: false,
      // Each accepted case builds a TF.js model: fewer cases than the reader's 1000.
      cases: Math.max(1, Math.round(FUZZ_CASES_IMPORT)),
      make: (rng) => {
        const k = rng.int(IMAGE_SEEDS.length);
        const m = (rng.next() < 0.6 && mutateTree(IMAGE_SEEDS[k]!, rng)) || mutator.mutate(IMAGE_SEEDS[k]!, rng);
        return { input: m.value, what: `image seed ${k}: ${m.what}`, size: m.value.length };
      },
      run: async (bytes, label) => {
        const { model } = await decodeOnnxModel(bytes, path.join(dir, `${label}.onnx`));
        return importOnnxSource(model, `${label}.onnx`, { preprocess: 'scale', input: 16 });
      },
      allowance: (size) => 64 * MiB + 64 * size,
      liveObjects: () => tf.memory().numTensors,
      dispose: (s) => s.model.dispose(),
      check: (s) => {
        const out = s.model.outputs[0]!.shape.slice(1);
        invariant(JSON.stringify(out) === JSON.stringify(s.info.featureShape), `model output [${out.join(', ')}] vs features [${s.info.featureShape.join(', ')}]`);
      },
    });
  }, FUZZ_TIMEOUT_MS);
});
