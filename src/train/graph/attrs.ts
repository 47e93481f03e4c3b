import type { AttrValue, OnnxNode } from '../../engine/onnx/model-proto.js';

/** Reads a node's attributes with ONNX's defaults (the defaults are the caller's, per op's spec). */
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

/** How a node is named in messages: its name when the exporter gave one, else its first output. */
export function describeNode(node: OnnxNode): string {
  return node.name ? `${node.op} node ${JSON.stringify(node.name)}` : `${node.op} node producing ${JSON.stringify(node.outputs[0] ?? '')}`;
}
