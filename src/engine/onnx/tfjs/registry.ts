import type { TfOpFn } from './types.js';
import { activationOps } from './ops/activations.js';
import { constantOps } from './ops/constants.js';
import { convOps } from './ops/conv.js';
import { elementwiseOps } from './ops/elementwise.js';
import { gatherOps } from './ops/gather.js';
import { logicOps } from './ops/logic.js';
import { matmulOps } from './ops/matmul.js';
import { normalizationOps } from './ops/normalization.js';
import { poolOps } from './ops/pool.js';
import { reduceOps } from './ops/reduce.js';
import { shapeOps } from './ops/shape.js';
import { sliceOps } from './ops/slice.js';
import { softmaxOps } from './ops/softmax.js';

/** Each ONNX op (default domain) graft runs on TF.js, by op type; one file per op family under ops/. */
export const TF_OPS: ReadonlyMap<string, TfOpFn> = new Map(
  Object.entries({
    ...elementwiseOps,
    ...logicOps,
    ...activationOps,
    ...matmulOps,
    ...convOps,
    ...poolOps,
    ...normalizationOps,
    ...softmaxOps,
    ...reduceOps,
    ...shapeOps,
    ...sliceOps,
    ...gatherOps,
    ...constantOps,
  }),
);
