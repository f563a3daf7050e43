import type { Detector, DetectorMatch } from '../types.js';
import { maskNumber } from '../mask.js';
import { matchesOf, SpanIndex } from '../scan.js';

/**
 * `pii.phone`: telephone numbers -> confidential. Accepted shapes, each with 7-15 digits:
 *   international  `+44 20 7946 0958`, `+1 (415) 555-0132`, `0049 30 901820`
 *   North American `(415) 555-0132`, `415-555-0132`, `415.555.0132` (area and exchange 2-9xx)
 *   national       `020 7946 0958`, `06 12 34 56 78`, `030 901820` (trunk 0, grouped, 9-11 digits)
 *   labelled       `phone: 4155550132`, `my phone is 555-123-4567`, `call me at 555 0132`, `tel. 0301234567`
 * Not phones: bare digit runs without a label (order numbers, timestamps), versions (`1.2.3`),
 * dates, times, IP addresses, UUIDs.
 */
const CANDIDATE =
  /(?:\+|\b00)[1-9]\d{0,2}(?:[\s.-]{0,2}\(?\d{1,5}\)?){2,6}|\(\d{3}\)\s?\d{3}[\s.-]\d{4}|\b\d{3}([-.\s])\d{3}\1\d{4}|\b0[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}/g;
const LABELLED =
  /\b(?:ph(?:one(?: number)?)?|tel(?:ephone)?|mobile|cell(?:phone)?|fax|whatsapp|sms|call(?: me)?(?: at| on)?|text me(?: at| on)?|reach me(?: at| on)?|contact number)\b\.?(?:\s*(?:no\.?|number|#))?[\s:#.]*(?:(?:is|was|=)\b[\s:#]*)?(?<number>[+(]?\d[\d\s().-]{5,22}\d)/gi;

function digitCount(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 48 && code <= 57) count += 1;
  }
  return count;
}

/** `[A-Za-z0-9_/:]`: what may not touch a number on either side. */
function isGluing(code: number): boolean {
  return (code >= 48 && code <= 58) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 47;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isAlphanumeric(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Whether `code` is `.` or `-`. */
function isDotOrDash(code: number): boolean {
  return code === 46 || code === 45;
}

/** Character codes, not one-character expressions: a text of records has a candidate every ~50 characters (half of them a date's `01-01`). */
function isolated(text: string, start: number, end: number): boolean {
  // NaN (before the text's start or after its end) reads as a space.
  const before = text.charCodeAt(start - 1);
  const after = text.charCodeAt(end);
  if (isGluing(before) || isGluing(after)) return false;
  // `1.2.415.555.0132` or `2024-415-555-0132`: part of a longer dotted or dashed number.
  if (isDotOrDash(before) && isDigit(text.charCodeAt(start - 2))) return false;
  if (isDotOrDash(after) && isDigit(text.charCodeAt(end + 1))) return false;
  // `DE89 3704 0044 0532 ...`: one group of a longer space-separated number.
  if (before === 32 && isAlphanumeric(text.charCodeAt(start - 2)) && isDigit(text.charCodeAt(start - 3))) return false;
  return true;
}

const TRAILING = /[\s(.-]/;

/** `candidate` without trailing white space, `(`, `.` and `-` (what the candidate expressions may end on). */
function trimmed(candidate: string): string {
  let end = candidate.length;
  while (end > 0 && TRAILING.test(candidate[end - 1] as string)) end -= 1;
  return end === candidate.length ? candidate : candidate.slice(0, end);
}

function accept(candidate: string): boolean {
  const digits = digitCount(candidate);
  if (candidate.startsWith('+') || candidate.startsWith('00')) return digits >= 8 && digits <= 15;
  if (candidate.startsWith('(')) return /^\([2-9]\d{2}\)\s?[2-9]/.test(candidate);
  if (/^\d{3}[-.\s]\d{3}[-.\s]\d{4}$/.test(candidate)) return /^[2-9]\d{2}[-.\s][2-9]/.test(candidate);
  if (candidate.startsWith('0')) return !candidate.includes('.') && digits >= 9 && digits <= 11;
  return false;
}

export const phoneDetector: Detector = {
  id: 'pii.phone',
  scan(text) {
    const matches: DetectorMatch[] = [];
    // Indexed: a list read through for each number made 5 000 records' numbers cost 25 million comparisons.
    const taken = new SpanIndex<{ start: number; end: number }>();
    const push = (start: number, end: number, reason: string): void => {
      if (taken.overlaps(start, end)) return;
      taken.add({ start, end });
      matches.push({ detector: 'pii.phone', level: 'confidential', reason, start, end, excerpt: maskNumber(text.slice(start, end)) });
    };
    for (const match of matchesOf(LABELLED, text)) {
      const number = trimmed(match.groups?.number ?? '');
      const digits = digitCount(number);
      if (digits < 7 || digits > 15) continue;
      const start = match.index + match[0].length - (match.groups?.number ?? '').length;
      push(start, start + number.length, 'telephone number (labelled)');
    }
    for (const match of matchesOf(CANDIDATE, text)) {
      const candidate = trimmed(match[0]);
      const start = match.index;
      const end = start + candidate.length;
      if (!isolated(text, start, end) || !accept(candidate)) continue;
      push(start, end, 'telephone number');
    }
    return matches;
  },
};
