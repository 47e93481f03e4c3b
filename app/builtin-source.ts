// The built-in source as the page fetches it: from its own origin, where graft app serves the weights.
import type { SourceFiles } from './protocol.js';

/** The route graft app serves the built-in weights at (src/app-server/builtin.ts). */
export const BUILTIN_PATH = 'builtin/mobilenetv2-0.35.h5';

/** graft app's built-in source: the server fetches the weights into its cache; the page asks its own origin only. */
export async function fetchBuiltin(input: number): Promise<SourceFiles> {
  const url = new URL(`${BUILTIN_PATH}?input=${encodeURIComponent(String(input))}`, document.baseURI);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`Could not reach graft app at ${url.origin} for the built-in weights (${e instanceof Error ? e.message : String(e)}). Is \`graft app\` still running? Or drop a model file as the source instead.`);
  }
  // graft app's answer says what went wrong and how to fix it.
  if (!res.ok) throw new Error((await res.text()) || `graft app answered ${res.status} for the built-in weights. Drop a model file as the source instead.`);
  return { kind: 'builtin', name: 'MobileNetV2 α 0.35 (built-in)', alpha: 0.35, weights: new Uint8Array(await res.arrayBuffer()) };
}
