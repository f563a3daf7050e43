import type { Detector, DetectorMatch } from '../types.js';
import { matchesOf } from '../scan.js';

/**
 * `pii.date-of-birth`: a date of birth -> confidential, only where a label says it is one (`DOB:
 * 1984-03-12`, `date of birth 12/03/1984`, `born on 12 March 1984`, `Geburtsdatum: 12.03.1984`,
 * `geb. 12.03.1984`, `fecha de nacimiento: 12/03/1984`, `date de naissance : 12 mars 1984`, `née
 * le 12/03/1984`, `data di nascita`, `data de nascimento`, `geboortedatum`, `data urodzenia`,
 * `födelsedatum`). Dates are everywhere (logs, changelogs, commits), so a date without a label
 * never counts, and the date must be whole and possible: a day, a month (a number or a month's
 * name in English, German, French, Spanish, Italian, Portuguese or Dutch) and a year, four digits
 * from 1900 to this year or two. `born in 1984` (a year alone) is not a date of birth.
 *
 * The dates are looked for first, then a label before each: every date has a year (`19xx`,
 * `20xx`, or two digits ending `d/m/yy`), which one expression starting with a digit finds in
 * ~0.2 ms per MB, while the labels' letters are all common ones (`b`, `d`, `n`): a pass for them
 * cost three times that. A date at the start of a line (a log's timestamp) has no label before it.
 */
const TRIGGER = /(?<!\d)(?:(?:19|20)\d\d(?!\d)|\d\d?[./-]\d\d?[./-]\d\d(?!\d))/g;

/** How far before a year its label may start (`date and place of birth: September 12th, 1984`) and after it its date may end (`1984-03-12`). */
const BEFORE = 72;
const AFTER = 6;

const LABEL =
  '(?:d\\.?o\\.?b\\.?|date\\s+(?:and\\s+place\\s+)?of\\s+birth|birth\\s*(?:date|day)|born(?:\\s+on)?|geburtsdatum|geb\\.|geboren(?:\\s+(?:am|op))?|' +
  'geboortedatum|(?:fecha|f\\.)\\s+de\\s+nacimiento|nacid[oa]\\s+el|nacimiento|date\\s+de\\s+naissance|n[ée]e?\\s+le|naissance|data\\s+di\\s+nascita|nascita|' +
  'data\\s+de\\s+nascimento|nascid[oa]\\s+em|nascimento|data\\s+urodzenia|urodzon[ya]|f[öo]delsedatum|f[öo]dd)';
/** What may stand between a label and its date: punctuation, and a word or two such as `is`, `on`, `am`. */
const FILLER = "[\\s:=#\"'(),–-]{0,6}(?:(?:is|was|am|on|the|el|le|il|em|op|de|:)[\\s:]{1,3}){0,2}";
const YEAR = '(?:19|20)\\d\\d';
const DATE =
  `(?<iso>${YEAR}[-/.]\\d{1,2}[-/.]\\d{1,2})(?!\\d)` +
  `|(?<numeric>\\d{1,2}[-/.]\\d{1,2}[-/.](?:${YEAR}|\\d\\d))(?![\\d.]\\d)(?!\\d)` +
  `|(?<dayFirst>\\d{1,2})(?:st|nd|rd|th|er|º|°)?\\.?\\s+(?:(?:de|of)\\s+)?(?<monthAfter>\\p{L}{3,10})\\.?,?\\s+(?:(?:de|del)\\s+)?(?<yearAfter>${YEAR})(?!\\d)` +
  `|(?<monthFirst>\\p{L}{3,10})\\.?\\s+(?<dayAfter>\\d{1,2})(?:st|nd|rd|th)?,?\\s+(?<yearLast>${YEAR})(?!\\d)`;
/** What every label holds, in lower case: the test each date's window gets before LABELLED_DATE (~0.2 µs, a tenth of it). */
const LABEL_STEM = /birth|born|d\.?o\.?b|geb|nac|naiss|nasc|urod|f[öo]d|n[ée]e? le/;
const LABELLED_DATE = new RegExp(`(?<![\\p{L}\\p{N}])${LABEL}(?![\\p{L}\\p{N}])${FILLER}(?<date>${DATE})`, 'giu');

/** Month names and abbreviations (lower case, accents kept and dropped) -> month number. */
const MONTHS = new Map<string, number>();
for (const [month, names] of [
  [1, 'jan january januar janvier enero ene gennaio gen janeiro januari'],
  [2, 'feb february februar février fevrier febrero febbraio fevereiro fev februari'],
  [3, 'mar march märz marz mars marzo março marco maart mrt'],
  [4, 'apr april avril abril abr aprile'],
  [5, 'may mai mayo maggio mag maio mei'],
  [6, 'jun june juni juin junio giugno giu junho'],
  [7, 'jul july juli juillet juil julio luglio lug julho'],
  [8, 'aug august août aout agosto ago augustus'],
  [9, 'sep sept september septembre septiembre settembre set setembro'],
  [10, 'oct october oktober okt octobre octubre ottobre ott outubro out'],
  [11, 'nov november novembre noviembre novembro'],
  [12, 'dec december dezember dez décembre decembre diciembre dic dicembre dezembro'],
] as const) {
  for (const name of names.split(' ')) MONTHS.set(name, month);
}

function plausible(day: number, month: number, year: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && year <= new Date().getUTCFullYear();
}

/** Whether the date a LABELLED_DATE match captured is one a person could have been born on. */
function possibleDate(groups: Record<string, string | undefined>): boolean {
  if (groups.iso !== undefined) {
    const [year = 0, month = 0, day = 0] = groups.iso.split(/[-/.]/).map(Number);
    return plausible(day, month, year);
  }
  if (groups.numeric !== undefined) {
    const [first = 0, second = 0, last = ''] = groups.numeric.split(/[-/.]/).map((part, index) => (index < 2 ? Number(part) : part)) as [number, number, string];
    const year = last.length === 4 ? Number(last) : 0;
    // Day first or month first: either reading will do.
    return plausible(first, second, year) || plausible(second, first, year);
  }
  const monthName = (groups.monthAfter ?? groups.monthFirst ?? '').toLowerCase();
  const month = MONTHS.get(monthName) ?? 0;
  const day = Number(groups.dayFirst ?? groups.dayAfter ?? 0);
  return plausible(day, month, Number(groups.yearAfter ?? groups.yearLast ?? 0));
}

/** Whether `at` starts a word (`adobe`, `rebirth`, `stubborn` and `Ergebnis` hold no label). */
function startsWord(text: string, at: number): boolean {
  return at === 0 || !/[\p{L}\p{N}]/u.test(text[at - 1] as string);
}

/**
 * How many dates are each read for a label before them (~0.5 µs each): 64 and one per 1 300
 * characters, past which (JSON records, logs) the text is read for labelled dates in one pass.
 */
const DATE_WINDOWS = 64;

export const dateOfBirthDetector: Detector = {
  id: 'pii.date-of-birth',
  scan(text) {
    const matches: DetectorMatch[] = [];
    const starts = new Set<number>();
    const add = (window: string, from: number): void => {
      for (const match of matchesOf(LABELLED_DATE, window)) {
        const date = match.groups?.date ?? '';
        // A window may start inside a word: the label must start one in the text.
        if (date === '' || !startsWord(text, from + match.index) || !possibleDate(match.groups ?? {})) continue;
        const end = from + match.index + match[0].length;
        const start = end - date.length;
        // Years near each other read the same date.
        if (starts.has(start)) continue;
        starts.add(start);
        matches.push({ detector: 'pii.date-of-birth', level: 'confidential', reason: 'date of birth (labelled)', start, end, excerpt: '…' });
      }
    };
    const windows = DATE_WINDOWS + text.length / 1300;
    let dates = 0;
    for (const trigger of matchesOf(TRIGGER, text)) {
      const at = trigger.index;
      if (at === 0 || text[at - 1] === '\n') continue;
      dates += 1;
      if (dates > windows) break;
      const from = Math.max(0, at - BEFORE);
      const window = text.slice(from, at + trigger[0].length + AFTER);
      // A cheap look for a label's stem first.
      if (LABEL_STEM.test(window.toLowerCase())) add(window, from);
    }
    if (dates > windows) {
      matches.length = 0;
      starts.clear();
      add(text, 0);
    }
    return matches;
  },
};
