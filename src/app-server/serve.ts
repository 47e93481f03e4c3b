import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraftError } from '../errors.js';
import type { ZooFetchOptions } from '../io/backbone-weights.js';
import { BUILTIN_ROUTE, builtinWeights } from './builtin.js';

/** The built app: `npm run build:app` writes it; src/ and dist/ are both two levels below the package root. */
export const APP_DIST = fileURLToPath(new URL('../../dist/app/', import.meta.url));

/** Defaults of `graft app`, stated once. */
export const APP_SERVER_DEFAULTS = { port: 8080, host: '127.0.0.1' } as const;

export interface AppServerOptions {
  /** TCP port; 0 picks a free one. Default APP_SERVER_DEFAULTS.port. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (this machine only: the page's images stay here). */
  host?: string;
  /** Folder holding the built app (index.html, main.js, worker.js, wasm/). Default APP_DIST. */
  root?: string;
  /** Where the built-in source's weights come from (cache, mirror, env). Default: graft's weight cache, GRAFT_WEIGHTS_MIRROR, else Keras's URL. */
  weights?: ZooFetchOptions;
}

export interface AppServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  // onnxruntime-web's wasm glue (ort/*.mjs): imported as a module, so it needs a JavaScript type.
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.map': 'application/json',
};

/**
 * Serves the built web app's files over plain HTTP, plus the built-in source's weights (builtin.ts).
 * The page never sends images or models back (there is no upload route to send them to).
 */
export async function serveApp(options: AppServerOptions = {}): Promise<AppServer> {
  const root = path.resolve(options.root ?? APP_DIST);
  const port = options.port ?? APP_SERVER_DEFAULTS.port;
  const host = options.host ?? APP_SERVER_DEFAULTS.host;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GraftError('BAD_ARGUMENT', `The port must be a whole number from 0 to 65535; received ${port}. Pass e.g. --port 8080 (0 picks a free port).`);
  }
  const index = path.join(root, 'index.html');
  if (!(await stat(index).catch(() => undefined))?.isFile()) {
    throw new GraftError('DATA_NOT_FOUND', `The web app is not built: ${index} does not exist. Run \`npm run build:app\` in graft's folder (it needs the dev dependencies: npm install).`);
  }
  const weights = options.weights ?? {};
  const server = createServer((req, res) => {
    void respond(root, req.url ?? '/', weights).then(({ status, type, body }) => {
      res.writeHead(status, {
        'content-type': type,
        // No caching: a rebuilt app is picked up on reload.
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // Cross-origin isolated pages get SharedArrayBuffer, which onnxruntime-web's threads need.
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    }, (e: unknown) => {
      // A bug: say so rather than leave the page waiting.
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`graft app failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new GraftError('BAD_ARGUMENT', `Port ${port} on ${host} is already in use. Pass another one with --port N (or --port 0 for any free port), or stop the program using it.`, { cause: e }));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') reject(new GraftError('BAD_ARGUMENT', `Cannot listen on host ${JSON.stringify(host)} (${e.code}): it is not an address of this machine. Pass --host 127.0.0.1.`, { cause: e }));
      else if (e.code === 'EACCES') reject(new GraftError('BAD_ARGUMENT', `Not allowed to listen on port ${port} (EACCES: ports below 1024 need privileges). Pass --port 8080 or another port above 1023.`, { cause: e }));
      else reject(e);
    });
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${shown}:${address.port}/`, close: () => closeServer(server) };
}

async function respond(root: string, url: string, weights: ZooFetchOptions): Promise<{ status: number; type: string; body: string | Buffer }> {
  let pathname: string;
  let search: URLSearchParams;
  try {
    const parsed = new URL(url, 'http://x');
    pathname = decodeURIComponent(parsed.pathname);
    search = parsed.searchParams;
  } catch {
    return { status: 400, type: 'text/plain', body: 'bad request' };
  }
  if (pathname === BUILTIN_ROUTE) return builtinWeights(search, weights);
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = path.resolve(root, `.${pathname}`);
  // Only files inside the app folder: `..` in a URL must not reach the rest of the disk.
  if (!file.startsWith(root + path.sep)) return { status: 404, type: 'text/plain', body: 'not found' };
  try {
    return { status: 200, type: TYPES[path.extname(file)] ?? 'application/octet-stream', body: await readFile(file) };
  } catch {
    return { status: 404, type: 'text/plain', body: 'not found' };
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
}
