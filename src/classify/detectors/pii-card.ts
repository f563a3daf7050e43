import type { Detector, DetectorMatch } from '../types.js';
import { maskNumber } from '../mask.js';
import { matchesOf, passesLuhn } from '../scan.js';

/**
 * `pii.card`: payment card numbers -> confidential. 13-19 digits, optionally grouped with spaces
 * or dashes (or dots, in the printed groups: see DOTTED), that pass the Luhn check AND start with a known issuer prefix at a length that issuer
 * uses (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir). A 16-digit order
 * number failing Luhn, or a Luhn-valid number with no issuer prefix (timestamps start with 1),
 * is not a card.
 */
const CANDIDATE = /\b\d(?:[ .-]?\d){12,18}\b/g;
/**
 * A card number grouped with dots as some European forms and exports write it: only in its
 * printed groups (4-4-4-4, 4-4-4-4-3, Amex and Diners 4-6-5 and 4-6-4), so a version number or a
 * dotted decimal is never read as one.
 */
const DOTTED = /^(?:\d{4}\.\d{4}\.\d{4}\.\d{4}(?:\.\d{3})?|\d{4}\.\d{6}\.\d{4,5})$/;

function issuerAccepts(digits: string): string | undefined {
  const length = digits.length;
  const prefix2 = Number(digits.slice(0, 2));
  const prefix3 = Number(digits.slice(0, 3));
  const prefix4 = Number(digits.slice(0, 4));
  const prefix6 = Number(digits.slice(0, 6));
  if (digits.startsWith('4') && (length === 13 || length === 16 || length === 19)) return 'Visa';
  if (((prefix2 >= 51 && prefix2 <= 55) || (prefix4 >= 2221 && prefix4 <= 2720)) && length === 16) return 'Mastercard';
  if ((prefix2 === 34 || prefix2 === 37) && length === 15) return 'American Express';
  if ((prefix4 === 6011 || prefix2 === 65 || (prefix3 >= 644 && prefix3 <= 649) || (prefix6 >= 622126 && prefix6 <= 622925)) && length >= 16) {
    return 'Discover';
  }
  if (prefix4 >= 3528 && prefix4 <= 3589 && length >= 16) return 'JCB';
  if (((prefix3 >= 300 && prefix3 <= 305) || prefix2 === 36 || prefix2 === 38 || prefix2 === 39) && length >= 14) return 'Diners Club';
  if (prefix2 === 62 && length >= 16) return 'UnionPay';
  if (prefix4 >= 2200 && prefix4 <= 2204 && length === 16) return 'Mir';
  if ((prefix2 === 50 || (prefix2 >= 56 && prefix2 <= 69)) && length >= 13) return 'Maestro';
  return undefined;
}

export const cardDetector: Detector = {
  id: 'pii.card',
  scan(text) {
    const matches: DetectorMatch[] = [];
    for (const match of matchesOf(CANDIDATE, text)) {
      const start = match.index;
      const end = start + match[0].length;
      const before = text[start - 1];
      if (before === '.' || before === '-' || text[end] === '.' && /\d/.test(text[end + 1] ?? '')) continue;
      if (match[0].includes('.') && !DOTTED.test(match[0])) continue;
      const digits = match[0].replace(/[ .-]/g, '');
      if (/^(\d)\1+$/.test(digits)) continue;
      const issuer = issuerAccepts(digits);
      if (issuer === undefined || !passesLuhn(digits)) continue;
      matches.push({
        detector: 'pii.card',
        level: 'confidential',
        reason: `payment card number (${issuer}, passes Luhn)`,
        start,
        end,
        excerpt: maskNumber(match[0]),
      });
    }
    return matches;
  },
};
