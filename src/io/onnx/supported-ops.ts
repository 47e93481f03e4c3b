import { GraftError } from '../../errors.js';
import type { OnnxGraph } from '../../engine/onnx/model-proto.js';
import { isDefaultDomain } from './model-read.js';
import { nodeLabel } from './node-read.js';

/** Control flow: its bodies are subgraphs graft carries as bytes and never differentiates. */
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

/** An op as messages name it: "Conv", or "com.microsoft.FusedConv" outside the default domain. */
function opName(op: string, domain: string | undefined): string {
  return isDefaultDomain(domain) ? op : `${domain}.${op}`;
}

/** Each op type in the graph that `supported` lacks, with the nodes that use it, in graph order. */
export function unsupportedOps(graph: Pick<OnnxGraph, 'nodes'>, supported: Iterable<string>): Array<{ op: string; nodes: string[] }> {
  const ok = new Set(supported);
  const found = new Map<string, string[]>();
  graph.nodes.forEach((n, i) => {
    const op = opName(n.op, n.domain);
    if (isDefaultDomain(n.domain) && ok.has(n.op)) return;
    if (!found.has(op)) found.set(op, []);
    found.get(op)!.push(nodeLabel(n, i));
  });
  return [...found].map(([op, nodes]) => ({ op, nodes }));
}

/**
 * Refuses a graph that uses an op outside `supported` (default-domain op types: the training
 * compiler's registry), naming the op, the first node that uses it, and the supported list.
 * `label` names the model.
 */
export function checkSupportedOps(graph: Pick<OnnxGraph, 'nodes'>, supported: Iterable<string>, label: string): void {
  const missing = unsupportedOps(graph, supported);
  if (missing.length === 0) return;
  const [first] = missing;
  const { op, nodes } = first!;
  const more = nodes.length > 1 ? ` and ${nodes.length - 1} more node${nodes.length > 2 ? 's' : ''}` : '';
  const others = missing.length > 1 ? ` Other ops it lacks: ${missing.slice(1).map((m) => m.op).join(', ')}.` : '';
  const why = CONTROL_FLOW.has(op) ? ' (control flow: its branches are subgraphs graft does not train)' : '';
  throw new GraftError(
    'UNSUPPORTED_OP',
    `${label}: ${nodes[0]}${more} use${more ? '' : 's'} op ${op}${why}, which graft cannot handle.${others} Supported ops: ${[...new Set(supported)].sort().join(', ')}. ` +
      'Cut the model before that node, or export it again without the op (a different opset or export option may avoid it).',
  );
}
