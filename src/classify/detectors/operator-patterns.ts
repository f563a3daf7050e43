import { catastrophicBacktrackingRisk } from '../../common/regex-backtracking.js';
import { sensitivityRank } from '../../common/vocabulary.js';
import type { OperatorPattern } from '../../policy/types.js';
import type { Detector, DetectorMatch } from '../types.js';
import { maskSecret, shorten } from '../mask.js';
import { escapeRegExp, isWholeWord, matchesOf } from '../scan.js';

/**
 * `operator.pattern`: the operator's own patterns ("known sensitive projects"), each at its
 * level. `regex` is an ECMAScript pattern (case-insensitive unless `caseSensitive`); `keywords`
 * match as whole words, like the indicator words. The policy loader rejects a regex that does not
 * compile or can backtrack catastrophically (src/common/regex-backtracking.ts); one that reaches
 * this detector anyway (options built in code) is not run: the detector throws and the classifier
 * fails closed.
 */
interface CompiledPattern {
  regex?: RegExp;
  keywords?: RegExp;
}

const compiled = new WeakMap<OperatorPattern, CompiledPattern>();

function compile(pattern: OperatorPattern): CompiledPattern {
  let entry = compiled.get(pattern);
  if (entry === undefined) {
    const flags = pattern.caseSensitive === true ? 'g' : 'gi';
    entry = {};
    if (pattern.regex !== undefined && pattern.regex !== '') {
      const backtracking = catastrophicBacktrackingRisk(pattern.regex, flags);
      if (backtracking !== undefined) throw new Error(`operator pattern '${pattern.name}' can backtrack catastrophically and is not run: ${backtracking.message}`);
      entry.regex = new RegExp(pattern.regex, flags);
    }
    const keywords = (pattern.keywords ?? []).map((keyword) => keyword.trim()).filter((keyword) => keyword.length > 0);
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
      const { regex, keywords } = compile(pattern);
      // What the policy keeps on this host is masked like a secret; internal and public matches are only shortened.
      const excerptOf = sensitivityRank(pattern.level) >= sensitivityRank('confidential') ? maskSecret : shorten;
      if (regex !== undefined) {
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
