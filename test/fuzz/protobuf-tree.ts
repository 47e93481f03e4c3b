import { concat } from '../io/zip-bomb.js';
import { FIXED32, FIXED64, LENGTH_DELIMITED, ProtoReader, VARINT } from '../../src/engine/onnx/proto-reader.js';
import type { Mutant, Rng } from './mutate.js';

/**
 * Structure-aware mutations for protobuf files (ONNX): the file is parsed into a tree of fields,
 * one field's value is replaced (a varint by a hostile number, a string by a path that escapes,
 * a message's fields deleted, duplicated, reordered or renumbered), and the tree is written back
 * with every enclosing length recomputed, so the damage reaches the reader's checks of meaning
 * instead of stopping at a length that no longer fits.
 */

type Field =
  | { field: number; wire: typeof VARINT; value: bigint }
  | { field: number; wire: typeof FIXED32 | typeof FIXED64; value: Uint8Array }
  | { field: number; wire: typeof LENGTH_DELIMITED; value: Uint8Array; children?: Field[] };

/** Parses `bytes` as a message if every byte is a well-formed field, else undefined. */
function parse(bytes: Uint8Array, depth: number): Field[] | undefined {
  if (depth > 10 || bytes.length === 0) return undefined;
  try {
    const r = new ProtoReader(bytes);
    const out: Field[] = [];
    while (!r.done()) {
      const { field, wire } = r.tag();
      if (wire === VARINT) out.push({ field, wire, value: r.varint64() });
      else if (wire === FIXED32) out.push({ field, wire, value: fixed(r, 4) });
      else if (wire === FIXED64) out.push({ field, wire, value: fixed(r, 8) });
      else {
        const value = r.bytes();
        const children = parse(value, depth + 1);
        out.push(children ? { field, wire: LENGTH_DELIMITED, value, children } : { field, wire: LENGTH_DELIMITED, value });
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The raw bytes of a fixed-width value (read through the reader's own bounds checks). */
function fixed(r: ProtoReader, n: 4 | 8): Uint8Array {
  const b = new Uint8Array(n);
  if (n === 4) new DataView(b.buffer).setUint32(0, new DataView(Float32Array.of(r.float()).buffer).getUint32(0, true), true);
  else new DataView(b.buffer).setBigUint64(0, r.fixed64(), true);
  return b;
}

/** A protobuf varint; negative values as their 64-bit two's complement. */
export function varint(v: number | bigint): number[] {
  v = BigInt(v);
  let n = v < 0n ? v + (1n << 64n) : v;
  const out: number[] = [];
  do {
    out.push(Number(n & 0x7fn) | (n > 0x7fn ? 0x80 : 0));
    n >>= 7n;
  } while (n > 0n);
  return out;
}

function write(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(Uint8Array.from(varint(BigInt(f.field * 8 + f.wire))));
    if (f.wire === VARINT) parts.push(Uint8Array.from(varint(f.value)));
    else if (f.wire === LENGTH_DELIMITED) {
      const body = f.children ? write(f.children) : f.value;
      parts.push(Uint8Array.from(varint(BigInt(body.length))), body);
    } else parts.push(f.value);
  }
  return concat(parts);
}

/** Parses and writes back unchanged: the seeds must come back byte for byte (a faithful tree). */
export function rewrite(src: Uint8Array): Uint8Array | undefined {
  const tree = parse(src, 0);
  return tree && write(tree);
}

/** Every field in the tree with the list that holds it. */
function walk(fields: Field[], out: Array<{ list: Field[]; index: number }> = []): Array<{ list: Field[]; index: number }> {
  fields.forEach((f, index) => {
    out.push({ list: fields, index });
    if (f.wire === LENGTH_DELIMITED && f.children) walk(f.children, out);
  });
  return out;
}

const HOSTILE_INTS = [0n, 1n, -1n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 255n, 16n, 1000n];
const HOSTILE_TEXT = ['', '../outside', '/etc/passwd', 'C:\\x', '\0', 'x'.repeat(3000), '\u202e\x1b[2J', 'input', 'weight', '__proto__'];

/** One structural mutation of a protobuf file, or undefined when the bytes do not parse as one. */
export function mutateTree(src: Uint8Array, rng: Rng): Mutant | undefined {
  const tree = parse(src, 0);
  if (!tree) return undefined;
  const all = walk(tree);
  const { list, index } = all[rng.int(all.length)]!;
  const f = list[index]!;
  const at = `field ${f.field} (#${all.findIndex((e) => e.list === list && e.index === index)})`;
  let what: string;
  const k = rng.int(6);
  if (k === 0 && f.wire === VARINT) {
    const v = HOSTILE_INTS[rng.int(HOSTILE_INTS.length)]!;
    f.value = v;
    what = `${at} = ${v}`;
  } else if (k === 1 && f.wire === LENGTH_DELIMITED) {
    const text = HOSTILE_TEXT[rng.int(HOSTILE_TEXT.length)]!;
    list[index] = { field: f.field, wire: LENGTH_DELIMITED, value: new TextEncoder().encode(text) };
    what = `${at} = ${JSON.stringify(text.slice(0, 20))}`;
  } else if (k === 2) {
    list.splice(index, 1);
    what = `${at} deleted`;
  } else if (k === 3) {
    const copies = 1 + rng.int(rng.next() < 0.2 ? 2000 : 3);
    list.splice(index, 0, ...new Array<Field>(copies).fill(f));
    what = `${at} repeated ${copies + 1} times`;
  } else if (k === 4) {
    const other = rng.int(list.length);
    [list[index], list[other]] = [list[other]!, f];
    what = `${at} swapped with its sibling ${other}`;
  } else {
    const field = [1, 2, 3, 4, 5, 7, 8, 9, 13, 14, 20][rng.int(11)]!;
    list[index] = { ...f, field } as Field;
    what = `${at} renumbered ${field}`;
  }
  return { value: write(tree), what: `tree: ${what}` };
}
