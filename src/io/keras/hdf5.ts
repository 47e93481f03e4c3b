import { GraftError } from '../../errors.js';
import { diagnostics, h5HeapBytes, h5lib, heapLimit } from './h5lib.js';

/**
 * Read-only view of an HDF5 file held in memory. h5wasm (the HDF5 C library compiled to
 * WebAssembly) reads from its in-memory file system, so no temp file touches the disk; every
 * failure of the C library becomes a MODEL_CORRUPT error naming the file and the path inside it.
 */
export interface H5Reader {
  /** Children of a group ('' or '/' is the root). */
  keys(path: string): string[];
  isGroup(path: string): boolean;
  isDataset(path: string): boolean;
  attrNames(path: string): string[];
  /** An attribute decoded to JS: strings, numbers, or arrays of them; undefined when absent. */
  attr(path: string, name: string): unknown;
  /** A dataset's shape, read from its header without reading the data. */
  shape(path: string): number[];
  /** A float dataset's values and shape (float64 and integer data are converted to float32). */
  dataset(path: string): { shape: number[]; data: Float32Array };
  close(): void;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
let counter = 0;
const MiB = 1024 * 1024;
/**
 * What one open file may make h5wasm's heap grow to: its largest dataset (at most the file) twice
 * over for type conversion, plus room for HDF5's caches. The heap never shrinks, so a heap already
 * larger from an earlier file stays the ceiling.
 */
const heapCeiling = (fileBytes: number, heapNow: number): number => Math.max(heapNow, 64 * MiB + 2 * fileBytes);
/** Ceilings of the files open now, by id; the effective cap is the largest. */
const openCeilings = new Map<number, number>();
function applyCeilings(): void {
  heapLimit.cap = openCeilings.size === 0 ? undefined : Math.max(...openCeilings.values());
}
/** HDF5 type classes graft reads: integers and floats (weights, counters), strings (names, configs). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_STRING = 3;

export function looksLikeHdf5(bytes: Uint8Array): boolean {
  // The superblock may start at 0, 512, 1024, 2048, ... (a user block can precede it).
  for (let offset = 0; offset + 8 <= bytes.length && offset <= 1 << 20; offset = offset === 0 ? 512 : offset * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[offset + i] === b)) return true;
  }
  return false;
}

export async function openH5(bytes: Uint8Array, what: string): Promise<H5Reader> {
  if (isLfsPointer(bytes)) {
    throw new GraftError('MODEL_CORRUPT', `${what} is a Git LFS pointer (${bytes.length} bytes of text), not the model itself. Run \`git lfs pull\` in its repository, or download the real file.`);
  }
  if (!looksLikeHdf5(bytes)) {
    throw new GraftError('MODEL_CORRUPT', `${what} is not an HDF5 file (no HDF5 signature). Keras .h5 files start with "\\x89HDF"; the file may be truncated, or another format renamed .h5.`);
  }
  const declared = declaredSize(bytes);
  if (declared !== undefined && declared > bytes.length) {
    throw new GraftError('MODEL_CORRUPT', `${what} is truncated: it holds ${bytes.length} bytes but its HDF5 header says ${declared}. Copy or download it again.`);
  }
  checkGlobalHeaps(bytes, what);
  checkLocalHeaps(bytes, what);
  const h5wasm = await h5lib();
  const fs = (await h5wasm.ready).FS;
  const id = ++counter;
  // h5wasm's file system is in memory and private to this module, so the counter alone is unique (a page has no process.pid).
  const name = `/graft-${id}.h5`;
  const ceiling = heapCeiling(bytes.length, await h5HeapBytes());
  openCeilings.set(id, ceiling);
  applyCeilings();
  const refusalsBefore = heapLimit.refusals;
  const release = (): void => {
    openCeilings.delete(id);
    applyCeilings();
  };
  /** HDF5 hit the ceiling: it often reports that as an empty result, so every call checks. */
  const overCeiling = (path: string): GraftError | undefined =>
    heapLimit.refusals > refusalsBefore
      ? new GraftError('MODEL_CORRUPT', `${what}${path ? ` (at ${path})` : ''}: reading it made the HDF5 library ask for more than ${Math.round(ceiling / MiB)} MiB, more than a ${bytes.length}-byte file can need. Sizes inside the file are damaged; save or download it again.`)
      : undefined;
  /** HDF5 reported an error during a call, whether or not h5wasm passed it on (valid files report none). */
  const reported = (path: string, before: number): GraftError | undefined =>
    diagnostics.count > before ? corrupt(what, path, new Error(`the HDF5 library reported: ${diagnostics.last || 'an error'}`)) : undefined;
  fs.writeFile(name, bytes);
  let file: InstanceType<typeof h5wasm.File>;
  const diagAtOpen = diagnostics.count;
  try {
    file = new h5wasm.File(name, 'r');
  } catch (e) {
    fs.unlink(name);
    release();
    throw overCeiling('') ?? corrupt(what, '', e);
  }
  const openProblem = overCeiling('') ?? reported('', diagAtOpen);
  if (openProblem) {
    try {
      file.close();
    } catch {
      // Already refusing the file; a failed close adds nothing.
    }
    fs.unlink(name);
    release();
    throw openProblem;
  }
  const entity = (path: string): unknown => {
    const p = path === '' ? '/' : path;
    let e: unknown;
    try {
      e = p === '/' ? file : file.get(p);
    } catch (err) {
      throw corrupt(what, path, err);
    }
    if (e && typeof e === 'object' && e.constructor?.name === 'ExternalLink') {
      throw new GraftError('MODEL_CORRUPT', `${what}: ${path} is an HDF5 external link to another file; graft reads only what is inside the model file and refuses to follow it.`);
    }
    if (e && typeof e === 'object' && e.constructor?.name === 'BrokenSoftLink') {
      throw new GraftError('MODEL_CORRUPT', `${what}: ${path} is a dangling HDF5 link.`);
    }
    return e;
  };
  const guard = <T>(path: string, fn: () => T): T => {
    const diagBefore = diagnostics.count;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      if (e instanceof GraftError) throw e;
      throw overCeiling(path) ?? reported(path, diagBefore) ?? corrupt(what, path, e);
    }
    // h5wasm can return an empty list, or strings from memory never written, after HDF5 failed.
    const problem = overCeiling(path) ?? reported(path, diagBefore);
    if (problem) throw problem;
    return result;
  };
  /** Refuses a value of a type graft does not read before h5wasm converts it (a damaged vlen type made it read 54 MB of heap garbage). */
  const checkType = (path: string, metadata: { type?: number; vlen?: boolean; vlen_type?: unknown }, allowed: readonly number[]): void => {
    if (metadata.type === undefined || !allowed.includes(metadata.type) || (metadata.vlen_type !== undefined && metadata.type !== H5T_STRING)) {
      throw new GraftError('MODEL_CORRUPT', `${what}: ${path} has HDF5 type class ${String(metadata.type)}${metadata.vlen_type !== undefined ? ' (variable-length sequence)' : ''}; Keras stores numbers and strings only. The file is damaged or was not written by Keras.`);
    }
  };
  return {
    keys: (path) =>
      guard(path, () => {
        const e = entity(path);
        return e instanceof h5wasm.Group ? e.keys() : [];
      }),
    isGroup: (path) => guard(path, () => entity(path) instanceof h5wasm.Group),
    isDataset: (path) => guard(path, () => entity(path) instanceof h5wasm.Dataset),
    attrNames: (path) =>
      guard(path, () => {
        const e = entity(path) as { attrs?: Record<string, unknown> } | null;
        return e?.attrs ? Object.keys(e.attrs) : [];
      }),
    attr: (path, attrName) =>
      guard(`${path}@${attrName}`, () => {
        const e = entity(path) as { attrs?: Record<string, { json_value: unknown; metadata: { type?: number; vlen_type?: unknown } }> } | null;
        const a = e?.attrs?.[attrName];
        if (a === undefined) return undefined;
        checkType(`${path}@${attrName}`, a.metadata, [H5T_INTEGER, H5T_FLOAT, H5T_STRING]);
        return decode(a.json_value);
      }),
    shape: (path) =>
      guard(path, () => {
        const e = entity(path);
        if (!(e instanceof h5wasm.Dataset)) throw new GraftError('MODEL_CORRUPT', `${what}: expected a dataset at ${path}.`);
        return e.shape ?? [];
      }),
    dataset: (path) =>
      guard(path, () => {
        const e = entity(path);
        if (!(e instanceof h5wasm.Dataset)) throw new GraftError('MODEL_CORRUPT', `${what}: expected a dataset at ${path}.`);
        checkType(path, e.metadata, [H5T_INTEGER, H5T_FLOAT]);
        const shape = e.shape ?? [];
        const raw = e.value;
        // Scalars come back as plain numbers or bigints.
        const value = typeof raw === 'number' || typeof raw === 'bigint' ? Float32Array.of(Number(raw)) : raw;
        if (!ArrayBuffer.isView(value) || value instanceof DataView) {
          throw new GraftError('MODEL_CORRUPT', `${what}: dataset ${path} is not numeric (dtype ${JSON.stringify(e.dtype)}).`);
        }
        const data =
          value instanceof Float32Array
            ? value
            : value instanceof BigInt64Array || value instanceof BigUint64Array
              ? Float32Array.from(value, Number)
              : Float32Array.from(value as unknown as ArrayLike<number>);
        const expected = shape.reduce((a, b) => a * b, 1);
        if (data.length !== expected) throw new GraftError('MODEL_CORRUPT', `${what}: dataset ${path} holds ${data.length} values but its shape [${shape.join(', ')}] needs ${expected}.`);
        return { shape, data };
      }),
    close: () => {
      try {
        file.close();
      } finally {
        fs.unlink(name);
        release();
      }
    },
  };
}

/** Git LFS leaves a small text file in place of a large file that was not pulled. */
export function isLfsPointer(bytes: Uint8Array): boolean {
  return bytes.length < 1024 && new TextDecoder().decode(bytes.subarray(0, 40)).startsWith('version https://git-lfs');
}

/** End-of-file address from the superblock (at offset 0, 8-byte offsets), if it can be read. */
function declaredSize(bytes: Uint8Array): number | undefined {
  if (!HDF5_SIGNATURE.every((b, i) => bytes[i] === b) || bytes.length < 48) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8];
  // Superblock v0/v1: offsets size at byte 13, EOF address at 40 (v0) or 44 (v1); v2/v3: size at 9, EOF at 28.
  const [sizeAt, eofAt] = version === 0 ? [13, 40] : version === 1 ? [13, 44] : version === 2 || version === 3 ? [9, 28] : [-1, -1];
  if (sizeAt < 0 || bytes[sizeAt] !== 8 || eofAt + 8 > bytes.length) return undefined;
  const eof = Number(view.getBigUint64(eofAt, true));
  return eof > 0 && eof < Number.MAX_SAFE_INTEGER ? eof : undefined;
}

/**
 * HDF5 keeps variable-length strings (Keras's layer_names, weight_names, model_config) in global heap
 * collections ("GCOL"), and the C library trusts what they declare: it walks a collection's objects
 * by their sizes (a free-space object of size 0 makes that walk loop forever), and it allocates a
 * value's declared length before reading it (0x20000006 in a 40 KB file reserved 512 MiB). So every
 * collection is walked here first, exactly as HDF5 will walk it, and every value that points into
 * one must not claim more bytes than its heap object holds.
 */
function checkGlobalHeaps(bytes: Uint8Array, what: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (at: number, why: string): GraftError => new GraftError('MODEL_CORRUPT', `${what}: HDF5 global heap at byte ${at} is damaged (${why}). The file is corrupt; save or download it again.`);
  /** Object sizes by collection address, then by object index. */
  const heaps = new Map<number, Map<number, number>>();
  for (let i = bytes.indexOf(0x47); i >= 0 && i + 16 <= bytes.length; i = bytes.indexOf(0x47, i + 1)) {
    // 'GCOL', version 1, three zero bytes: a false match in weight data needs 8 exact bytes.
    if (bytes[i + 1] !== 0x43 || bytes[i + 2] !== 0x4f || bytes[i + 3] !== 0x4c || bytes[i + 4] !== 1 || bytes[i + 5] !== 0 || bytes[i + 6] !== 0 || bytes[i + 7] !== 0) continue;
    const size = Number(view.getBigUint64(i + 8, true));
    if (size < 16 || i + size > bytes.length) throw bad(i, `it declares ${size} bytes, the file has ${bytes.length - i} left`);
    const objects = new Map<number, number>();
    const end = i + size;
    // HDF5's own walk (H5HG__cache_heap_deserialize): a header that does not fit is trailing free
    // space; object 0 is free space spanning its declared size; others span header + size rounded up to 8.
    for (let p = i + 16; p + 16 <= end; ) {
      const index = view.getUint16(p, true);
      const objectSize = Number(view.getBigUint64(p + 8, true));
      const span = index === 0 ? objectSize : 16 + Math.ceil(objectSize / 8) * 8;
      if (index === 0 && objectSize < 16) throw bad(i, `its free space at byte ${p} declares ${objectSize} bytes, less than its own 16-byte header`);
      if (p + span > end) throw bad(i, `object ${index} at byte ${p} declares ${objectSize} bytes, beyond the collection's end`);
      if (index > 0) objects.set(index, objectSize);
      p += span;
    }
    heaps.set(i, objects);
  }
  // A variable-length value is stored as [length u32][collection address u64][object index u32]: find
  // every spot holding a collection's address and check the claim around it. A chance match in weight
  // data would also need an index of a real object and a length larger than it, so none is refused wrongly.
  for (const [address, objects] of heaps) {
    const needle = new Uint8Array(8);
    new DataView(needle.buffer).setBigUint64(0, BigInt(address), true);
    for (let q = indexOfBytes(bytes, needle, 4); q >= 0 && q + 12 <= bytes.length; q = indexOfBytes(bytes, needle, q + 1)) {
      const length = view.getUint32(q - 4, true);
      const held = objects.get(view.getUint32(q + 8, true));
      if (held !== undefined && length > held) {
        throw bad(address, `a variable-length value at byte ${q - 4} claims ${length} bytes, but its heap object holds ${held}`);
      }
    }
  }
}

/**
 * Groups written the classic way (h5py's default, so every Keras .h5) keep their member names in a
 * local heap ("HEAP"), whose data segment HDF5 allocates at its declared size before reading it: one
 * flipped bit made a 54 KB file reserve 1 GiB. The segment must lie inside the file.
 */
function checkLocalHeaps(bytes: Uint8Array, what: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = bytes.indexOf(0x48); i >= 0 && i + 32 <= bytes.length; i = bytes.indexOf(0x48, i + 1)) {
    // 'HEAP', version 0, three zero bytes; then data segment size, free-list offset, data segment address (8 bytes each).
    if (bytes[i + 1] !== 0x45 || bytes[i + 2] !== 0x41 || bytes[i + 3] !== 0x50 || bytes[i + 4] !== 0 || bytes[i + 5] !== 0 || bytes[i + 6] !== 0 || bytes[i + 7] !== 0) continue;
    const size = view.getBigUint64(i + 8, true);
    const address = view.getBigUint64(i + 24, true);
    if (address + size > BigInt(bytes.length)) {
      throw new GraftError('MODEL_CORRUPT', `${what}: HDF5 local heap at byte ${i} is damaged (its ${size}-byte data segment at byte ${address} lies beyond the file's ${bytes.length} bytes). The file is corrupt; save or download it again.`);
    }
  }
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  for (let i = haystack.indexOf(needle[0]!, from); i >= 0 && i + needle.length <= haystack.length; i = haystack.indexOf(needle[0]!, i + 1)) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** Bytes attributes (Keras 2 wrote names as fixed-length byte strings) become strings. */
function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v instanceof Uint8Array) return new TextDecoder().decode(v).replace(/\0+$/, '');
  return v;
}

function corrupt(what: string, path: string, cause: unknown): GraftError {
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new GraftError('MODEL_CORRUPT', `${what}${path ? ` (at ${path})` : ''}: the HDF5 data cannot be read (${reason}). The file is damaged or truncated; save or download it again.`, { cause });
}
