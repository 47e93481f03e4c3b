import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandBraces, expandGlob, hasGlobMagic } from '../../src/io/glob.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-glob-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
for (const f of ['a.png', 'b.png', 'c.jpg', '.hidden.png', 'x/d.png', 'x/y/e.png', '.dot/f.png', 'x/[odd].png']) {
  mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
  writeFileSync(path.join(root, f), '');
}
symlinkSync(root, path.join(root, 'x', 'loop'));

const rel = async (pattern: string): Promise<string[]> => (await expandGlob(path.join(root, pattern))).map((p) => path.relative(root, p));

describe('glob', () => {
  it('braces expand, nested and with a literal {x}', () => {
    expect(expandBraces('a.{png,jpg}')).toEqual(['a.png', 'a.jpg']);
    expect(expandBraces('{a,{b,c}}.png')).toEqual(['a.png', 'b.png', 'c.png']);
    expect(expandBraces('{x}/{1,2}')).toEqual(['{x}/1', '{x}/2']);
    expect(hasGlobMagic('photos/a.png')).toBe(false);
    expect(hasGlobMagic('photos/*.png')).toBe(true);
  });

  it('* and ? stay in one folder and skip hidden names; [..] sets, [!..] negated', async () => {
    expect(await rel('*.png')).toEqual(['a.png', 'b.png']);
    expect(await rel('?.jpg')).toEqual(['c.jpg']);
    expect(await rel('[ac].*')).toEqual(['a.png', 'c.jpg']);
    expect(await rel('[!a].png')).toEqual(['b.png']);
    expect(await rel('*')).toEqual(['a.png', 'b.png', 'c.jpg', 'x']);
  });

  it('** crosses any number of folders (none included), never hidden or symlinked ones', async () => {
    expect(await rel('**/*.png')).toEqual(['a.png', 'b.png', 'x/[odd].png', 'x/d.png', 'x/y/e.png']);
    expect(await rel('x/**/e.png')).toEqual(['x/y/e.png']);
  });

  it('a pattern naming a missing folder matches nothing', async () => {
    expect(await rel('nope/*.png')).toEqual([]);
  });
});
