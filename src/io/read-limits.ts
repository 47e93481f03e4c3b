// Pure (no node:fs), so the browser entry's in-memory readers share the Node readers' limits.

/** Size limits per kind of file, in bytes; each is far above any real file of that kind. */
export const READ_LIMITS = {
  /** One PNG or JPEG: a 100-megapixel photo is ~50 MB. */
  image: 256 * 2 ** 20,
  /** An IDX file (Fashion-MNIST's largest is 47 MB raw) or one CIFAR-10 batch (30 MB). */
  dataset: 1 * 2 ** 30,
  /** model.json, run.json, checkpoint.json, report JSON: a VGG16 model.json is ~30 KB. */
  json: 64 * 2 ** 20,
  /** A Keras .h5 or .keras file: h5wasm holds it in a 32-bit (4 GiB) heap beside its own work. */
  model: 2 * 2 ** 30,
  /** Weight shards, checkpoint blobs and graft's decode cache: Node reads at most 2 GiB at once. */
  blob: 2 * 2 ** 30 - 1,
} as const;
