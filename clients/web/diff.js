// Word-level diff of two texts (longest common subsequence), for the side-by-side view of
// the generated note against the edited one. Whitespace is kept with the word before it so
// both sides render as they were written.

/** Splits text into word tokens, each carrying its trailing whitespace. */
export function tokens(text) {
  return text.match(/\S+\s*|\s+/g) || [];
}

/**
 * Diffs `before` against `after`. Returns `{left, right}`: lists of `{text, kind}` where kind
 * is `same`, `removed` (left only) or `added` (right only).
 */
export function diffWords(before, after) {
  const a = tokens(before);
  const b = tokens(after);
  const key = (token) => token.trim();
  // Trim the common prefix and suffix so the quadratic table covers only what changed.
  let start = 0;
  while (start < a.length && start < b.length && key(a[start]) === key(b[start])) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && key(a[endA - 1]) === key(b[endB - 1])) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = key(midA[i]) === key(midB[j])
        ? table[i + 1][j + 1] + 1
        : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const left = a.slice(0, start).map((text) => ({ text, kind: 'same' }));
  const right = b.slice(0, start).map((text) => ({ text, kind: 'same' }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && key(midA[i]) === key(midB[j])) {
      left.push({ text: midA[i++], kind: 'same' });
      right.push({ text: midB[j++], kind: 'same' });
    } else if (j < m && (i === n || table[i][j + 1] >= table[i + 1][j])) {
      right.push({ text: midB[j++], kind: 'added' });
    } else {
      left.push({ text: midA[i++], kind: 'removed' });
    }
  }
  for (const text of a.slice(endA)) left.push({ text, kind: 'same' });
  for (const text of b.slice(endB)) right.push({ text, kind: 'same' });
  return { left, right };
}
