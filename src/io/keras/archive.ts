import { GraftError } from '../../errors.js';
import { READ_LIMITS } from '../read-limits.js';
import { extractZipEntry, listZipEntries } from '../zip-read.js';

/** The parts of a Keras 3 `.keras` file graft reads. */
export interface KerasArchive {
  config: unknown;
  metadata: { keras_version?: string } & Record<string, unknown>;
  weights: Uint8Array;
}

/** Total uncompressed bytes graft will inflate from one archive: far above any model it can train. */
const MAX_UNCOMPRESSED = 2 * 1024 ** 3;
/** Keras writes three or four entries; a directory claiming thousands is damaged, and walking it costs time. */
const MAX_ENTRIES = 10_000;
/** Deflate cannot compress better than 1032:1, so a larger claimed size is a lie. */
const DEFLATE_MAX_RATIO = 1032;
/**
 * Uncompressed bytes allowed per entry, checked before inflating. config.json of a VGG16 is ~30 KB
 * and of a 300-layer network ~1 MB; past these sizes the text alone would not fit in a JS string.
 * The weights share the model-file limit (h5wasm's 32-bit heap).
 */
export const KERAS_ENTRY_LIMITS: Readonly<Record<string, number>> = {
  'config.json': 64 * 2 ** 20,
  'metadata.json': 1 * 2 ** 20,
  'model.weights.h5': READ_LIMITS.model,
};
const NEEDED = ['config.json', 'metadata.json', 'model.weights.h5'];

/**
 * Reads a `.keras` zip (zip64 too) in memory. Nothing is extracted to disk, yet an entry whose name
 * would escape an extraction folder (zip-slip: "../x", "..\\x", an absolute path) makes the whole
 * file refused: such an archive was crafted, not written by Keras. Zip bombs are refused before
 * inflating (KERAS_ENTRY_LIMITS, the deflate ratio) and, when the directory lies, while inflating
 * (zip-read.ts); a JSON bomb by parseJson's nesting limit.
 */
export function readKerasArchive(bytes: Uint8Array, what: string): KerasArchive {
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new GraftError('MODEL_CORRUPT', `${what} is not a .keras archive (not a zip file). It may be truncated, or an .h5 file renamed.`);
  const entries = listZipEntries(bytes, what, MAX_ENTRIES);
  let total = 0;
  const files: Record<string, Uint8Array> = {};
  for (const f of entries) {
    const name = f.name;
    if (/(^|[\\/])\.\.([\\/]|$)/.test(name) || /^([\\/]|[a-zA-Z]:)/.test(name)) {
      throw new GraftError('MODEL_CORRUPT', `${what}: archive entry ${JSON.stringify(name)} points outside the archive's folder (zip-slip). Keras never writes such entries; refusing the file.`);
    }
  }
  for (const f of entries) {
    const name = f.name;
    if (!NEEDED.includes(name) || files[name]) continue;
    const claim = f.method === 0 ? f.compressedSize : DEFLATE_MAX_RATIO * f.compressedSize + 64;
    if (f.compressedSize > bytes.length || f.size > claim) {
      throw new GraftError('MODEL_CORRUPT', `${what}: zip entry ${name} claims ${f.size} bytes from ${f.compressedSize} stored bytes (the file has ${bytes.length}); its directory is damaged. Save or download it again.`);
    }
    total += f.size;
    if (total > MAX_UNCOMPRESSED) throw new GraftError('MODEL_CORRUPT', `${what}: the archive claims more than ${MAX_UNCOMPRESSED / 1024 ** 3} GiB uncompressed; refusing it.`);
    files[name] = extractZipEntry(bytes, f, what, KERAS_ENTRY_LIMITS[name]!);
  }
  const missing = NEEDED.filter((n) => !files[n]);
  if (missing.length > 0) throw new GraftError('MODEL_CORRUPT', `${what}: the .keras archive lacks ${missing.join(', ')}. Keras 3 writes config.json, metadata.json and model.weights.h5.`);
  return { config: parseJson(files['config.json']!, `${what}: config.json`), metadata: parseJson(files['metadata.json']!, `${what}: metadata.json`) as KerasArchive['metadata'], weights: files['model.weights.h5']! };
}

/** JSON.parse with a nesting limit: a deeply nested document is refused before it can exhaust the stack. */
export function parseJson(bytes: Uint8Array | string, what: string, options: { maxDepth?: number; fix?: string } = {}): unknown {
  const maxDepth = options.maxDepth ?? 200;
  const fix = options.fix ?? 'The file is damaged or truncated; save or download it again.';
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new GraftError('MODEL_CORRUPT', `${what} nests deeper than ${maxDepth} levels; refusing it (no file graft reads needs that). ${fix}`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${what} is not valid JSON (${(e as Error).message}). ${fix}`);
  }
}
