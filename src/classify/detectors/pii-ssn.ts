import type { Detector, DetectorMatch } from '../types.js';
import { matchesOf } from '../scan.js';

/**
 * `pii.ssn`: US Social Security numbers -> confidential. `123-45-6789` or `123 45 6789`, or nine
 * digits after an `SSN` / `social security number` label (`SSN: 123456789`, `my SSN is 123456789`); never area 000, 666 or 900-999,
 * group 00 or serial 0000 (the SSA never issues those).
 */
const GROUPED = /\b(\d{3})([- ])(\d{2})\2(\d{4})\b/g;
const LABELLED = /\b(?:ssns?|social security(?: number| no\.?| #)?)[\s:#.=-]*(?:(?:is|was)\b[\s:=]*)?(\d{3})(\d{2})(\d{4})\b/gi;

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
    if (/ssn|social security/i.test(text)) {
      for (const match of matchesOf(LABELLED, text)) {
        const [, area = '', group = '', serial = ''] = match;
        if (!validSsn(area, group, serial)) continue;
        report(match.index + match[0].length - 9, match.index + match[0].length, serial);
      }
    }
    return matches;
  },
};
