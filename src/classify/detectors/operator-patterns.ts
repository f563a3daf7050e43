import { catastrophicBacktrackingRisk } from '../../common/regex-backtracking.js';
import { sensitivityRank } from '../../common/vocabulary.js';
import type { OperatorPattern } from '../../policy/types.js';
import type { Detector, DetectorMatch } from '../types.js';
import { maskSecret, shorten } from '../mask.js';
import { escapeRegExp, isWholeWord, matchesOf } from '../scan.js';
import { foldText } from '../unicode-fold.js';

/**
 * `operator.pattern`: the operator's own patterns ("known sensitive projects"), each at its
 * level. `regex` is an ECMAScript pattern (case-insensitive unless `caseSensitive`); `keywords`
 * match as whole words, like the indicator words. The policy loader rejects a regex that does not
 * compile or can backtrack catastrophically (src/common/regex-backtracking.ts); one that reaches
 * this detector anyway (options built in code) is not run: the detector throws and the classifier
 * fails closed.
 *
 * The classifier also scans the Unicode-folded text (unicode-fold.ts), so each keyword is looked
 * for as written and folded, and a regex with non-ASCII letters also runs with them folded:
 * `Müller` finds `Müller` in either normal form and `Muller`, whichever way the policy spells it,
 * and `Müllеr` with a Cyrillic `е`. A keyword is also looked for with every look-alike letter read
 * as Latin, so `Сбербанк` finds `Cбербанк` typed with a Latin `C` (a mixed-script word, folded).
 */
interface CompiledPattern {
  regexes: RegExp[];
  keywords?: RegExp;
}

const compiled = new WeakMap<OperatorPattern, CompiledPattern>();

function compile(pattern: OperatorPattern): CompiledPattern {
  let entry = compiled.get(pattern);
  if (entry === undefined) {
    const flags = pattern.caseSensitive === true ? 'g' : 'gi';
    entry = { regexes: [] };
    if (pattern.regex !== undefined && pattern.regex !== '') {
      const backtracking = catastrophicBacktrackingRisk(pattern.regex, flags);
      if (backtracking !== undefined) throw new Error(`operator pattern '${pattern.name}' can backtrack catastrophically and is not run: ${backtracking.message}`);
      entry.regexes.push(new RegExp(pattern.regex, flags));
      const folded = foldedRegex(pattern.regex, flags);
      if (folded !== undefined) entry.regexes.push(folded);
    }
    const written = (pattern.keywords ?? []).map((keyword) => keyword.trim()).filter((keyword) => keyword.length > 0);
    const keywords = [...new Set([...written, ...written.map((keyword) => foldText(keyword)), ...written.map((keyword) => foldText(keyword, true))])];
    if (keywords.length > 0) {
      entry.keywords = new RegExp(
        keywords
          .sort((a, b) => b.length - a.length)
          .map((keyword) => keyword.split(/\s+/).map(escapeRegExp).join('\\s+'))
          .join('|'),
        flags,
      );
    }
    compiled.set(pattern, entry);
  }
  return entry;
}

export const operatorPatternsDetector: Detector = {
  id: 'operator.pattern',
  scan(text, context) {
    const matches: DetectorMatch[] = [];
    for (const pattern of context.patterns) {
      const { regexes, keywords } = compile(pattern);
      // What the policy keeps on this host is masked like a secret; internal and public matches are only shortened.
      const excerptOf = sensitivityRank(pattern.level) >= sensitivityRank('confidential') ? maskSecret : shorten;
      for (const regex of regexes) {
        for (const match of matchesOf(regex, text)) {
          matches.push({
            detector: 'operator.pattern',
            level: pattern.level,
            reason: `operator pattern '${pattern.name}'`,
            start: match.index,
            end: match.index + match[0].length,
            excerpt: excerptOf(match[0]),
          });
        }
      }
      if (keywords !== undefined) {
        for (const match of matchesOf(keywords, text)) {
          const start = match.index;
          const end = start + match[0].length;
          if (!isWholeWord(text, start, end)) continue;
          matches.push({
            detector: 'operator.pattern',
            level: pattern.level,
            reason: `operator pattern '${pattern.name}' (keyword)`,
            start,
            end,
            excerpt: excerptOf(match[0]),
          });
        }
      }
    }
    return matches;
  },
};

/** A code point of a regex source that is not ASCII, with the backslashes before it. */
const NON_ASCII_IN_SOURCE = /(\\*)([^\x00-\x7F])/gu;

/**
 * The regex with its non-ASCII letters and digits folded (each escaped, since a fold may yield
 * punctuation) and its marks and format characters dropped, or undefined when that changes
 * nothing (an ASCII regex, the common case). Escaped characters (`\ü`) stay as written. Should
 * the folded source not compile or risk backtracking, only the regex as written runs.
 */
function foldedRegex(source: string, flags: string): RegExp | undefined {
  const folded = source.replace(NON_ASCII_IN_SOURCE, (whole, backslashes: string, character: string) => {
    if (backslashes.length % 2 === 1) return whole;
    if (/[\p{Cf}\p{Mn}\p{Me}]/u.test(character)) return backslashes;
    return /[\p{L}\p{Nd}]/u.test(character) ? backslashes + escapeRegExp(foldText(character)) : whole;
  });
  if (folded === source || catastrophicBacktrackingRisk(folded, flags) !== undefined) return undefined;
  try {
    return new RegExp(folded, flags);
  } catch {
    return undefined;
  }
}
