import { GraftError } from '../errors.js';
import { isHubSpec, resolveHubModel } from '../io/hub/index.js';
import { isOnnxFile } from '../io/onnx/read.js';
import { loadOnnxSource, type OnnxSource, type OnnxSourceOptions } from '../io/onnx/source.js';
import { PREPROCESS_NAMES, describeInputPreprocess } from '../models/input-preprocess.js';
import type { OnnxSourceRecord } from '../io/run-dir.js';

export interface OnnxTransferSourceOptions extends Omit<OnnxSourceOptions, 'preprocess'> {
  preprocess?: string;
  /** Download progress of an `hf:` source. */
  onProgress?: (p: { file: string; bytes: number; total?: number }) => void;
}

/** An ONNX source and where it came from: the file read, and for `hf:` sources the hub's commit. */
export interface ResolvedOnnxSource extends OnnxSource {
  file: string;
  hub?: { spec: string; repo: string; revision: string; commit?: string; sha256?: string };
}

/** Whether `--from` names an ONNX model: an `hf:` spec, an .onnx file, or a file that reads as ONNX. */
export async function isOnnxSource(from: string): Promise<boolean> {
  return isHubSpec(from) || (await isOnnxFile(from));
}

/** Reads (downloading an `hf:` spec first) an ONNX model as a transfer source; see loadOnnxSource. */
export async function loadOnnxTransferSource(from: string, options: OnnxTransferSourceOptions): Promise<ResolvedOnnxSource> {
  if (options.preprocess === undefined) {
    throw new GraftError('BAD_ARGUMENT', `${from} is an ONNX model, and ONNX files do not record how pixels were prepared for it. Say it with --preprocess: ${PREPROCESS_NAMES.join(', ')} (torchvision and timm ImageNet models: imagenet).`);
  }
  let file = from;
  let hub: ResolvedOnnxSource['hub'];
  if (isHubSpec(from)) {
    const got = await resolveHubModel(from, { ...(options.onProgress && { onProgress: options.onProgress }) });
    file = got.file;
    hub = { spec: from, repo: got.repo, revision: got.revision, ...(got.commit !== undefined && { commit: got.commit }), ...(got.sha256 !== undefined && { sha256: got.sha256 }) };
  }
  const { onProgress: _, preprocess, ...rest } = options;
  const source = await loadOnnxSource(file, { ...rest, preprocess });
  return { ...source, file, ...(hub && { hub }) };
}

/** What run.json keeps of an ONNX source. */
export function onnxSourceRecord(s: ResolvedOnnxSource): OnnxSourceRecord {
  const i = s.info;
  return {
    file: s.file,
    producer: i.producer,
    opset: i.opset,
    layout: i.layout,
    preprocess: i.preprocess.name,
    preprocessing: describeInputPreprocess(i.preprocess),
    cut: i.cut,
    featureShape: i.featureShape,
    blocks: i.blocks,
    batchNormNodes: i.batchNormNodes,
    ...(s.hub && { hub: s.hub }),
  };
}

/** One line for the terminal: what was imported and how. */
export function describeOnnxSource(s: ResolvedOnnxSource): string {
  const i = s.info;
  const bn = i.batchNormNodes > 0
    ? `${i.batchNormNodes} BatchNorm node${i.batchNormNodes === 1 ? '' : 's'} (on their pretrained statistics while their block is frozen; trained with it)`
    : 'no BatchNorm nodes (an exporter that folded BatchNorm into the convolutions leaves plain convolutions, which fine-tune as such)';
  return `ONNX source ${s.hub ? `${s.hub.spec} (${s.file})` : s.file} by ${i.producer}, opset ${i.opset}, ${i.layout.toUpperCase()} input ${i.imageShape.join('×')}; ` +
    `reused up to ${i.cut} [${i.featureShape.join(', ')}] in ${i.blocks.length} block${i.blocks.length === 1 ? '' : 's'} (${i.blocks.join(', ')}), ${i.parameters.toLocaleString('en-US')} parameters; ${bn}; preprocessing ${describeInputPreprocess(i.preprocess)}`;
}
