import type { OnnxNode } from '../../engine/onnx/model-proto.js';

/**
 * The PyTorch module a node came from, as a path of components: `/layer4/layer4.1/conv2/Conv`
 * (TorchScript names nodes by module) → [layer4, 1, conv2]; dynamo names nodes by op
 * (`node_conv2d_5`), so there the first initializer named like a parameter tells it:
 * `layer4.1.conv2.weight` → [layer4, 1, conv2]. undefined when neither says.
 */
export function modulePath(node: OnnxNode, initializers: ReadonlySet<string>): string[] | undefined {
  if (node.name?.startsWith('/')) {
    const parts = node.name.split('/').filter((p) => p !== '').slice(0, -1);
    if (parts.length > 0) return expand(parts);
  }
  for (const input of node.inputs) {
    // Parameters are dotted module paths; exporter-made tensors are `onnx::Conv_12`, `val_3`.
    if (!initializers.has(input) || input.includes('::') || !input.includes('.')) continue;
    const parts = input.split('.');
    return parts.slice(0, -1);
  }
  return undefined;
}

/** `layer4.1` under `layer4` is child `1`; `layer.0` under `encoder` is children `layer`, `0`. */
function expand(parts: readonly string[]): string[] {
  const out: string[] = [];
  let prev = '';
  for (const p of parts) {
    const own = prev !== '' && p.startsWith(`${prev}.`) ? p.slice(prev.length + 1) : p;
    out.push(...own.split('.').filter((x) => x !== ''));
    prev = p;
  }
  return out;
}

const isIndex = (s: string | undefined): boolean => s !== undefined && /^\d+$/.test(s);
/** `layer1`, `conv2`: a name ending in a number is one stage already, not a list of them. */
const isList = (s: string | undefined): boolean => s !== undefined && !/\d$/.test(s);

/**
 * The block a module path belongs to: its first component, and the index under it for list
 * containers whose items are whole blocks (`features.3`, `blocks.0`, `encoder.layer.1`); a
 * container of single layers (`features.0` a Conv) stays one block.
 */
export function blockKey(path: readonly string[]): string {
  const [a, b, c] = path;
  if (isList(a) && isIndex(b) && path.length >= 3) return `${a}.${b}`;
  if (isList(a) && isList(b) && isIndex(c) && path.length >= 4) return `${a}.${b}.${c}`;
  return a ?? '';
}

/**
 * Paths with a wrapper module stripped: when one first component holds more than half of the
 * paths and its children are named modules, not list items (`bert` → embeddings, encoder,
 * pooler), its children are the blocks.
 */
export function stripWrapper(paths: ReadonlyArray<string[] | undefined>): Array<string[] | undefined> {
  const known = paths.filter((p): p is string[] => p !== undefined && p.length > 0);
  const counts = new Map<string, number>();
  for (const p of known) counts.set(p[0]!, (counts.get(p[0]!) ?? 0) + 1);
  const [top, n] = [...counts].sort((x, y) => y[1] - x[1])[0] ?? ['', 0];
  const under = known.filter((p) => p[0] === top);
  if (n * 2 <= known.length || under.some((p) => isIndex(p[1])) || !under.some((p) => p.length > 2)) return [...paths];
  return paths.map((p) => (p && p[0] === top && p.length > 1 ? p.slice(1) : p));
}
