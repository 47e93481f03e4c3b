/** A refusal of bench/browser-node.mjs: printed as its message (no stack), exit code 2. */
export class BenchError extends Error {}
