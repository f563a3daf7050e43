import type { Detector, DetectorMatch } from '../types.js';
import { escapeRegExp, isWholeWord, matchesOf } from '../scan.js';
import { foldText } from '../unicode-fold.js';

/**
 * `indicator.word`: the operator's indicator words (defaults `password`, `credential`,
 * `screenshot`, `camera`; the policy may add more) anywhere in the text -> at least confidential.
 * Whole words, case-insensitive, with plurals (`passwords`, `credentials`, `companies`).
 * "Whole" means not glued to other letters, except at a camelCase seam: `DB_PASSWORD`,
 * `passwordHash`, `userPassword` and `password1` contain the word; `passwordless`, `mypassword`
 * and `cameraman` do not — a different word is a different word.
 */

const compiled = new Map<string, RegExp>();

function wordPattern(word: string): string {
  const trimmed = word.trim();
  const parts = trimmed.split(/\s+/).map(escapeRegExp);
  const last = parts.pop() ?? '';
  let lastPattern: string;
  if (/[^aeiou]y$/i.test(last)) lastPattern = `${last.slice(0, -1)}(?:y|ies)`;
  else if (/(?:s|x|z|ch|sh)$/i.test(last)) lastPattern = `${last}(?:es)?`;
  else lastPattern = `${last}s?`;
  return [...parts, lastPattern].join('\\s+');
}

const byList = new WeakMap<readonly string[], RegExp | undefined>();

export function indicatorPattern(words: readonly string[]): RegExp | undefined {
  if (byList.has(words)) return byList.get(words);
  const pattern = compilePattern(words);
  byList.set(words, pattern);
  return pattern;
}

function compilePattern(words: readonly string[]): RegExp | undefined {
  // As written and folded (unicode-fold.ts; also with every look-alike read as Latin, see operator-patterns.ts): the classifier scans the folded text too.
  const written = words.map((word) => word.trim().toLowerCase()).filter((word) => word.length > 0);
  const usable = [...new Set([...written, ...written.map((word) => foldText(word)), ...written.map((word) => foldText(word, true))])].sort(
    (a, b) => b.length - a.length,
  );
  if (usable.length === 0) return undefined;
  const cacheKey = usable.join('\u0000');
  let pattern = compiled.get(cacheKey);
  if (pattern === undefined) {
    pattern = new RegExp(usable.map(wordPattern).join('|'), 'giu');
    if (compiled.size > 64) compiled.clear();
    compiled.set(cacheKey, pattern);
  }
  return pattern;
}

export const indicatorWordsDetector: Detector = {
  id: 'indicator.word',
  scan(text, context) {
    const pattern = indicatorPattern(context.indicatorWords);
    if (pattern === undefined) return [];
    const matches: DetectorMatch[] = [];
    for (const match of matchesOf(pattern, text)) {
      const start = match.index;
      const end = start + match[0].length;
      if (!isWholeWord(text, start, end)) continue;
      matches.push({
        detector: 'indicator.word',
        level: 'confidential',
        reason: `indicator word '${match[0].toLowerCase().replace(/\s+/g, ' ')}'`,
        start,
        end,
        excerpt: match[0],
      });
    }
    return matches;
  },
};
