import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** graft's own version, from package.json (one source of truth). */
export const GRAFT_VERSION: string = (require('../package.json') as { version: string }).version;

/** The onnxruntime-node versions graft is tested with (package.json's optional dependency). */
export const ONNXRUNTIME_NODE_RANGE: string = (require('../package.json') as { optionalDependencies: Record<string, string> }).optionalDependencies['onnxruntime-node'] ?? '1';

/** The TF.js version graft runs on. */
export const TFJS_VERSION: string = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
