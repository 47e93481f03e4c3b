import { GraftError } from '../../errors.js';
import type { HubSpec } from './spec.js';

/** Preferred when a repo holds several .onnx files: the plain export, then transformers.js's layout. */
const PREFERRED = ['model.onnx', 'onnx/model.onnx'];

/** The one .onnx file among a repo's files; `where` names the listing in errors. */
export function chooseOnnxFile(files: readonly string[], spec: HubSpec, where: string): string {
  const onnx = files.filter((f) => f.toLowerCase().endsWith('.onnx'));
  if (onnx.length === 1) return onnx[0]!;
  const preferred = PREFERRED.find((p) => onnx.includes(p));
  if (preferred !== undefined) return preferred;
  const at = `hf:${spec.repo}@${spec.revision}`;
  if (onnx.length === 0) {
    const shown = files.slice(0, 10).join(', ');
    throw new GraftError('MODEL_NOT_FOUND', `${where} has no .onnx file (it holds ${files.length === 0 ? 'nothing' : `${shown}${files.length > 10 ? `, and ${files.length - 10} more` : ''}`}). Pick a repo with an ONNX export, or name the file as ${at}:PATH.onnx.`);
  }
  const shown = onnx.slice(0, 20).join(', ');
  throw new GraftError('BAD_ARGUMENT', `${where} holds ${onnx.length} .onnx files and none is model.onnx or onnx/model.onnx: ${shown}${onnx.length > 20 ? ` and ${onnx.length - 20} more` : ''}. Name the one to use, e.g. ${at}:${onnx[0]}.`);
}
