import { readFile } from 'node:fs/promises';
import * as path from 'node:path';

export const README_SECTION = '## In the browser (library)';

/** The TypeScript example under README's browser section, as written there (the page runs this text). */
export async function readmeBrowserExample(root: string): Promise<string> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${README_SECTION}\n`);
  if (at < 0) throw new Error(`README.md has no "${README_SECTION}" section`);
  const block = /```ts\n([\s\S]*?)\n```/.exec(readme.slice(at));
  if (!block?.[1]) throw new Error(`README.md's "${README_SECTION}" section has no \`\`\`ts block`);
  return block[1];
}
