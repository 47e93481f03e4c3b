import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';

/**
 * The committed ONNX fixtures (fixtures/onnx/, made by make.py from PyTorch; see its README) are
 * what the ONNX reader and the training compiler are tested against without Python. This checks
 * that they are intact and mean what they say: every model loads in onnxruntime-node and its
 * output on the stored input is PyTorch's eval-mode output within 1e-5 (the batch axis dynamic),
 * the stored losses are the cross-entropy of the stored logits, and every parameter has a
 * gradient of its shape and two 30-step loss curves. The large ones (ResNet-18, MobileNetV3-Small,
 * EfficientNet-B0), which `make.py --large` writes outside the repository, get the same checks
 * when their folder ($GRAFT_ONNX_FIXTURES, else ~/.cache/graft/onnx-fixtures) holds them.
 */
const DIR = path.resolve(__dirname, '../../fixtures/onnx');
const LARGE_DIR = process.env.GRAFT_ONNX_FIXTURES ?? path.join(os.homedir(), '.cache/graft/onnx-fixtures');
const ATOL = 1e-5;
const MAX_FILE = 2 * 1024 * 1024;

interface ArrayEntry { dtype: 'float32' | 'int32'; shape: number[]; offset: number; length: number }
interface InitializerEntry { param?: string; buffer?: string; transform?: string; rows?: number[]; constant?: boolean }
interface OnnxEntry {
  file: string; exporter: string; variant: string; ok: boolean; error?: string; bytes?: number; sha256?: string;
  opset?: number; ops?: string[]; passes?: boolean; initializers?: Record<string, InitializerEntry>; unmatchedParameters?: string[];
  gradientCheck?: { checked: number; failures: unknown[] };
  folded?: { error?: string; arraysPrefix?: string; initializers?: Record<string, InitializerEntry>; parameters?: Record<string, number[]> };
}
interface Header {
  format: string; bin: string; model: string; inputName: string; outputName: string; classes: number;
  parameters?: Record<string, number[]>; onnx: OnnxEntry[]; arrays: Record<string, ArrayEntry>;
}

class Fixture {
  readonly header: Header;
  private readonly bin: Buffer;
  readonly dir: string;
  constructor(readonly jsonPath: string) {
    this.dir = path.dirname(jsonPath);
    this.header = JSON.parse(readFileSync(jsonPath, 'utf8')) as Header;
    this.bin = readFileSync(path.join(path.dirname(jsonPath), this.header.bin));
  }
  has(name: string): boolean {
    return name in this.header.arrays;
  }
  entry(name: string): ArrayEntry {
    const e = this.header.arrays[name];
    if (!e) throw new Error(`${this.header.model}: no array ${name} in ${this.jsonPath}`);
    return e;
  }
  /** A copy, so a test may change it. */
  array(name: string): Float32Array | Int32Array {
    const e = this.entry(name);
    const bytes = this.bin.subarray(e.offset, e.offset + 4 * e.length);
    const copy = new Uint8Array(bytes).buffer; // little-endian on every platform onnxruntime-node ships for
    return e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
  }
  float(name: string): Float32Array {
    const a = this.array(name);
    if (!(a instanceof Float32Array)) throw new Error(`${name} is not float32`);
    return a;
  }
}

/** The largest |got − want|, after the lengths agree; NaN anywhere counts as Infinity. */
function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length}, expected ${want.length}`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst;
}

/** Mean softmax cross-entropy of logits [n, k] against integer labels, in float64. */
function crossEntropy(logits: Float32Array, labels: Int32Array, k: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * k, i * k + k);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    sum += lse - row[labels[i]!]!;
  }
  return sum / labels.length;
}

function fixturesIn(dir: string): Fixture[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ref.json')).sort().map((f) => new Fixture(path.join(dir, f))) : [];
}
const fixtures = fixturesIn(DIR);
const large = fixturesIn(LARGE_DIR);
if (large.length === 0) console.log(`large ONNX fixtures not checked: ${LARGE_DIR} has none (python fixtures/onnx/make.py --large --out ${LARGE_DIR} makes them)`);

const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`ONNX fixture outputs not checked: ${missing}`);

async function runModel(file: string, f: Fixture, rows?: number): Promise<Float32Array> {
  const rt = ort as Exclude<typeof ort, string>;
  const e = f.entry('input');
  const n = rows ?? e.shape[0]!;
  const shape = [n, ...e.shape.slice(1)];
  const per = e.shape.slice(1).reduce((a, b) => a * b, 1);
  const x = f.array('input').subarray(0, n * per);
  const input = x instanceof Int32Array
    ? new rt.Tensor('int64', BigInt64Array.from(x, (v) => BigInt(v)), shape) // ids are stored int32; the models take int64
    : new rt.Tensor('float32', x, shape);
  const session = await rt.InferenceSession.create(path.join(f.dir, file), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({ [f.header.inputName]: input });
    const y = out[f.header.outputName];
    if (!y) throw new Error(`${file}: no output ${f.header.outputName}`);
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('ONNX fixtures (fixtures/onnx)', () => {
  it('are present: a conv net, an encoder and the Fashion-MNIST source model', () => {
    expect(fixtures.map((f) => f.header.model)).toEqual(expect.arrayContaining(['convnet', 'bert-tiny', 'fashion-mnist-a']));
  });

  for (const f of [...fixtures, ...large]) {
    const committed = f.dir === DIR;
    describe(committed ? f.header.model : `${f.header.model} (${f.dir})`, () => {
      it('arrays fit the binary file and every ONNX file is small and unchanged', () => {
        expect(f.header.format).toBe('graft-fixture-arrays/1');
        const end = Math.max(...Object.values(f.header.arrays).map((a) => a.offset + 4 * a.length));
        expect(statSync(path.join(f.dir, f.header.bin)).size).toBe(end);
        for (const [name, a] of Object.entries(f.header.arrays)) expect(a.shape.reduce((p, d) => p * d, 1), name).toBe(a.length);
        const ok = f.header.onnx.filter((o) => o.ok);
        expect(ok.length).toBeGreaterThan(0);
        for (const o of ok) {
          const bytes = readFileSync(path.join(f.dir, o.file));
          if (committed) expect(bytes.length, o.file).toBeLessThan(MAX_FILE);
          expect(createHash('sha256').update(bytes).digest('hex'), `${o.file} differs from what make.py recorded`).toBe(o.sha256);
        }
      });

      it('stored losses are the mean cross-entropy of the stored logits', () => {
        const labels = f.array('labels') as Int32Array;
        for (const mode of ['eval', 'train']) {
          if (!f.has(`loss_${mode}`)) continue;
          const ce = crossEntropy(f.float(`logits_${mode}`), labels, f.header.classes);
          expect(Math.abs(ce - f.float(`loss_${mode}`)[0]!), mode).toBeLessThan(1e-5);
        }
      });

      if (f.header.parameters) {
        it('every parameter has a gradient of its shape, every mapped initializer a parameter, and 30-step curves', () => {
          const params = f.header.parameters!;
          for (const [name, shape] of Object.entries(params)) {
            expect(f.entry(`grad/${name}`).shape, name).toEqual(shape);
            expect(f.float(`grad/${name}`).some((g) => g !== 0), `${name}: gradient all zeros`).toBe(true);
          }
          for (const o of f.header.onnx.filter((e) => e.ok)) {
            for (const [init, m] of Object.entries(o.initializers ?? {})) if (m.param) expect(params, `${o.file} ${init}`).toHaveProperty([m.param]);
            if (o.variant === 'keep-bn' || f.header.model === 'bert-tiny') expect(o.unmatchedParameters, o.file).toEqual([]);
            if (o.gradientCheck) expect(o.gradientCheck.failures, `${o.file}: make.py's finite-difference check`).toEqual([]);
          }
          for (const opt of ['sgd', 'adam']) {
            const curve = f.float(`curve/${opt}`);
            expect(curve.length).toBe(30);
            expect(Math.abs(curve[0]! - f.float('loss_train')[0]!), `${opt}: curve[0] is loss_train`).toBeLessThan(1e-6);
            expect(curve[29]!, `${opt}: 30 steps on one batch lower the loss`).toBeLessThan(curve[0]!);
          }
        });

        const folded = f.header.onnx.filter((o) => o.ok && o.variant === 'default' && o.ops?.includes('Conv') && (f.header.onnx.some((k) => k.variant === 'keep-bn')));
        for (const o of folded) {
          it(`${o.file}: the BatchNorm-folded graph has its own references, every initializer it trains mapped`, () => {
            expect(o.folded?.error, o.file).toBeUndefined();
            const prefix = o.folded!.arraysPrefix!;
            const mapped = Object.values(o.folded!.initializers!).map((m) => m.param!);
            expect(mapped.sort()).toEqual(Object.keys(o.folded!.parameters!).sort());
            for (const [name, shape] of Object.entries(o.folded!.parameters!)) expect(f.entry(`${prefix}grad/${name}`).shape, name).toEqual(shape);
            const labels = f.array('labels') as Int32Array;
            const ce = crossEntropy(f.float(`${prefix}logits_train`), labels, f.header.classes);
            expect(Math.abs(ce - f.float(`${prefix}loss_train`)[0]!)).toBeLessThan(1e-5);
            for (const opt of ['sgd', 'adam']) expect(f.float(`${prefix}curve/${opt}`)[0]).toBe(f.float(`${prefix}loss_train`)[0]);
          });
        }
      }

      for (const o of f.header.onnx.filter((e) => e.ok)) {
        it.skipIf(missing !== undefined)(`${o.file} (${o.exporter}, opset ${o.opset}): onnxruntime-node gives PyTorch's eval output within ${ATOL}`, async () => {
          const want = f.float('logits_eval');
          expect(want.some((v) => v !== 0)).toBe(true);
          expect(maxAbsDiff(await runModel(o.file, f), want)).toBeLessThanOrEqual(ATOL);
          const k = want.length / f.entry('logits_eval').shape[0]!;
          expect(maxAbsDiff(await runModel(o.file, f, 2), want.subarray(0, 2 * k)), 'batch of 2: the batch axis is dynamic').toBeLessThanOrEqual(ATOL);
        });
      }
    });
  }

  it('the comparison notices one output off by 2e-5', () => {
    const want = Float32Array.from([0.5, -1.25, 3]);
    const got = Float32Array.from(want);
    expect(maxAbsDiff(got, want)).toBe(0);
    got[1]! += 2e-5;
    expect(maxAbsDiff(got, want)).toBeGreaterThan(ATOL);
    got[1] = NaN;
    expect(maxAbsDiff(got, want)).toBe(Infinity);
  });
});
