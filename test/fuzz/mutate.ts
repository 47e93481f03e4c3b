import { Rng } from '../../src/engine/rng.js';

/**
 * The mutation engine every fuzz test shares. Each call draws one mutation from a seeded Rng, so a
 * case is reproduced from (seed, index) alone, and `what` names the mutation in failure messages.
 * Binary mutations model what damages files in practice (truncated downloads, flipped bits) and
 * what a hostile file does (size and offset fields set to 0, all-ones, 2^31−1 or negative, wrong
 * magic, chunks repeated or cut out). Text mutations work on JSON/YAML tokens and lines, plus the
 * bombs a parser must bound: deep nesting, huge arrays and strings, numbers past every range.
 */

export { Rng };

export interface Mutant<T = Uint8Array> {
  value: T;
  /** The mutation in words, e.g. "4-byte field at 16 = 0x7fffffff (big-endian)". */
  what: string;
}

/** Where a binary format keeps the fields worth aiming at. */
export interface BinaryLayout {
  /** Byte ranges [start, end) of headers, chunk tables and directories; half the point mutations land here. */
  hot?: ReadonlyArray<readonly [number, number]>;
  /** Bytes of magic number at offset 0. Default 4. */
  magicLength?: number;
  /** Byte order of the format's size fields. Default 'little'. */
  endian?: 'big' | 'little';
}

/** Other formats' magic numbers: a file of one kind renamed as another is a common mistake. */
const FOREIGN_MAGIC: ReadonlyArray<readonly number[]> = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], // PNG
  [0xff, 0xd8, 0xff, 0xe0], // JPEG
  [0x1f, 0x8b, 0x08, 0x00], // gzip
  [0x50, 0x4b, 0x03, 0x04], // zip
  [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], // HDF5
  [0x00, 0x00, 0x08, 0x03], // IDX
  [0x7b, 0x22], // '{"'
  [0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20], // 'version ' (a Git LFS pointer)
];

/** Field values that break size arithmetic: empty, all ones, the int32 edges, small negatives. */
function fieldValues(width: 1 | 2 | 4, fileLength: number): number[] {
  const max = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
  const signedMax = (max + 1) / 2 - 1;
  return [0, 1, max, signedMax, signedMax + 1, max - 1 /* −2 */, fileLength & max, (fileLength + 1) & max, 0x10 & max];
}

function writeField(bytes: Uint8Array, at: number, width: 1 | 2 | 4, value: number, endian: 'big' | 'little'): void {
  for (let k = 0; k < width; k++) {
    const shift = 8 * (endian === 'big' ? width - 1 - k : k);
    bytes[at + k] = Math.floor(value / 2 ** shift) & 0xff;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export class BinaryMutator {
  private readonly hot: ReadonlyArray<readonly [number, number]>;
  private readonly magicLength: number;
  private readonly endian: 'big' | 'little';

  constructor(layout: BinaryLayout = {}) {
    this.hot = layout.hot ?? [];
    this.magicLength = layout.magicLength ?? 4;
    this.endian = layout.endian ?? 'little';
  }

  /** One mutation of `src`, or two or three stacked (a damaged file is rarely damaged once). */
  mutate(src: Uint8Array, rng: Rng): Mutant {
    return stacked(src, rng, 0.15, (v) => this.once(v, rng));
  }

  /** A position, aimed at a hot range half of the time. */
  private pos(length: number, rng: Rng): number {
    if (length === 0) return 0;
    if (this.hot.length > 0 && rng.next() < 0.5) {
      const [a, b] = this.hot[rng.int(this.hot.length)]!;
      const lo = Math.min(a, length - 1);
      const hi = Math.min(b, length);
      return lo + rng.int(Math.max(1, hi - lo));
    }
    return rng.int(length);
  }

  private once(src: Uint8Array, rng: Rng): Mutant {
    const n = src.length;
    const op = rng.int(100);
    if (n === 0) return { value: Uint8Array.of(rng.int(256)), what: 'one random byte' };
    if (op < 18) {
      const at = rng.next() < 0.3 ? this.pos(n, rng) : rng.int(n);
      return { value: src.slice(0, at), what: `truncated to ${at} of ${n} bytes` };
    }
    if (op < 36) {
      const out = src.slice();
      const flips = 1 + rng.int(8);
      for (let k = 0; k < flips; k++) out[this.pos(n, rng)]! ^= 1 << rng.int(8);
      return { value: out, what: `${flips} bit flip${flips > 1 ? 's' : ''}` };
    }
    if (op < 62) {
      const widths = [1, 2, 4] as const;
      const width = widths[rng.int(3)]!;
      if (n < width) return { value: src.slice(0, 0), what: 'emptied' };
      const at = Math.min(this.pos(n, rng), n - width);
      const values = fieldValues(width, n);
      const v = values[rng.int(values.length)]!;
      const endian = rng.next() < 0.8 ? this.endian : this.endian === 'big' ? 'little' : 'big';
      const out = src.slice();
      writeField(out, at, width, v, endian);
      return { value: out, what: `${width}-byte field at ${at} = ${hex(v)} (${endian}-endian)` };
    }
    if (op < 70) {
      const out = src.slice();
      if (rng.next() < 0.5) {
        const magic = FOREIGN_MAGIC[rng.int(FOREIGN_MAGIC.length)]!;
        out.set(magic.slice(0, n));
        return { value: out, what: `magic replaced by ${magic.map((b) => b.toString(16).padStart(2, '0')).join(' ')}` };
      }
      const at = rng.int(Math.min(this.magicLength, n));
      out[at] = (out[at]! + 1 + rng.int(255)) & 0xff;
      return { value: out, what: `magic byte ${at} changed` };
    }
    if (op < 78) {
      // A chunk repeated: a resumed download that re-appended a block, a table entry copied.
      const len = 1 + rng.int(Math.min(n, rng.next() < 0.5 ? 64 : 4096));
      const from = rng.int(n - len + 1);
      const to = this.pos(n + 1, rng);
      const chunk = src.subarray(from, from + len);
      const out = new Uint8Array(n + len);
      out.set(src.subarray(0, to));
      out.set(chunk, to);
      out.set(src.subarray(to), to + len);
      return { value: out, what: `${len} bytes from ${from} duplicated at ${to}` };
    }
    if (op < 86) {
      const len = 1 + rng.int(Math.min(n, rng.next() < 0.5 ? 64 : 4096));
      const at = Math.min(this.pos(n, rng), n - len);
      const out = new Uint8Array(n - len);
      out.set(src.subarray(0, at));
      out.set(src.subarray(at + len), at);
      return { value: out, what: `${len} bytes removed at ${at}` };
    }
    if (op < 92) {
      const len = 1 + rng.int(Math.min(n, 256));
      const at = Math.min(this.pos(n, rng), n - len);
      const out = src.slice();
      const fill = rng.next() < 0.5 ? (rng.next() < 0.5 ? 0 : 0xff) : -1;
      for (let k = 0; k < len; k++) out[at + k] = fill < 0 ? rng.int(256) : fill;
      return { value: out, what: `${len} bytes at ${at} set to ${fill < 0 ? 'random' : hex(fill)}` };
    }
    if (op < 97) {
      const len = 1 + rng.int(rng.next() < 0.5 ? 16 : 4096);
      const out = new Uint8Array(n + len);
      out.set(src);
      for (let k = n; k < out.length; k++) out[k] = rng.int(256);
      return { value: out, what: `${len} random bytes appended` };
    }
    const len = rng.int(Math.min(n, 16));
    return { value: src.slice(0, len), what: len === 0 ? 'emptied' : `cut to its first ${len} bytes` };
  }
}

// ── Text ────────────────────────────────────────────────────────────────────────────────────────

/** JSON/YAML tokens: strings, numbers, words, whitespace runs, any other single character. */
const TOKEN = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\n])*'|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_][\w.-]*|\s+|[^]/g;

const HUGE_NUMBERS = ['1e309', '-1e309', '1e-400', '9'.repeat(400), '-1', '0', '-0', '2147483648', '4294967296', '9007199254740993', '1e21', '0.5', 'NaN', 'Infinity', '-Infinity', '0x7fffffff'];
const WRONG_TYPES = ['"x"', '""', 'null', 'true', 'false', '[]', '{}', '[1, 2]', '{"a": 1}', '"__proto__"', '["x", null]', '{"__proto__": {"polluted": true}}'];

/** A bomb: something a few bytes of intent turns into a lot of parser work or memory. */
function bomb(rng: Rng): { text: string; what: string } {
  const k = rng.int(6);
  if (k === 0) {
    const depth = [64, 300, 5_000, 100_000][rng.int(4)]!;
    return { text: `${'['.repeat(depth)}1${']'.repeat(depth)}`, what: `array nested ${depth} deep` };
  }
  if (k === 1) {
    const depth = [64, 300, 5_000, 50_000][rng.int(4)]!;
    return { text: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, what: `object nested ${depth} deep` };
  }
  // The million-element bombs cost ~0.1 s each to build and parse: drawn one time in five, not one in three.
  if (k === 2) {
    const n = [10_000, 10_000, 100_000, 100_000, 1_000_000][rng.int(5)]!;
    return { text: `[${'0,'.repeat(n - 1)}0]`, what: `array of ${n} zeros` };
  }
  if (k === 3) {
    const n = [100_000, 100_000, 1_000_000][rng.int(3)]!;
    return { text: `"${'A'.repeat(n)}"`, what: `string of ${n} characters` };
  }
  if (k === 4) {
    const n = [1_000, 20_000][rng.int(2)]!;
    return { text: `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`, what: `object with ${n} keys` };
  }
  const depth = [64, 300, 5_000][rng.int(3)]!;
  return { text: `${'[{"x":'.repeat(depth)}1${'}]'.repeat(depth)}`, what: `mixed nesting ${depth} deep` };
}

/** YAML-only hazards: alias expansion ("billion laughs"), custom tags, merge keys, tabs, odd indentation. */
const YAML_HAZARDS: ReadonlyArray<{ text: string; what: string }> = [
  { text: 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n', what: 'alias expansion bomb' },
  { text: 'x: !!js/function "function () { return 1 }"\n', what: 'custom tag !!js/function' },
  { text: 'x: !custom 1\n', what: 'unknown tag' },
  { text: '<<: {epochs: 5}\n', what: 'merge key' },
  { text: '\tepochs: 3\n', what: 'tab indentation' },
  { text: '? [complex, key]\n: 1\n', what: 'complex key' },
  { text: '--- \nkind: train\n---\nkind: sweep\n', what: 'two documents' },
  { text: 'x: 0o777\ny: 0x10\nz: .inf\nw: .nan\n', what: 'YAML 1.1/1.2 numerals' },
  { text: 'x: 2001-12-14t21:59:43.10-05:00\n', what: 'timestamp' },
  { text: 'x: !!binary aGVsbG8=\n', what: 'binary tag' },
  { text: '%YAML 1.1\n---\nx: y\n', what: 'version directive' },
];

export interface TextOptions {
  /** Add YAML hazards and line/indentation mutations. Default false (JSON). */
  yaml?: boolean;
}

export class TextMutator {
  constructor(private readonly options: TextOptions = {}) {}

  mutate(src: string, rng: Rng): Mutant<string> {
    return stacked(src, rng, 0.2, (v) => this.once(v, rng));
  }

  private once(src: string, rng: Rng): Mutant<string> {
    const tokens = src.match(TOKEN) ?? [];
    const solid = tokens.map((t, i) => i).filter((i) => !/^\s+$/.test(tokens[i]!));
    const valueTokens = solid.filter((i) => /^["'\d-]|^(true|false|null)$/.test(tokens[i]!));
    const pick = (from: number[]): number => from[rng.int(from.length)] ?? 0;
    const join = (t: string[]): string => t.join('');
    const op = rng.int(this.options.yaml ? 110 : 100);
    if (tokens.length === 0) return { value: bomb(rng).text, what: 'empty input replaced by a bomb' };
    if (op < 12) {
      const i = pick(solid);
      const t = tokens.slice();
      const removed = t.splice(i, 1 + (rng.next() < 0.3 ? rng.int(4) : 0));
      return { value: join(t), what: `token ${i} (${JSON.stringify(removed.join('').slice(0, 20))}) deleted` };
    }
    if (op < 20) {
      const i = pick(solid);
      const t = tokens.slice();
      t.splice(i, 0, tokens[i]!);
      return { value: join(t), what: `token ${i} (${JSON.stringify(tokens[i]!.slice(0, 20))}) duplicated` };
    }
    if (op < 26) {
      const i = pick(solid);
      const j = pick(solid);
      const t = tokens.slice();
      [t[i], t[j]] = [t[j]!, t[i]!];
      return { value: join(t), what: `tokens ${i} and ${j} swapped` };
    }
    if (op < 40) {
      const i = pick(valueTokens);
      const t = tokens.slice();
      const v = HUGE_NUMBERS[rng.int(HUGE_NUMBERS.length)]!;
      t[i] = v;
      return { value: join(t), what: `value ${JSON.stringify(tokens[i]!.slice(0, 20))} → ${v.length > 20 ? `${v.slice(0, 8)}… (${v.length} chars)` : v}` };
    }
    if (op < 54) {
      const i = pick(valueTokens);
      const t = tokens.slice();
      const v = WRONG_TYPES[rng.int(WRONG_TYPES.length)]!;
      t[i] = v;
      return { value: join(t), what: `value ${JSON.stringify(tokens[i]!.slice(0, 20))} → ${v}` };
    }
    if (op < 66) {
      const i = pick(valueTokens);
      const t = tokens.slice();
      const b = bomb(rng);
      t[i] = b.text;
      return { value: join(t), what: `value ${JSON.stringify(tokens[i]!.slice(0, 20))} → ${b.what}` };
    }
    if (op < 72) {
      // A duplicated key: after an opening brace, repeat the key that follows with another value.
      const opens = solid.filter((i) => tokens[i] === '{');
      if (opens.length === 0) return this.truncate(src, rng);
      const i = pick(opens);
      const t = tokens.slice();
      const key = tokens.slice(i + 1).find((x) => !/^\s+$/.test(x));
      if (!key || !key.startsWith('"')) return this.truncate(src, rng);
      const v = WRONG_TYPES[rng.int(WRONG_TYPES.length)]!;
      t.splice(i + 1, 0, `${key}: ${v}, `);
      return { value: join(t), what: `key ${key.slice(0, 20)} duplicated with value ${v}` };
    }
    if (op < 82) return this.truncate(src, rng);
    if (op < 90) {
      const bytes = new TextEncoder().encode(src);
      const flips = 1 + rng.int(6);
      for (let k = 0; k < flips; k++) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      return { value: new TextDecoder().decode(bytes), what: `${flips} bit flips` };
    }
    if (op < 95) {
      const lines = src.split('\n');
      const i = rng.int(lines.length);
      const k = rng.int(3);
      if (k === 0) lines.splice(i, 1);
      else if (k === 1) lines.splice(i, 0, lines[i]!);
      else lines[i] = rng.next() < 0.5 ? ` ${lines[i]!}` : lines[i]!.replace(/^ /, '');
      return { value: lines.join('\n'), what: `line ${i + 1} ${['deleted', 'duplicated', 'reindented'][k]}` };
    }
    if (op < 100) {
      const junk = ['\u0000', '\uFEFF', '\uD800', '\u202E', '\r', '\\', '"', '/*', '#', '\u00A0'][rng.int(10)]!;
      const at = rng.int(src.length + 1);
      return { value: src.slice(0, at) + junk + src.slice(at), what: `${JSON.stringify(junk)} inserted at ${at}` };
    }
    const hazard = YAML_HAZARDS[rng.int(YAML_HAZARDS.length)]!;
    if (rng.next() < 0.5) return { value: hazard.text + src, what: `${hazard.what} prepended` };
    return { value: `${src.replace(/\n?$/, '\n')}${hazard.text}`, what: `${hazard.what} appended` };
  }

  private truncate(src: string, rng: Rng): Mutant<string> {
    const at = rng.int(src.length);
    return { value: src.slice(0, at), what: `truncated to ${at} of ${src.length} characters` };
  }
}

/** One mutation, or (with probability `p`) two or three stacked: a damaged file is rarely damaged once. */
function stacked<T>(src: T, rng: Rng, p: number, once: (value: T) => Mutant<T>): Mutant<T> {
  const stack = rng.next() < p ? 2 + rng.int(2) : 1;
  let value = src;
  const what: string[] = [];
  for (let k = 0; k < stack; k++) {
    const m = once(value);
    value = m.value;
    what.push(m.what);
  }
  return { value, what: what.join(' + ') };
}
