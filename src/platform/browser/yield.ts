/**
 * The page's yieldToEventLoop (see platform/yield.ts): a MessageChannel message is a macrotask
 * that runs at once, where a nested setTimeout(0) waits at least 4 ms, and a Promise microtask
 * would not let the page's events run at all.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.addEventListener(
      'message',
      () => {
        port1.close();
        resolve();
      },
      { once: true },
    );
    // A port with an event listener (not onmessage) delivers only once started.
    port1.start();
    port2.postMessage(undefined);
  });
}
