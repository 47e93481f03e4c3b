/**
 * h5wasm, loaded once. The default build keeps its files in an in-memory file system (the '/node'
 * build would write them to the real disk). The HDF5 C library prints a diagnostic dump to stderr on
 * every read error; graft turns those errors into one clear message, so the dump is silenced while
 * h5wasm runs and everything else still reaches stderr.
 */
type H5Wasm = typeof import('h5wasm').default;
export type H5Group = ReturnType<InstanceType<H5Wasm['File']>['create_group']>;

let loading: Promise<H5Wasm> | undefined;

export function h5lib(): Promise<H5Wasm> {
  loading ??= (async () => {
    const original = console.error;
    // h5wasm captures console.error when it starts; this filter only drops HDF5's own lines.
    console.error = (...args: unknown[]) => {
      const first = String(args[0] ?? '');
      if (/^HDF5-DIAG|^\s+#\d+: |^\s+(major|minor): /.test(first)) return;
      original.apply(console, args);
    };
    const mod = (await import('h5wasm')).default;
    await mod.ready;
    return mod;
  })();
  return loading;
}
