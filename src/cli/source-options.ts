import { GraftError } from '../errors.js';
import { loadModel, type LoadedModel } from '../io/run-dir.js';
import { describeOnnxSource, isOnnxSource, loadOnnxTransferSource, type OnnxTransferSourceOptions, type ResolvedOnnxSource } from '../workflows/onnx-source.js';
import type { OptionDef } from './command.js';
import { printErr } from './terminal-text.js';

/** Options that only ONNX sources take: ONNX files carry no preprocessing, and their layout varies. */
export const ONNX_SOURCE_OPTIONS = {
  preprocess: { type: 'string', value: 'HOW', description: 'ONNX sources (required: ONNX files do not record it): imagenet, tf, caffe, scale, raw, or mean=M,…,std=S,…' },
  layout: { type: 'string', value: 'nchw|nhwc', description: 'ONNX sources: the input layout (default: read from the input shape)' },
} as const satisfies Record<string, OptionDef>;

export interface SourceValues {
  from?: string | undefined;
  preprocess?: string | undefined;
  layout?: string | undefined;
  cut?: string | undefined;
  json?: boolean | undefined;
}

/** A `--from` source: an ONNX model (file or hf:) imported with the ONNX options, else any model loadModel reads. */
export async function loadFromSource(v: SourceValues & { from: string }, input?: number): Promise<{ model: LoadedModel['model']; run?: LoadedModel['run']; onnx?: ResolvedOnnxSource }> {
  if (await isOnnxSource(v.from)) {
    const onnx = await loadOnnxTransferSource(v.from, onnxOptions(v, input));
    if (!v.json) printErr(`graft: ${describeOnnxSource(onnx)}\n`);
    return { model: onnx.model, onnx };
  }
  refuseOnnxOptions(v, v.from);
  return loadModel(v.from);
}

/** --preprocess and --layout given for a source that has its own preprocessing and layout. */
export function refuseOnnxOptions(v: SourceValues, source: string): void {
  if (v.preprocess !== undefined || v.layout !== undefined) {
    throw new GraftError('BAD_ARGUMENT', `--${v.preprocess !== undefined ? 'preprocess' : 'layout'} is for ONNX sources; ${source} carries its own preprocessing and layout. Drop the option.`);
  }
}

function onnxOptions(v: SourceValues, input: number | undefined): OnnxTransferSourceOptions {
  const layout = v.layout?.toLowerCase();
  if (layout !== undefined && layout !== 'nchw' && layout !== 'nhwc') throw new GraftError('BAD_ARGUMENT', `--layout must be nchw (PyTorch) or nhwc (TensorFlow); received ${JSON.stringify(v.layout)}.`);
  return {
    ...(v.preprocess !== undefined && { preprocess: v.preprocess }),
    ...(layout !== undefined && { layout }),
    ...(input !== undefined && { input }),
    ...(v.cut !== undefined && { cut: v.cut }),
  };
}
