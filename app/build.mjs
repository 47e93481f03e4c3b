// Builds the web app into dist/app/ (or the folder given): the page and worker bundles (esbuild,
// for browsers, graft's browser entry inside), index.html, style.css, TF.js's .wasm files and
// onnxruntime-web's (ort/).
// `npm run build:app` runs it; so does `prepare`, so a packed graft ships dist/app built.
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
export const APP_OUT = path.join(ROOT, 'dist/app');
/** onnxruntime-web's files the app serves from ort/ (src/platform/browser/onnx-web.ts loads them). */
export const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/** Builds the app into `out` (replaced whole) and returns the files written, relative to it. */
export async function buildApp(out = APP_OUT) {
  await rm(out, { recursive: true, force: true });
  await mkdir(path.join(out, 'wasm'), { recursive: true });
  await esbuild.build({
    entryPoints: { main: path.join(HERE, 'main.ts'), worker: path.join(HERE, 'worker.ts') },
    outdir: out,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    // h5wasm (5.6 MB, .keras export only) becomes a chunk loaded on first use.
    splitting: true,
    sourcemap: false,
    logLevel: 'error',
  });
  for (const f of ['index.html', 'style.css']) await copyFile(path.join(HERE, f), path.join(out, f));
  // tfjs-backend-wasm loads these at run time from wasmPaths; a bundle cannot carry them.
  const wasmDir = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of (await readdir(wasmDir)).filter((n) => n.endsWith('.wasm'))) await copyFile(path.join(wasmDir, f), path.join(out, 'wasm', f));
  // onnxruntime-web (graft's training compiler in the worker) imports its wasm glue and binary from
  // the worker's onnxWasmPaths, ort/: only the plain SIMD-threaded build (no WebGPU, no JSPI) is used.
  await mkdir(path.join(out, 'ort'));
  const ortDir = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
  for (const f of ORT_FILES) await copyFile(path.join(ortDir, f), path.join(out, 'ort', f));
  return (await readdir(out, { recursive: true })).sort();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const files = await buildApp(process.argv[2] ? path.resolve(process.argv[2]) : APP_OUT);
  console.log(`graft app built in ${((performance.now() - started) / 1000).toFixed(1)} s: ${files.join(', ')}`);
}
