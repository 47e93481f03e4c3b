import { cliCapture } from './in-process.js';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeOnnxModel } from '../../src/engine/onnx/model-proto.js';

/** `graft inspect model.onnx`: the header, IO with symbolic dims, the node table, --json. */

const CONV = path.join(import.meta.dirname, '../io/onnx/fixtures/conv.onnx');
const root = mkdtempSync(path.join(tmpdir(), 'graft-inspect-onnx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = cliCapture;

describe('graft inspect model.onnx', () => {
  it('prints producer, IR version, opsets, inputs and outputs with symbolic dims, and a node table with parameters', async () => {
    const r = await cli(['inspect', CONV]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/conv\.onnx: ONNX model, IR version 8, written by pytorch \d/);
    expect(lines[1]).toBe('opsets ai.onnx 17; graph "main_graph"');
    expect(lines[2]).toBe('input input: float32 [batch, 3, 8, 8]');
    expect(lines[3]).toBe('output logits: float32 [batch, 5]');
    // Conv: 4×3×3×3 weights + 4 biases (BatchNorm folded in by the exporter); Gemm: 64×5 + 5.
    const table = lines.slice(5, 12).map((l) => l.split(/\s{2,}/));
    expect(table[0]).toEqual(['node', 'op', 'inputs → outputs', 'params']);
    expect(table.slice(2).map((c) => [c[1], c.at(-1)])).toEqual([['Conv', '112'], ['Relu', '0'], ['MaxPool', '0'], ['Flatten', '0'], ['Gemm', '325']]);
    expect(table[2]![0]).toBe('/conv/Conv');
    expect(table[2]![2]).toMatch(/^input, onnx::Conv_\d+, onnx::Conv_\d+ → \/conv\/Conv_output_0$/);
    expect(r.stdout).toContain('Total parameters 437 in 4 initializers; 5 nodes');
  });

  it('--json: the same as data', async () => {
    const r = await cli(['inspect', CONV, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ format: 'onnx', irVersion: 8, opsets: { 'ai.onnx': 17 }, graphName: 'main_graph', totalParams: 437, constantElements: 0, initializers: 4 });
    expect(s.inputs).toEqual([{ name: 'input', type: 'float32', shape: ['batch', 3, 8, 8] }]);
    expect(s.nodes.map((n: { op: string; params: number }) => [n.op, n.params])).toEqual([['Conv', 112], ['Relu', 0], ['MaxPool', 0], ['Flatten', 0], ['Gemm', 325]]);
    expect(s.nodes[4].outputs).toEqual(['logits']);
  });

  it('knows an ONNX file by its content when the name does not say', async () => {
    const file = path.join(root, 'model.bin');
    copyFileSync(CONV, file);
    const r = await cli(['inspect', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).totalParams).toBe(437);
  });

  it('names from the file reach the terminal escaped', async () => {
    // A newline too: it must not start a line of graft's output.
    const evil = '\x1b]0;pwned\x07\x1b[2J\u202e\n';
    const file = path.join(root, 'evil.onnx');
    writeFileSync(file, encodeOnnxModel({
      irVersion: 8, producerName: `p${evil}`, opsets: [{ domain: '', version: 17 }], graphName: `g${evil}`,
      graph: { nodes: [{ name: `n${evil}`, op: 'Relu', inputs: [`x${evil}`], outputs: [`y${evil}`] }], inputs: [{ name: `x${evil}`, shape: [`b${evil}`, 2] }], outputs: [{ name: `y${evil}`, shape: [null, 2] }], initializers: [] },
    }));
    for (const args of [['inspect', file], ['inspect', file, '--json']]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/[\x1b\x07\u202e]/);
      expect(r.stdout).toContain(args.length === 2 ? 'n\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\n' : 'n\\u001b]0;pwned\\u0007\\u001b[2J\\u202e\\n');
    }
    const lines = (await cli(['inspect', file])).stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      `${file}: ONNX model, IR version 8, written by p\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\n`,
      'opsets ai.onnx 17; graph "g\\u001b]0;pwned\\u0007\\u001b[2J\\u202e\\n"',
      'input x\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\n: float32 [b\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\n, 2]',
      'output y\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\n: float32 [?, 2]',
    ]);
  });

  it('a missing file, an unreadable one, a folder: exit 2 and a message, no stack', async () => {
    const missing = await cli(['inspect', path.join(root, 'none.onnx')]);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, `graft inspect: No ONNX model at ${path.join(root, 'none.onnx')}. Check the path; pass an .onnx file.`]);
    const folder = path.join(root, 'folder.onnx');
    mkdirSync(folder);
    const r = await cli(['inspect', folder]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`${folder} is a folder, not a regular file`)]);
    // A name the file system refuses to look up stands for every other errno (EACCES when not root).
    const long = path.join(root, `${'x'.repeat(5000)}.onnx`);
    const l = await cli(['inspect', long]);
    expect([l.code, l.stderr]).toEqual([2, expect.stringMatching(/xxx\.onnx cannot be read \(ENAMETOOLONG\)\. Check its permissions\.\n$/)]);
  });

  it('a damaged file: exit 2 and one line naming the file and what is wrong', async () => {
    const file = path.join(root, 'cut.onnx');
    const bytes = readFileSync(CONV);
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    const r = await cli(['inspect', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} is not a valid ONNX model: its protobuf`);
    expect(r.stdout).toBe('');
  });
});
