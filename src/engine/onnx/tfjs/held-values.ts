import * as tf from '@tensorflow/tfjs-core';

/**
 * The tensors of one run by name: in ONNX's layout (NCHW), and for 4-D values made by a
 * channels-last variant (layout.ts) in NHWC. Either form is made from the other on first demand and
 * kept, so a value is transposed at most once each way. The caller's tensors (`given`) are read,
 * never freed.
 */
export class HeldValues {
  private readonly onnx = new Map<string, tf.Tensor>();
  private readonly last = new Map<string, tf.Tensor>();

  constructor(private readonly given: ReadonlyMap<string, tf.Tensor>) {}

  /** The rank of a value, or −1 when there is none by that name. */
  rank(name: string): number {
    return (this.onnx.get(name) ?? this.given.get(name) ?? this.last.get(name))?.rank ?? -1;
  }

  isChannelsLast(name: string): boolean {
    return this.last.has(name);
  }

  /** In ONNX's layout. */
  get(name: string): tf.Tensor | undefined {
    const t = this.onnx.get(name) ?? this.given.get(name);
    if (t) return t;
    const nhwc = this.last.get(name);
    if (!nhwc) return undefined;
    const back = tf.transpose(nhwc, [0, 3, 1, 2]);
    this.onnx.set(name, back);
    return back;
  }

  /** A 4-D value channels-last. */
  getChannelsLast(name: string): tf.Tensor | undefined {
    const held = this.last.get(name);
    if (held) return held;
    const t = this.get(name);
    if (!t) return undefined;
    const nhwc = tf.transpose(t, [0, 2, 3, 1]);
    this.last.set(name, nhwc);
    return nhwc;
  }

  set(name: string, t: tf.Tensor, channelsLast: boolean): void {
    (channelsLast ? this.last : this.onnx).set(name, t);
  }

  /** Frees both forms of a value this run made. */
  release(name: string): void {
    this.onnx.get(name)?.dispose();
    this.last.get(name)?.dispose();
    this.onnx.delete(name);
    this.last.delete(name);
  }

  /** The named values in ONNX's layout, new tensors the caller owns; frees everything else. */
  finish(names: readonly string[]): Array<tf.Tensor | undefined> {
    const out = names.map((name) => {
      const own = this.onnx.has(name) || this.last.has(name);
      const t = this.get(name);
      return own ? t : t?.clone();
    });
    this.dispose(new Set(out));
    return out;
  }

  /** Frees what this run made, but `keep`. */
  dispose(keep: ReadonlySet<tf.Tensor | undefined> = new Set()): void {
    for (const map of [this.onnx, this.last]) {
      for (const t of map.values()) if (!keep.has(t)) t.dispose();
      map.clear();
    }
  }
}
