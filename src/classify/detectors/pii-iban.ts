import type { Detector, DetectorMatch } from '../types.js';
import { maskSecret } from '../mask.js';
import { matchesOf } from '../scan.js';

/**
 * `pii.iban`: International Bank Account Numbers -> confidential: a known country code, that
 * country's length, and the ISO 13616 mod-97 check. Grouped with spaces (`DE89 3704 …`), with
 * dashes (`DE89-3704-…`; the fold reads the dashes that look like `-` as it) or with both, as
 * retyping or a form's field mask leaves it (`DE89 3704-0044 0532 …`): the check digits, not the
 * grouping, tell an IBAN.
 */
const LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20,
};

const CANDIDATE = /\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}/g;

export function passesMod97(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const character of rearranged) {
    const code = character.charCodeAt(0);
    const value = code >= 65 && code <= 90 ? String(code - 55) : character;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

export const ibanDetector: Detector = {
  id: 'pii.iban',
  scan(text) {
    const matches: DetectorMatch[] = [];
    for (const match of matchesOf(CANDIDATE, text)) {
      const country = match[0].slice(0, 2);
      const length = LENGTHS[country];
      if (length === undefined) continue;
      let collected = '';
      let dashed = false;
      let end = match.index;
      while (end < text.length && collected.length < length) {
        const character = text[end] as string;
        if (character === '-') dashed = true;
        else if (character !== ' ') {
          if (!/[A-Z0-9]/.test(character)) break;
          collected += character;
        }
        end += 1;
      }
      if (collected.length !== length || /[A-Za-z0-9]/.test(text[end] ?? '')) continue;
      // A dashed code that goes on (`DE89-3704-…-00-17`) is some other identifier.
      if (dashed && text[end] === '-' && /[A-Za-z0-9]/.test(text[end + 1] ?? '')) continue;
      if (!passesMod97(collected)) continue;
      matches.push({
        detector: 'pii.iban',
        level: 'confidential',
        reason: `IBAN (${country}, passes mod-97)`,
        start: match.index,
        end,
        // The secret rule (at most a quarter, nothing under 16 characters): `DE…00` for a German
        // IBAN, `…` for a Norwegian one; four and four (`DE89…3000`) would show over a third.
        excerpt: maskSecret(collected),
      });
      CANDIDATE.lastIndex = end;
    }
    return matches;
  },
};
