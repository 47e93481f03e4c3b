import { stat } from 'node:fs/promises';

/** Whether anything (file or folder) is at `p`. */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
