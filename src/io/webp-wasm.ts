import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * libwebp's WebPDecodeRGBA, compiled to WebAssembly by the @cwasm/webp package (MIT; 95 KB; no
 * install scripts). Its wasm file is loaded here rather than through the package's entry so that
 * the module compiles once, lazily (only when a WebP is met), and so that every decode gets a fresh
 * instance: whatever a hostile file does to libwebp's heap dies with that instance, and the memory
 * a large image needed is released with it. Synchronous, as decodeImage is.
 */

// TypeScript's ES lib (no DOM) does not declare WebAssembly's classes; Node has them.
interface Wasm {
  Module: new (code: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

let compiled: object | undefined;

function webpModule(): object {
  if (!compiled) {
    const file = createRequire(import.meta.url).resolve('@cwasm/webp/webp.wasm');
    compiled = new wasmApi.Module(readFileSync(file));
  }
  return compiled;
}

interface WebpExports {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(pointer: number): void;
  WebPDecodeRGBA(data: number, size: number, width: number, height: number): number;
}

/** libwebp never writes to files while decoding; these imports exist only to satisfy the linker. */
const noSystemCalls = {
  fd_close: (): never => {
    throw new Error('libwebp called fd_close');
  },
  fd_seek: (): never => {
    throw new Error('libwebp called fd_seek');
  },
  fd_write: (): never => {
    throw new Error('libwebp called fd_write');
  },
};

/** Decodes a still WebP file (simple or VP8X, not animated) to RGBA; undefined when libwebp refuses it. */
export function webpToRgba(file: Uint8Array): { width: number; height: number; rgba: Uint8Array } | undefined {
  const instance = new wasmApi.Instance(webpModule(), { wasi_snapshot_preview1: noSystemCalls });
  const wasm = instance.exports as unknown as WebpExports;
  const input = wasm.malloc(file.length);
  const size = wasm.malloc(8);
  if (input === 0 || size === 0) return undefined;
  new Uint8Array(wasm.memory.buffer, input, file.length).set(file);
  const output = wasm.WebPDecodeRGBA(input, file.length, size, size + 4);
  if (output === 0) return undefined;
  // The memory may have grown (and its buffer been replaced) during the decode: view it afresh.
  const [width, height] = new Uint32Array(wasm.memory.buffer, size, 2);
  const rgba = new Uint8Array(wasm.memory.buffer, output, width! * height! * 4).slice();
  return { width: width!, height: height!, rgba };
}
