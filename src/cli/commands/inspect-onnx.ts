import { describeOnnxModel, shapeText, type OnnxSummary } from '../../io/onnx/summary.js';
import { readOnnxModel } from '../../io/onnx/read.js';
import { printJson } from '../common.js';
import { renderTable } from '../table.js';
import { printOut, safeText } from '../terminal-text.js';

/** `graft inspect model.onnx`: producer, IR version, opsets, inputs/outputs, parameters, node table. */
export async function inspectOnnx(location: string, json: boolean): Promise<void> {
  const { model } = await readOnnxModel(location);
  const s = describeOnnxModel(model);
  if (json) {
    printJson(s);
    return;
  }
  printOut(`${safeText(location)}: ONNX model, IR version ${s.irVersion}${producerText(s)}\n`);
  printOut(`opsets ${Object.entries(s.opsets).map(([d, v]) => `${safeText(d)} ${v}`).join(', ')}; graph ${safeText(JSON.stringify(s.graphName))}\n`);
  const io = (kind: string, vs: OnnxSummary['inputs']): string[] => vs.map((v) => `${kind} ${safeText(v.name)}: ${v.type} ${safeText(shapeText(v.shape))}`);
  printOut(`${[...io('input', s.inputs), ...io('output', s.outputs)].join('\n')}\n\n`);
  const rows = s.nodes.map((n, i) => [n.name || `#${i}`, n.domain ? `${n.domain}.${n.op}` : n.op, `${n.inputs.join(', ')} → ${n.outputs.join(', ')}`, n.params]);
  printOut(`${renderTable(['node', 'op', 'inputs → outputs', 'params'], rows)}\n`);
  printOut(`Total parameters ${s.totalParams} in ${s.initializers} initializers; ${s.nodes.length} nodes\n`);
}

function producerText(s: OnnxSummary): string {
  if (!s.producer.name) return '';
  return `, written by ${safeText(s.producer.name)}${s.producer.version ? ` ${safeText(s.producer.version)}` : ''}`;
}
