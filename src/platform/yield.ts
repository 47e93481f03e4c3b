/**
 * Lets pending I/O, signals and timers run between training batches. Node's setImmediate runs
 * after I/O with no delay; package.json's `browser` field swaps in platform/browser/yield.ts,
 * since pages have no setImmediate.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
