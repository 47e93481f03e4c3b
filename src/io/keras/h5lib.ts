/**
 * h5wasm, loaded once. The default build keeps its files in an in-memory file system (the '/node'
 * build would write them to the real disk). The HDF5 C library prints a diagnostic dump to stderr on
 * every read error; graft turns those errors into one clear message, so the dump is silenced while
 * h5wasm runs and everything else still reaches stderr.
 */
type H5Wasm = typeof import('h5wasm').default;
export type H5Group = ReturnType<InstanceType<H5Wasm['File']>['create_group']>;

let loading: Promise<H5Wasm> | undefined;

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/**
 * A ceiling on h5wasm's heap. The HDF5 library trusts sizes and counts in the file: damaged ones made
 * it grow its heap to the 2 GiB maximum in a loop of allocations (10 s for a 41 KB file). Emscripten
 * grows the heap with WebAssembly.Memory#grow and treats a throw there as "out of memory", which
 * HDF5 reports as a failed read; so graft refuses growth past `cap` and counts the refusals.
 */
export const heapLimit: { cap: number | undefined; refusals: number } = { cap: undefined, refusals: 0 };

/**
 * HDF5 error reports seen so far, and the last one's innermost message. h5wasm does not always pass
 * the C library's errors on: a failed read can come back as an empty list, or as strings read from
 * memory that was never written (the same damaged file gave "Ôw" on one read and an error on the
 * next). Readers compare the count before and after each call.
 */
export const diagnostics: { count: number; last: string } = { count: 0, last: '' };

export function h5lib(): Promise<H5Wasm> {
  loading ??= (async () => {
    const original = console.error;
    // h5wasm captures console.error when it starts; this filter only drops HDF5's own lines.
    console.error = (...args: unknown[]) => {
      const first = String(args[0] ?? '');
      if (first.startsWith('HDF5-DIAG')) diagnostics.count++;
      // The innermost (most specific) frame of an error stack is printed last.
      const frame = /^\s+#\d+: .* in (\w+)\(\): (.*)$/.exec(first);
      if (frame) diagnostics.last = `${frame[2]} in ${frame[1]}`;
      if (/^HDF5-DIAG|^\s+#\d+: |^\s+(major|minor): /.test(first)) return;
      original.apply(console, args);
    };
    const mod = (await import('h5wasm')).default;
    const module = (await mod.ready) as unknown as { HEAPU8: Uint8Array };
    // TypeScript's ES lib (no DOM) does not declare WebAssembly.Memory; Node has it.
    const memory = (globalThis as unknown as { WebAssembly: { Memory: { prototype: WasmMemory } } }).WebAssembly.Memory.prototype;
    const grow = memory.grow;
    // Only h5wasm's own memory is capped (its current buffer is the one HEAPU8 views); TF.js's wasm backend is untouched.
    memory.grow = function (this: WasmMemory, pages: number): number {
      if (heapLimit.cap !== undefined && this.buffer === module.HEAPU8.buffer && this.buffer.byteLength + pages * 65536 > heapLimit.cap) {
        heapLimit.refusals++;
        throw new RangeError(`graft: h5wasm heap limit of ${heapLimit.cap} bytes`);
      }
      return grow.call(this, pages);
    };
    return mod;
  })();
  return loading;
}

/** h5wasm's current heap size in bytes. */
export async function h5HeapBytes(): Promise<number> {
  const module = (await (await h5lib()).ready) as unknown as { HEAPU8: Uint8Array };
  return module.HEAPU8.byteLength;
}
