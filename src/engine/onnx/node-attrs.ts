import type { AttrValue, OnnxNode, OnnxTensor } from './model-proto.js';

/**
 * Reading a node's attributes. ONNX attributes are optional with op-specific defaults, so each
 * reader takes the caller's default (from the op's spec). Shared by the reader's shape rules, the
 * TF.js interpreter and the training compiler.
 */
export function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attrs?.[name];
  return typeof v === 'number' ? v : fallback;
}

export function intsAttr(node: OnnxNode, name: string): number[] | undefined {
  const v = node.attrs?.[name];
  return Array.isArray(v) ? v : undefined;
}

export function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  const v: AttrValue | undefined = node.attrs?.[name];
  if (typeof v === 'number') return v;
  return v && typeof v === 'object' && 'float' in v ? v.float : fallback;
}

export function stringAttr(node: OnnxNode, name: string, fallback: string): string {
  const v = node.attrs?.[name];
  return v && typeof v === 'object' && 'string' in v ? v.string : fallback;
}

export function tensorAttr(node: OnnxNode, name: string): OnnxTensor | undefined {
  const v = node.attrs?.[name];
  return v && typeof v === 'object' && 'tensor' in v ? v.tensor : undefined;
}

/** How a node is named in messages: its name when the exporter gave one, else its first output. */
export function describeNode(node: OnnxNode): string {
  return node.name ? `${node.op} node ${JSON.stringify(node.name)}` : `${node.op} node producing ${JSON.stringify(node.outputs[0] ?? '')}`;
}
