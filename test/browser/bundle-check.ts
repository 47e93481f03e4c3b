import { builtinModules } from 'node:module';
import * as esbuild from 'esbuild';

/**
 * Bundles an entry for the browser with esbuild and reports every import a page cannot satisfy: a
 * Node built-in (node:*, fs, path, …) or onnxruntime-node, with the chain of importers that reached
 * it. Packages whose own `browser` field maps a built-in away (TF.js maps fs to nothing) pass.
 */

export interface NodeReach {
  /** What was imported, e.g. "node:fs" or "onnxruntime-node". */
  module: string;
  /** Importers from the one that imports `module` back to the entry. */
  chain: string[];
}

export interface BrowserBundle {
  code: string;
  reached: NodeReach[];
}

const BUILTINS = new Set(builtinModules);
const NATIVE_PACKAGES = new Set(['onnxruntime-node']);

function nodeOnly(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0]!) || NATIVE_PACKAGES.has(spec);
}

export async function bundleForBrowser(entry: string): Promise<BrowserBundle> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-reach',
        setup(build) {
          build.onResolve({ filter: /.*/ }, async (args) => {
            if ((args.pluginData as { inner?: boolean } | undefined)?.inner || !nodeOnly(args.path)) return undefined;
            // Let esbuild resolve it as a browser bundle would (a package's browser field may map it away).
            const resolved = await build.resolve(args.path, { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind, pluginData: { inner: true } });
            if (resolved.errors.length === 0 && !NATIVE_PACKAGES.has(args.path)) return undefined;
            // Kept as an external import, so the metafile records who imported it.
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const importers = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) importers.set(imp.path, [...(importers.get(imp.path) ?? []), file]);
  }
  const reached: NodeReach[] = [];
  for (const [module, direct] of importers) {
    if (!nodeOnly(module)) continue;
    for (const first of direct) reached.push({ module, chain: chainToEntry(first, importers) });
  }
  return { code: result.outputFiles[0]!.text, reached };
}

/** One path of importers from `file` up to the entry (the first importer at each step). */
function chainToEntry(file: string, importers: ReadonlyMap<string, string[]>): string[] {
  const chain = [file];
  const seen = new Set(chain);
  for (let at = file; ; ) {
    const next = importers.get(at)?.find((f) => !seen.has(f));
    if (next === undefined) return chain;
    chain.push(next);
    seen.add(next);
    at = next;
  }
}

/** "node:fs ← src/io/atomic.ts ← … ← src/browser.ts", one line per reach. */
export function describeReaches(reached: readonly NodeReach[]): string {
  return reached.map((r) => [r.module, ...r.chain].join(' ← ')).join('\n');
}
