/**
 * Reads an experiment file (YAML, or JSON, which is YAML too) into positioned nodes and validates
 * them against schema.ts. Every refusal is a BAD_ARGUMENT GraftError that starts with
 * `FILE:LINE:COLUMN:`. Untrusted input is bounded: files over 1 MB or 10 000 values, nesting deeper than 16 levels,
 * anchors/aliases and custom tags are refused before any value is used.
 */
import * as path from 'node:path';
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { GraftError } from '../../errors.js';
import type { ConfigEntry, ConfigNode, Experiment, ExperimentKind, Pos } from './schema.js';
import { validateExperiment } from './validate.js';
import { readRegularFile, statRegularFile } from '../../io/regular-file.js';

/**
 * The largest example is 1.5 KB and 30 lines. The YAML parser spends ~1 KB and ~10 µs per value, so
 * values are bounded too, before parsing: a 200 KB flow list of 100 000 zeros took 100 MiB.
 */
export const CONFIG_LIMITS = { maxBytes: 1_000_000, maxValues: 10_000, maxDepth: 16 } as const;
export const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

export interface LoadExperimentOptions {
  /** Kind assumed when the file has no `kind` field (graft sweep FILE). Default: `kind` is required. */
  defaultKind?: ExperimentKind;
  /** An output folder from the command line, replacing the file's `out` (it may lie outside the file's folder). */
  out?: string;
}

/** Loads and validates an experiment file; relative paths in it resolve against its folder. */
export async function loadExperiment(file: string, options: LoadExperimentOptions = {}): Promise<Experiment> {
  const ext = path.extname(file).toLowerCase();
  if (!(CONFIG_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new GraftError('BAD_ARGUMENT', `${file}: an experiment file must end in ${CONFIG_EXTENSIONS.join(', ')}; received extension ${JSON.stringify(ext || '(none)')}. Fix: rename it, e.g. experiment.yaml.`);
  }
  let size: number;
  try {
    size = (await statRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, expected: 'an experiment file such as examples/model-a.yaml', code: 'BAD_ARGUMENT' })).size;
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('BAD_ARGUMENT', `${file}: no such experiment file. Fix: check the path; examples/ has one per kind.`);
  }
  if (size > CONFIG_LIMITS.maxBytes) {
    throw new GraftError('BAD_ARGUMENT', `${file}: an experiment file may be at most ${CONFIG_LIMITS.maxBytes} bytes; received ${size}. Fix: an experiment needs a few dozen lines; check that this is the right file.`);
  }
  let text: string;
  try {
    // Read through the same checks, bounded: the file may have been swapped since the stat.
    text = (await readRegularFile(file, { maxBytes: CONFIG_LIMITS.maxBytes, expected: 'an experiment file such as examples/model-a.yaml', code: 'BAD_ARGUMENT' })).toString('utf8');
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('BAD_ARGUMENT', `${file}: cannot read the experiment file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix: check its permissions.`);
  }
  const root = parseConfigText(text, file);
  return validateExperiment(root, { file, baseDir: path.dirname(path.resolve(file)), ...(options.defaultKind && { defaultKind: options.defaultKind }), ...(options.out !== undefined && { out: options.out }) });
}

/**
 * Bounds the YAML parser's work before it starts. Every value after the first needs a comma or a
 * line break, so their count bounds the values; flow brackets nest at one byte a level ('[' × 100 000
 * took the parser 1.2 s and 80 MiB before the depth check in parseConfigText could see it). Both are
 * counted everywhere, quotes and comments included: a stray quote must not hide a bomb, and no
 * experiment needs seventeen brackets in a row, even in a comment.
 */
function prescan(text: string, file: string): void {
  let values = 0;
  let depth = 0;
  let line = 1;
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    col++;
    if (c === 0x0a) {
      values++;
      line++;
      col = 0;
    } else if (c === 0x2c) values++;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > CONFIG_LIMITS.maxDepth) {
        throw new GraftError('BAD_ARGUMENT', `${file}:${line}:${col}: the file nests more than ${CONFIG_LIMITS.maxDepth} levels deep; received more than ${CONFIG_LIMITS.maxDepth} open brackets here. Fix: experiment files are a few levels deep; check the brackets.`);
      }
    } else if (c === 0x5d || c === 0x7d) depth = Math.max(0, depth - 1);
  }
  if (values > CONFIG_LIMITS.maxValues) {
    throw new GraftError('BAD_ARGUMENT', `${file}: an experiment file may hold at most ${CONFIG_LIMITS.maxValues} values or lines; received ${values} commas and line breaks. Fix: an experiment needs a few dozen lines; check that this is the right file.`);
  }
}

/** Parses YAML/JSON text into positioned nodes; `file` only labels errors. */
export function parseConfigText(text: string, file: string): ConfigNode {
  // Also here, not only in loadExperiment: callers that read the text themselves get the same bound.
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CONFIG_LIMITS.maxBytes) {
    throw new GraftError('BAD_ARGUMENT', `${file}: an experiment file may be at most ${CONFIG_LIMITS.maxBytes} bytes; received ${bytes}. Fix: an experiment needs a few dozen lines; check that this is the right file.`);
  }
  prescan(text, file);
  const lines = new LineCounter();
  const at = (offset: number | undefined): Pos => lines.linePos(offset ?? 0);
  const fail = (pos: Pos, message: string): never => {
    throw new GraftError('BAD_ARGUMENT', `${file}:${pos.line}:${pos.col}: ${message}`);
  };
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: true });
  } catch (e) {
    if (e instanceof RangeError) fail({ line: 1, col: 1 }, `the file is nested too deeply to read; received ${e.message}. Fix: experiment files are at most ${CONFIG_LIMITS.maxDepth} levels deep.`);
    throw e;
  }
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const pos = problem.linePos?.[0] ?? { line: 1, col: 1 };
    const what = problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    fail(pos, `YAML syntax error: ${what}. Fix: check the indentation and brackets on or just before line ${pos.line}${problem.code === 'TAG_RESOLVE_FAILED' ? ' (custom tags are not used in experiment files)' : ''}.`);
  }
  if (doc.contents === null) fail({ line: 1, col: 1 }, 'the file is empty; an experiment file is a mapping that starts with kind: .... Fix: start from one of the files in examples/.');

  const convert = (node: unknown, depth: number): ConfigNode => {
    const n = node as YamlNode;
    const pos = at(n?.range?.[0]);
    if (depth > CONFIG_LIMITS.maxDepth) fail(pos, `the file nests more than ${CONFIG_LIMITS.maxDepth} levels deep; received depth ${depth}. Fix: experiment files are a few levels deep; check the indentation.`);
    if (isAlias(n)) fail(pos, `anchors and aliases (*${n.source}) are not used in experiment files; received an alias. Fix: write the value out in full.`);
    if (isScalar(n)) {
      const v = n.value;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { type: 'scalar', pos, value: v };
      return fail(pos, `unsupported value; received ${String(v)}. Fix: use text, numbers, true/false, lists and mappings.`);
    }
    if (isSeq(n)) return { type: 'list', pos, items: n.items.map((item) => convert(item, depth + 1)) };
    if (isMap(n)) {
      const entries: ConfigEntry[] = [];
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as YamlNode | null;
        const keyPos = at(key?.range?.[0] ?? n.range?.[0]);
        if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) fail(keyPos, 'a key must be a plain word such as epochs; received a complex key. Fix: write key: value.');
        const value = pair.value === null ? { type: 'scalar' as const, pos: keyPos, value: null } : convert(pair.value, depth + 1);
        entries.push({ key: String((key as { value: unknown }).value), keyPos, value });
      }
      return { type: 'map', pos, entries };
    }
    return fail(pos, 'unsupported YAML node. Fix: use text, numbers, true/false, lists and mappings.');
  };
  return convert(doc.contents, 1);
}
