/**
 * The name nearest to a misspelt one (edit distance <= 2 or a case-only difference), for a "did
 * you mean". Between names as near, the one that begins as the misspelling does: `olama` is
 * `ollama` with an l left out more likely than `llama` with its first letter mistyped.
 */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: { name: string; distance: number; prefix: number } | undefined;
  for (const name of allowed) {
    const distance = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), name.toLowerCase());
    const prefix = commonPrefixLength(key.toLowerCase(), name.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance || (distance === best.distance && prefix > best.prefix))) best = { name, distance, prefix };
  }
  return best?.name;
}

function commonPrefixLength(a: string, b: string): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length += 1;
  return length;
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j] ?? 0;
      const left = previous[j - 1] ?? 0;
      previous[j] = Math.min(above + 1, left + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length] ?? 0;
}
