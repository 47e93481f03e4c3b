/**
 * Thrown inside the converter when a layer (or a setting of one) has no ONNX translation here;
 * buildForwardGraph turns it into the reason string its callers fall back to TF.js with.
 */
export class Unsupported extends Error {}

export function unsupported(what: string): never {
  throw new Unsupported(what);
}
