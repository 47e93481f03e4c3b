/** The closest choice by edit distance (ignoring case, "-" and "_"), when close enough to be a typo. */
export function suggest(word: string, choices: readonly string[]): string | undefined {
  // No typo is that long, and edit distance costs length × length.
  if (word.length > 64) return undefined;
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: { choice: string; d: number } | undefined;
  for (const choice of choices) {
    const d = editDistance(norm(word), norm(choice));
    if (!best || d < best.d) best = { choice, d };
  }
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.choice : undefined;
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b: "trian" is one from "train". */
export function editDistance(a: string, b: string): number {
  // Rows i-2, i-1 and i of the optimal-string-alignment table.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}
