import { describe, expect, it } from 'vitest';
import { formatUserTaskSpec, isUserTaskSpec, parseUserTaskSpec, resolveUserClasses } from '../../src/data/user-task.js';
import { canonicalTaskText } from '../../src/data/task-text.js';
import { parseCsv } from '../../src/data/csv.js';
import { holdOutTest } from '../../src/data/test-split.js';

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

describe('parseUserTaskSpec', () => {
  it('reads folder: and csv: with every modifier and renames', () => {
    expect(parseUserTaskSpec('folder:photos')).toEqual({ kind: 'folder', path: 'photos', mode: 'all', names: [], displayNames: [] });
    expect(parseUserTaskSpec('csv:data/labels.csv:binary=other,cat')).toEqual({ kind: 'csv', path: 'data/labels.csv', mode: 'binary', names: ['other', 'cat'], displayNames: ['other', 'cat'] });
    expect(parseUserTaskSpec('folder:p:classes=kitty>cat, puppy > dog,bird')).toMatchObject({ mode: 'classes', names: ['kitty', 'puppy', 'bird'], displayNames: ['cat', 'dog', 'bird'] });
    expect(parseUserTaskSpec('FOLDER:p:Exclude=blurry')).toMatchObject({ kind: 'folder', mode: 'exclude', names: ['blurry'] });
  });

  it("keeps ':' inside the path: only the last :classes=/:binary=/:exclude= is the modifier", () => {
    expect(parseUserTaskSpec('folder:C:\\photos\\a:b:classes=x,y')).toMatchObject({ path: 'C:\\photos\\a:b', names: ['x', 'y'] });
    expect(parseUserTaskSpec('folder:/data/a:binary=1/b:classes=x,y')).toMatchObject({ path: '/data/a:binary=1/b', mode: 'classes' });
    expect(parseUserTaskSpec('folder:/mnt/x:y')).toMatchObject({ path: '/mnt/x:y', mode: 'all' });
  });

  it('formats back to the same spec', () => {
    for (const t of ['folder:photos', 'csv:a:b.csv:binary=neg,pos', 'folder:p:classes=kitty>cat,dog', 'folder:p:exclude=a,b']) {
      expect(formatUserTaskSpec(parseUserTaskSpec(t))).toBe(t);
    }
    expect(canonicalTaskText('folder:p:classes= kitty > cat ,dog')).toBe('folder:p:classes=kitty>cat,dog');
    expect(canonicalTaskText('fashion-mnist:binary=shirt,sandal')).toBe('fashion-mnist:binary=shirt,sandal');
    expect(isUserTaskSpec(' csv:x')).toBe(true);
    expect(isUserTaskSpec('cifar10')).toBe(false);
  });

  it('refuses malformed specs, saying what is wrong', () => {
    expect(message(() => parseUserTaskSpec('folder:'))).toMatch(/no folder after "folder:"/);
    expect(message(() => parseUserTaskSpec('folder::classes=a,b'))).toMatch(/no folder/);
    expect(message(() => parseUserTaskSpec('folder:p:binary=a,b,c'))).toMatch(/binary needs exactly 2 classes .* got 3/);
    // What an unquoted `classes=kitty>cat,puppy>dog` leaves after the shell's redirection.
    expect(message(() => parseUserTaskSpec('folder:p:classes=kitty'))).toMatch(/at least 2 classes.*quote a spec that holds '>'/);
    expect(message(() => parseUserTaskSpec('folder:p:classes=a,,b'))).toMatch(/empty entry/);
    expect(message(() => parseUserTaskSpec('folder:p:classes=a>b>c,d'))).toMatch(/"a>b>c" is not a class or old>new rename/);
    expect(message(() => parseUserTaskSpec('folder:p:exclude=a>b'))).toMatch(/exclude cannot rename/);
    expect(message(() => parseUserTaskSpec('folder:p:classes=a,a'))).toMatch(/"a" is listed twice/);
    expect(message(() => parseUserTaskSpec('folder:p:classes=a>x,b>x'))).toMatch(/both be called "x"/);
    expect(message(() => canonicalTaskText('photos'))).toMatch(/folder:PATH, csv:FILE/);
  });
});

describe('resolveUserClasses', () => {
  const found = ['Cat', 'dog', 'other'];
  it('picks in the order written, matching names loosely when unambiguous', () => {
    expect(resolveUserClasses(parseUserTaskSpec('folder:p'), found, 'p')).toEqual({ picked: found, names: found });
    expect(resolveUserClasses(parseUserTaskSpec('folder:p:binary=other,cat>kitty'), found, 'p')).toEqual({ picked: ['other', 'Cat'], names: ['other', 'kitty'] });
    expect(resolveUserClasses(parseUserTaskSpec('folder:p:exclude=dog'), found, 'p')).toEqual({ picked: ['Cat', 'other'], names: ['Cat', 'other'] });
  });
  it('names the classes there are when one is missing, and refuses an exclude that leaves one', () => {
    expect(message(() => resolveUserClasses(parseUserTaskSpec('folder:p:classes=cat,horse'), found, '/data/p'))).toMatch(/\/data\/p has no class "horse"\. Classes in \/data\/p: Cat, dog, other/);
    expect(message(() => resolveUserClasses(parseUserTaskSpec('folder:p:exclude=cat,dog'), found, 'p'))).toMatch(/leaves 1/);
  });
});

describe('parseCsv', () => {
  it('reads quoted fields, doubled quotes, commas and CRLF, skipping blank lines', () => {
    const rows = parseCsv('\ufeffpath,label\r\n"a, b.jpg",cat\r\n\r\n"say ""hi"".png",dog\nc.jpg,"multi\nline"\n', 'x.csv');
    expect(rows.map((r) => r.fields)).toEqual([['path', 'label'], ['a, b.jpg', 'cat'], ['say "hi".png', 'dog'], ['c.jpg', 'multi\nline']]);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 4, 5]);
  });
  it('refuses an unclosed quote naming its line', () => {
    expect(message(() => parseCsv('a.jpg,cat\n"b.jpg,dog\n', 'x.csv'))).toMatch(/x\.csv: the quoted field starting on line 2 never ends/);
  });
});

describe('holdOutTest', () => {
  const labels = [...Array(10).fill(0), ...Array(5).fill(1), 2, 2];
  const keys = labels.map((l, i) => `c${l}/${String(i).padStart(3, '0')}.jpg`);
  it('holds out 20% of each class (at least 1, never all), the same every time', () => {
    const t = holdOutTest(labels, keys, ['a', 'b', 'c']);
    const per = [0, 1, 2].map((c) => labels.filter((l, i) => l === c && t[i] === 1).length);
    expect(per).toEqual([2, 1, 1]);
    expect(Array.from(holdOutTest(labels, keys, ['a', 'b', 'c']))).toEqual(Array.from(t));
  });
  it("does not depend on listing order or on which other classes are in the task", () => {
    const t = holdOutTest(labels, keys, ['a', 'b', 'c']);
    const order = labels.map((_, i) => i).reverse();
    const r = holdOutTest(order.map((i) => labels[i]!), order.map((i) => keys[i]!), ['a', 'b', 'c']);
    expect(order.map((i, k) => r[k]).reverse()).toEqual(Array.from(t));
    // Class "b" alone (relabelled 0) keeps the same test images.
    const onlyB = labels.map((l, i) => (l === 1 ? i : -1)).filter((i) => i >= 0);
    const b = holdOutTest(onlyB.map(() => 0), onlyB.map((i) => keys[i]!), ['b']);
    expect(Array.from(b)).toEqual(onlyB.map((i) => t[i]));
  });
});
