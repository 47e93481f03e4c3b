import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeOnnxModel, type OnnxGraph, type OnnxModel } from '../../../src/engine/onnx/model-proto.js';
import { ProtoWriter } from '../../../src/engine/onnx/protobuf.js';
import { GraftError } from '../../../src/errors.js';
import { topoSort } from '../../../src/io/onnx/graph-checks.js';
import { decodeOnnxModel, readOnnxModel } from '../../../src/io/onnx/read.js';
import { checkSupportedOps, unsupportedOps } from '../../../src/io/onnx/supported-ops.js';

/**
 * ONNX files that lie: sizes past memory, data that disagrees with its dims, cycles, values
 * written twice or never, external data that leaves the model's folder or is not a file, and ops
 * graft cannot train. Each is one clear GraftError naming the file, before any allocation the
 * file does not justify.
 */

const root = mkdtempSync(path.join(tmpdir(), 'graft-onnx-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function model(graph: Partial<OnnxGraph>, over: Partial<OnnxModel> = {}): Uint8Array {
  return encodeOnnxModel({ irVersion: 8, opsets: [{ domain: '', version: 17 }], graphName: 'g', graph: { nodes: [], inputs: [], outputs: [], initializers: [], ...graph }, ...over });
}

/** A model whose graph holds one initializer written by `tensor` (raw TensorProto fields). */
function withTensor(tensor: ProtoWriter): Uint8Array {
  const g = new ProtoWriter().string(2, 'g').message(5, tensor);
  return new ProtoWriter().int(1, 8).message(7, g).message(8, new ProtoWriter().string(1, '').int(2, 17)).finish();
}

async function refusal(p: Promise<unknown>): Promise<GraftError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof GraftError)) throw new Error(`expected a GraftError, got ${String(e)}`);
  return e;
}

const relu = (input: string, output: string, name?: string) => ({ op: 'Relu', inputs: [input], outputs: [output], ...(name && { name }) });

describe('sizes a file does not justify', () => {
  it('dims whose product is past memory are refused before anything is allocated', async () => {
    const t = new ProtoWriter().int(1, 2 ** 30).int(1, 2 ** 30).int(1, 2 ** 30).int(2, 1).string(8, 'w').bytes(9, new Uint8Array(4));
    const before = process.memoryUsage().arrayBuffers;
    const e = await refusal(decodeOnnxModel(withTensor(t), 'huge.onnx'));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 20);
    expect(e.code).toBe('MODEL_CORRUPT');
    expect(e.message).toMatch(/^huge\.onnx: initializer 0 "w" has dims \[1073741824, 1073741824, 1073741824\]: 4\.95e\+27 bytes of float32, more than the 2147483648 bytes graft allows one tensor/);
  });

  it('a dimension past 2^31 alone, and a negative one', async () => {
    const big = new ProtoWriter().int(1, 2n ** 62n).int(2, 1).string(8, 'w');
    expect((await refusal(decodeOnnxModel(withTensor(big), 'm.onnx'))).message).toContain('has a dimension of 4611686018427387904');
    const neg = new ProtoWriter().int(1, -3).int(2, 1).string(8, 'w');
    expect((await refusal(decodeOnnxModel(withTensor(neg), 'm.onnx'))).message).toContain('initializer 0 "w" has a negative dimension -3');
  });

  it('more than 64 dimensions, in a tensor or a graph input', async () => {
    const t = new ProtoWriter();
    for (let i = 0; i < 65; i++) t.int(1, 1);
    t.int(2, 1).string(8, 'w').bytes(9, new Uint8Array(4));
    expect((await refusal(decodeOnnxModel(withTensor(t), 'm.onnx'))).message).toBe('m.onnx: initializer 0 has more than 64 dimensions. Re-export the model (torch.onnx.export, tf2onnx) or check that the file was copied whole.');
    const deep = model({ inputs: [{ name: 'x', shape: new Array(65).fill(1) }], outputs: [{ name: 'x', shape: [1] }] });
    expect((await refusal(decodeOnnxModel(deep, 'm.onnx'))).message).toContain('graph input "x" has more than 64 dimensions');
    const ok = model({ inputs: [{ name: 'x', shape: new Array(64).fill(1) }], outputs: [{ name: 'x', shape: [1] }] });
    expect((await decodeOnnxModel(ok, 'm.onnx')).model.graph.inputs[0]!.shape).toHaveLength(64);
  });

  it('raw_data whose length disagrees with the dims', async () => {
    const t = new ProtoWriter().int(1, 3).int(2, 1).string(8, 'w').bytes(9, new Uint8Array(8));
    const e = await refusal(decodeOnnxModel(withTensor(t), 'm.onnx'));
    expect(e.message).toContain('initializer 0 "w" has dims [3] (12 bytes of float32) but 8 bytes of raw_data');
  });

  it('typed values whose count disagrees with the dims, counted before allocating', async () => {
    // int64_data holding 2 values for dims [1000000]: refused without allocating 8 MB.
    const t = new ProtoWriter().int(1, 1_000_000).int(2, 7).string(8, 'shape').int(7, 1).int(7, 2);
    const e = await refusal(decodeOnnxModel(withTensor(t), 'm.onnx'));
    expect(e.message).toContain('initializer 0 "shape" has dims [1000000] (1000000 values of int64) but 2 values are stored');
  });

  it('a tensor with its values twice, none, or of a type graft does not hold', async () => {
    const twice = new ProtoWriter().int(1, 1).int(2, 1).string(8, 'w').bytes(9, new Uint8Array(4)).float(4, 1);
    expect((await refusal(decodeOnnxModel(withTensor(twice), 'm.onnx'))).message).toContain('holds its values twice (raw_data and typed values)');
    const none = new ProtoWriter().int(1, 2).int(2, 1).string(8, 'w');
    expect((await refusal(decodeOnnxModel(withTensor(none), 'm.onnx'))).message).toContain('(2 values of float32) but 0 values are stored');
    const strings = new ProtoWriter().int(1, 1).int(2, 8).string(8, 'labels').string(6, 'cat');
    expect((await refusal(decodeOnnxModel(withTensor(strings), 'm.onnx'))).message).toContain('initializer 0 "labels" holds string values; graft reads float32');
  });
});

describe('graphs that are not whole', () => {
  it('a cycle is refused naming a node on it (topoSort), and topoSort orders an out-of-order graph', async () => {
    const cyclic = [relu('x', 'a', 'first'), { op: 'Add', inputs: ['a', 'c'], outputs: ['b'], name: 'add' }, relu('b', 'c', 'back')];
    const e = await refusal(decodeOnnxModel(model({ nodes: cyclic, inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'c', shape: [1] }] }), 'loop.onnx'));
    expect(e.message).toBe('loop.onnx: its graph has a cycle through node "add" (Add) (node "add" (Add) → node "back" (Relu) → node "add" (Add)); an ONNX graph must be acyclic. The model is damaged.');
    expect(topoSort({ nodes: [relu('a', 'b', 'second'), relu('x', 'a', 'first')] }).map((n) => n.name)).toEqual(['first', 'second']);
    expect(() => topoSort({ nodes: [relu('y', 'y', 'self')] }, 'self.onnx')).toThrow('self.onnx: its graph has a cycle through node "self" (Relu) (node "self" (Relu) → node "self" (Relu))');
  });

  it('a value written twice', async () => {
    const e = await refusal(decodeOnnxModel(model({ nodes: [relu('x', 'y', 'one'), relu('x', 'y', 'two')], inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'y', shape: [1] }] }), 'm.onnx'));
    expect(e.message).toContain('node "two" (Relu) writes "y", which node "one" (Relu) already writes; each value is written once');
    const overInput = await refusal(decodeOnnxModel(model({ nodes: [relu('x', 'x', 'n')], inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'x', shape: [1] }] }), 'm.onnx'));
    expect(overInput.message).toContain('node "n" (Relu) writes "x", which is already graph input "x"');
  });

  it('an input nothing provides, and an output nothing computes', async () => {
    const missing = await refusal(decodeOnnxModel(model({ nodes: [relu('ghost', 'y')], outputs: [{ name: 'y', shape: [1] }] }), 'm.onnx'));
    expect(missing.message).toBe('m.onnx: node 0 (Relu) reads "ghost", which no node, initializer or graph input provides. The model is damaged or was written by a tool graft does not support.');
    const output = await refusal(decodeOnnxModel(model({ inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'z', shape: [1] }] }), 'm.onnx'));
    expect(output.message).toContain('graph output "z" is not computed by any node');
  });

  it('names of megabytes are shortened in messages', async () => {
    const long = 'n'.repeat(2 ** 20);
    const e = await refusal(decodeOnnxModel(model({ nodes: [{ op: 'R'.repeat(2 ** 20), name: long, inputs: [long], outputs: ['y'] }], outputs: [{ name: 'y', shape: [1] }] }), 'm.onnx'));
    expect(e.message).toMatch(/^m\.onnx: node "n{77}\.\.\." \(R{37}\.\.\.\) reads "n{77}\.\.\.", which no node/);
    expect(e.message.length).toBeLessThan(400);
  });

  it('an optional input left out ("") is no missing input', async () => {
    const ok = await decodeOnnxModel(model({ nodes: [{ op: 'Clip', inputs: ['x', '', ''], outputs: ['y'] }], inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'y', shape: [1] }] }), 'm.onnx');
    expect(ok.model.graph.nodes[0]!.inputs).toEqual(['x', '', '']);
  });

  it('versions outside what graft and onnxruntime read', async () => {
    const g = { nodes: [relu('x', 'y')], inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'y', shape: [1] }] };
    expect((await refusal(decodeOnnxModel(model(g, { irVersion: 2 }), 'm.onnx'))).message).toContain('its IR version is 2; graft reads IR versions 3 to 13');
    expect((await refusal(decodeOnnxModel(model(g, { irVersion: 14 }), 'm.onnx'))).message).toContain('its IR version is 14');
    expect((await refusal(decodeOnnxModel(model(g, { opsets: [{ domain: '', version: 6 }] }), 'm.onnx'))).message).toContain('it uses ONNX opset 6; graft reads opsets 7 to 26');
    expect((await refusal(decodeOnnxModel(model(g, { opsets: [{ domain: '', version: 27 }] }), 'm.onnx'))).message).toContain('opset 27');
    expect((await refusal(decodeOnnxModel(model(g, { opsets: [{ domain: 'com.microsoft', version: 1 }] }), 'm.onnx'))).message).toContain('imports no version of the default ONNX opset');
    expect((await decodeOnnxModel(model(g, { opsets: [{ domain: 'ai.onnx', version: 26 }] }), 'm.onnx')).model.opsets).toEqual([{ domain: 'ai.onnx', version: 26 }]);
  });

  it('an attribute named __proto__ is a plain key, not a prototype', async () => {
    const attrs = JSON.parse('{"__proto__": 5}') as Record<string, number>;
    const { model: m } = await decodeOnnxModel(model({ nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], attrs }], inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'y', shape: [1] }] }), 'm.onnx');
    const read = m.graph.nodes[0]!.attrs!;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.keys(read)).toEqual(['__proto__']);
  });

  it('attribute types graft does not read are named', async () => {
    const attr = new ProtoWriter().string(1, 'many').message(10, new ProtoWriter().int(2, 1)).int(20, 9);
    const node = new ProtoWriter().string(1, 'x').string(2, 'y').string(3, 'odd').string(4, 'Relu').message(5, attr);
    const g = new ProtoWriter().message(1, node).string(2, 'g');
    const bytes = new ProtoWriter().int(1, 8).message(7, g).message(8, new ProtoWriter().string(1, '').int(2, 17)).finish();
    expect((await refusal(decodeOnnxModel(bytes, 'm.onnx'))).message).toContain('attribute "many" of node "odd" (Relu) is of type TENSORS, which graft does not read');
  });
});

describe('ops graft cannot train', () => {
  const graph = { nodes: [relu('x', 'a', 'r'), { op: 'TopK', inputs: ['a', 'k'], outputs: ['v', 'i'], name: '/head/TopK' }, { op: 'If', inputs: ['c'], outputs: ['o'], name: 'branch' }, { op: 'FusedConv', domain: 'com.microsoft', inputs: ['a'], outputs: ['f'] }] };

  it('refuses naming the op, the node and the supported list', () => {
    expect(() => checkSupportedOps(graph, ['Relu', 'Conv', 'Add'], 'net.onnx')).toThrow(
      'net.onnx: node "/head/TopK" (TopK) uses op TopK, which graft cannot handle. Other ops it lacks: If, com.microsoft.FusedConv. Supported ops: Add, Conv, Relu. Cut the model before that node',
    );
    expect(unsupportedOps(graph, ['Relu', 'TopK', 'FusedConv'])).toEqual([{ op: 'If', nodes: ['node "branch" (If)'] }, { op: 'com.microsoft.FusedConv', nodes: ['node 3 (FusedConv)'] }]);
    const e = (() => {
      try {
        checkSupportedOps({ nodes: graph.nodes.slice(2, 3) }, ['Relu'], 'net.onnx');
      } catch (err) {
        return err as GraftError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('UNSUPPORTED_OP');
    expect(e?.message).toContain('uses op If (control flow: its branches are subgraphs graft does not train)');
    expect(() => checkSupportedOps({ nodes: [relu('x', 'y')] }, ['Relu'], 'net.onnx')).not.toThrow();
  });
});

describe('external data', () => {
  let n = 0;
  /** A folder with a model whose one initializer "w" (2 floats) is stored at `location`. */
  function externalModel(location: string, entries: Record<string, string> = {}): { dir: string; file: string } {
    const dir = path.join(root, `ext${n++}`);
    mkdirSync(dir);
    const t = new ProtoWriter().int(1, 2).int(2, 1).string(8, 'w');
    for (const [key, value] of Object.entries({ location, ...entries })) t.message(13, new ProtoWriter().string(1, key).string(2, value));
    t.int(14, 1);
    const node = new ProtoWriter().string(1, 'w').string(2, 'y').string(4, 'Relu');
    const g = new ProtoWriter().message(1, node).string(2, 'g').message(5, t);
    g.message(12, new ProtoWriter().string(1, 'y').message(2, new ProtoWriter().message(1, new ProtoWriter().int(1, 1))));
    const file = path.join(dir, 'model.onnx');
    writeFileSync(file, new ProtoWriter().int(1, 8).message(7, g).message(8, new ProtoWriter().string(1, '').int(2, 17)).finish());
    return { dir, file };
  }
  const floats = Buffer.from(Float32Array.of(1.5, -2).buffer);

  it('reads a file beside the model, at an offset', async () => {
    const { dir, file } = externalModel('sub/w.bin', { offset: '4', length: '8' });
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub/w.bin'), Buffer.concat([Buffer.alloc(4), floats, Buffer.alloc(3)]));
    const { model: m } = await readOnnxModel(file);
    expect(m.graph.initializers[0]!.data).toEqual(Float32Array.of(1.5, -2));
  });

  it('refuses locations that leave the folder: .., absolute, a Windows drive, a symlink out', async () => {
    writeFileSync(path.join(root, 'outside.bin'), floats);
    const cases: Array<[string, string]> = [
      ['../outside.bin', "outside the model's folder"],
      ['sub/../../outside.bin', "outside the model's folder"],
      [path.join(root, 'outside.bin'), 'an absolute path'],
      ['C:\\weights.bin', 'an absolute path'],
      ['\\\\server\\share\\w.bin', 'an absolute path'],
    ];
    for (const [location, why] of cases) {
      const e = await refusal(readOnnxModel(externalModel(location).file));
      expect(e.message, location).toContain(`tensor "w" is stored in ${JSON.stringify(location)}, ${why}; graft reads external data only from the model's own folder`);
    }
    const { dir, file } = externalModel('link.bin');
    symlinkSync(path.join(root, 'outside.bin'), path.join(dir, 'link.bin'));
    expect((await refusal(readOnnxModel(file))).message).toContain(`"link.bin", a link to ${path.join(root, 'outside.bin')}, outside the model's folder`);
  });

  it('refuses what is not a regular file, quickly: a FIFO, a folder, /dev/zero behind a link', async () => {
    const fifo = externalModel('pipe.bin');
    execFileSync('mkfifo', [path.join(fifo.dir, 'pipe.bin')]);
    const t0 = performance.now();
    expect((await refusal(readOnnxModel(fifo.file))).message).toContain('pipe.bin is a FIFO (named pipe), not a regular file');
    expect(performance.now() - t0).toBeLessThan(2000);
    const folder = externalModel('d');
    mkdirSync(path.join(folder.dir, 'd'));
    expect((await refusal(readOnnxModel(folder.file))).message).toContain('is a folder, not a regular file');
    const zero = externalModel('zero.bin');
    symlinkSync('/dev/zero', path.join(zero.dir, 'zero.bin'));
    expect((await refusal(readOnnxModel(zero.file))).message).toContain('outside the model\'s folder');
  });

  it('refuses a data file shorter than declared, a length that is not the tensor\'s, a missing file', async () => {
    const short = externalModel('w.bin', { offset: '4' });
    writeFileSync(path.join(short.dir, 'w.bin'), floats);
    expect((await refusal(readOnnxModel(short.file))).message).toContain('tensor "w" has dims [2] (8 bytes of float32) but its external data is 4 bytes long');
    const past = externalModel('w.bin', { offset: '4', length: '8' });
    writeFileSync(path.join(past.dir, 'w.bin'), floats);
    expect((await refusal(readOnnxModel(past.file))).message).toContain('tensor "w" needs bytes 4 to 12 of "w.bin", which is only 8 bytes long');
    const bad = externalModel('w.bin', { length: '-8' });
    expect((await refusal(readOnnxModel(bad.file))).message).toContain('has external_data length "-8"; a byte count is expected');
    const gone = await refusal(readOnnxModel(externalModel('nowhere.bin').file));
    expect(gone.code).toBe('MODEL_NOT_FOUND');
    expect(gone.message).toContain('tensor "w" is stored in "nowhere.bin", which is not in');
  });

  it('reads only the tensors\' ranges: an 8-byte tensor in a 64 MiB file costs 8 bytes', async () => {
    const { dir, file } = externalModel('big.bin', { offset: String(32 * 2 ** 20), length: '8' });
    const big = Buffer.alloc(64 * 2 ** 20);
    floats.copy(big, 32 * 2 ** 20);
    writeFileSync(path.join(dir, 'big.bin'), big);
    const before = process.memoryUsage().arrayBuffers;
    const { model: m } = await readOnnxModel(file);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 20);
    expect(m.graph.initializers[0]!.data).toEqual(Float32Array.of(1.5, -2));
  });

  it('refuses ranges of one file that add up to more than the file (one range named many times)', async () => {
    const dir = path.join(root, `ext${n++}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'w.bin'), floats);
    const g = new ProtoWriter().string(2, 'g');
    for (const name of ['a', 'b']) {
      const t = new ProtoWriter().int(1, 2).int(2, 1).string(8, name).message(13, new ProtoWriter().string(1, 'location').string(2, 'w.bin')).int(14, 1);
      g.message(5, t);
    }
    const file = path.join(dir, 'm.onnx');
    writeFileSync(file, new ProtoWriter().int(1, 8).message(7, g).message(8, new ProtoWriter().string(1, '').int(2, 17)).finish());
    expect((await refusal(readOnnxModel(file))).message).toBe(`${file}: its tensors claim 16 bytes from "w.bin", which holds 8: their ranges overlap. The model is damaged.`);
  });

  it("a Constant node's value tensor may be external too", async () => {
    const dir = path.join(root, `ext${n++}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'c.bin'), floats);
    const t = new ProtoWriter().int(1, 2).int(2, 1);
    for (const [key, value] of [['location', 'c.bin'], ['length', '8']]) t.message(13, new ProtoWriter().string(1, key!).string(2, value!));
    t.int(14, 1);
    const node = new ProtoWriter().string(2, 'c').string(3, 'const').string(4, 'Constant').message(5, new ProtoWriter().string(1, 'value').message(5, t).int(20, 4));
    const g = new ProtoWriter().message(1, node).string(2, 'g');
    g.message(12, new ProtoWriter().string(1, 'c').message(2, new ProtoWriter().message(1, new ProtoWriter().int(1, 1))));
    const file = path.join(dir, 'm.onnx');
    writeFileSync(file, new ProtoWriter().int(1, 8).message(7, g).message(8, new ProtoWriter().string(1, '').int(2, 17)).finish());
    const { model: m } = await readOnnxModel(file);
    expect(m.graph.nodes[0]!.attrs!.value).toEqual({ tensor: { name: '', dims: [2], data: Float32Array.of(1.5, -2) } });
  });

  it('a location the file system cannot even look up (name too long) is a GraftError too', async () => {
    const e = await refusal(readOnnxModel(externalModel('x'.repeat(5000)).file));
    expect(e.code).toBe('MODEL_CORRUPT');
    expect(e.message).toMatch(/tensor "w" is stored in "x{77}\.\.\.", which graft cannot read \(ENAMETOOLONG\)/);
  });

  it('a model read from memory by another name finds its data beside that name', async () => {
    const { dir } = externalModel('w.bin');
    writeFileSync(path.join(dir, 'w.bin'), floats);
    copyFileSync(path.join(dir, 'model.onnx'), path.join(dir, 'copy.onnx'));
    const { model: m } = await readOnnxModel(path.join(dir, 'copy.onnx'));
    expect(m.graph.initializers[0]!.data).toEqual(Float32Array.of(1.5, -2));
  });
});
