import { readFileSync } from 'node:fs';

/** Width, height and RGB bytes of a binary PPM (P6). */
export function readPpm(file: string): { width: number; height: number; rgb: Uint8Array } {
  const bytes = readFileSync(file);
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 40).toString('latin1'));
  if (!header) throw new Error(`${file} is not a binary PPM`);
  return { width: Number(header[1]), height: Number(header[2]), rgb: new Uint8Array(bytes.subarray(header[0].length)) };
}

/** Largest and mean absolute difference, and the first pixel that differs most (for messages). */
export function compare(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number; at: number } {
  let max = 0;
  let sum = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) [max, at] = [d, i];
  }
  return { max, mean: sum / a.length, at };
}
