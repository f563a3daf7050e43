import type { Detector, DetectorMatch } from '../types.js';
import { LiteralGate, matchesOf } from '../scan.js';

/**
 * `pii.ssn`: US Social Security numbers -> confidential. `123-45-6789` or `123 45 6789`, or nine
 * digits after an `SSN` / `social security number` label (`SSN: 123456789`, `my SSN is 123456789`); never area 000, 666 or 900-999,
 * group 00 or serial 0000 (the SSA never issues those).
 */
const GROUPED = /\b(\d{3})([- ])(\d{2})\2(\d{4})\b/g;
const LABELLED = /\b(?:ssns?|social security(?: number| no\.?| #)?)[\s:#.=-]*(?:(?:is|was)\b[\s:=]*)?(\d{3})(\d{2})(\d{4})\b/gi;

/**
 * Other national identification and identity-document numbers, when a label says what they are
 * (`passport number 533380006`, `National Insurance number: QQ 12 34 56 C`, `driver's license
 * D1234-56789`), in the languages of the countries that issue them (`NINO`, `DNI`/`NIE`, `codice
 * fiscale`, `BSN`, `Aadhaar`, `CPF`, `Steuer-ID`, `numéro de sécurité sociale`, `PESEL`,
 * `personnummer`, `social insurance number`, `tax file number`): their shapes differ by country,
 * so the label is required and the value must carry at least five digits. Reported as `pii.national-id`.
 */
const LABELLED_DOCUMENT =
  /(?<![\p{L}\p{N}])(?:passport|national[ -]?(?:id|identity|identification|insurance)|driv(?:er'?s?|ing)[ -]?licen[cs]e|ni(?:no| number)|dni|nie|codice fiscale|bsn|burgerservicenummer|aadhaar|cpf|steuer-?id|steueridentifikationsnummer|(?:num[ée]ro de )?s[ée]curit[ée] sociale|insee|pesel|personnummer|social insurance(?: number)?|tax file number)(?![\p{L}\p{N}])(?:\s*(?:number|no\.?|num|n[°º]|nr\.?|#))?\s*(?:is|was|est|ist|=|:|#)?\s*(?<value>[A-Z0-9][A-Z0-9 ./-]{4,22}[A-Z0-9])\b/giu;

/**
 * One test, in any case, for every label this detector knows that starts with `s`, `p`, `n` or
 * `l`; the expressions run only when it or OTHER_LABELS passes. Labels starting with other letters
 * are left to OTHER_LABELS: each further first letter costs this test a share of every request's
 * scan (it runs over all of them, ~2 ms per MB on a loaded host; `codice fiscale`, `tax file`,
 * `aadhaar` and `burgerservicenummer` added 0.6 ms, `social insurance`, `pesel`, `personnummer`,
 * `nino`, `ni number` and `steuer` nothing measurable).
 */
const LABEL_GATE = /ssn|social (?:security|insurance)|passport|pesel|personnummer|national[ -]?(?:id|insurance)|ni(?:no| number)|steuer|licen[cs]e/i;
/**
 * The other labels, as they are written (capitals, or a capitalised word): a case-insensitive
 * alternation of them cost six times the gate above (0.19 ms per 100 KB); these literals' rare
 * capitals keep it near that gate's cost (see LiteralGate: each distinct pivot character is one
 * pass over the text, so spellings that would add a common one are left out: lower-case `codice
 * fiscale`, `cpf`, `aadhaar`, `bsn`, `dni`, `nie`, `insee`). `ax file` (`tax file`, `Tax file`)
 * pivots on its rare `x`, `AX FILE` on `X`.
 */
const OTHER_LABELS = new LiteralGate([
  'DNI', 'NIE', 'BSN', 'CPF', 'INSEE', 'Aadhaar', 'Codice', 'Burgerservicenummer', 'ax file', 'ax File', 'AX FILE', 'TFN', 'Sécurité', 'sécurité sociale',
]);

function digitCount(text: string): number {
  let count = 0;
  for (const character of text) if (character >= '0' && character <= '9') count += 1;
  return count;
}

function validSsn(area: string, group: string, serial: string): boolean {
  const areaNumber = Number(area);
  return areaNumber !== 0 && areaNumber !== 666 && areaNumber < 900 && group !== '00' && serial !== '0000';
}

export const ssnDetector: Detector = {
  id: 'pii.ssn',
  scan(text) {
    const matches: DetectorMatch[] = [];
    const report = (start: number, end: number, serial: string): void => {
      matches.push({ detector: 'pii.ssn', level: 'confidential', reason: 'US Social Security number', start, end, excerpt: `…${serial}` });
    };
    for (const match of matchesOf(GROUPED, text)) {
      const [, area = '', , group = '', serial = ''] = match;
      const start = match.index;
      const end = start + match[0].length;
      if (/[\d.-]/.test(text[start - 1] ?? '') || /[\d-]/.test(text[end] ?? '') || (text[end] === '.' && /\d/.test(text[end + 1] ?? ''))) {
        continue;
      }
      if (validSsn(area, group, serial)) report(start, end, serial);
    }
    if (LABEL_GATE.test(text) || OTHER_LABELS.any(text)) {
      for (const match of matchesOf(LABELLED, text)) {
        const [, area = '', group = '', serial = ''] = match;
        if (!validSsn(area, group, serial)) continue;
        report(match.index + match[0].length - 9, match.index + match[0].length, serial);
      }
      for (const match of matchesOf(LABELLED_DOCUMENT, text)) {
        const value = (match.groups?.value ?? '').trim();
        if (digitCount(value) < 5) continue;
        const end = match.index + match[0].length;
        matches.push({
          detector: 'pii.national-id',
          level: 'confidential',
          reason: 'identity document or national identification number',
          start: end - value.length,
          end,
          excerpt: `…${value.replace(/\D/g, '').slice(-4)}`,
        });
      }
    }
    return matches;
  },
};
