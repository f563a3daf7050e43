import type { Detector, DetectorMatch } from '../types.js';
import { LiteralGate, matchesOf, SpanIndex } from '../scan.js';

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
 * fiscale`, `BSN`, `Aadhaar`, `CPF`, `Steuer-ID`, `NIR`, `numéro de sécurité sociale`, `PESEL`,
 * `personnummer`, `social insurance number`, `tax file number`): their shapes differ by country,
 * so the label is required and the value must carry at least five digits. The span is the value
 * alone: a verb between label and value (`is`, `es`, `est`, `ist`, `è`, `är`, `jest`, ...) or a
 * word of small letters before it is not part of it. Reported as `pii.national-id`.
 */
const LABELLED_DOCUMENT =
  /(?<![\p{L}\p{N}])(?:passport|national[ -]?(?:id|identity|identification|insurance)|driv(?:er'?s?|ing)[ -]?licen[cs]e|ni(?:no| number)|dni|nie|nir|codice fiscale|bsn|burgerservicenummer|aadhaar|cpf|steuer-?id|steueridentifikationsnummer|(?:num[ée]ro de )?s[ée]curit[ée] sociale|insee|pesel|personnummer|social insurance(?: number)?|tax file number)(?![\p{L}\p{N}])(?:\s*(?:number|no\.?|num|n[°º]|nr\.?|#))?\s*(?:(?:is|was|es|era|est|ist|è|é|är|er|jest)(?=\s)|=|:|#)?\s*(?<value>[A-Z0-9][A-Z0-9 ./-]{4,22}[A-Z0-9])\b/giu;

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
  'DNI', 'NIE', 'NIR', 'BSN', 'CPF', 'INSEE', 'Aadhaar', 'Codice', 'Burgerservicenummer', 'ax file', 'ax File', 'AX FILE', 'TFN', 'Sécurité', 'sécurité sociale',
]);

/**
 * The labels OTHER_LABELS leaves out in lower case (`cpf`, `dni`, `nie`, `nir`, `bsn`, `codice
 * fiscale`). Short and lower-case, some are words too (Polish `nie` "not" and `dni` "days"), so
 * after one of them the value counts only in its id's exact shape and with its check digits right:
 * CPF (two mod-11 digits), DNI/NIE (the mod-23 letter), BSN (the 11-test), NIR (the mod-97 key),
 * codice fiscale (the check letter).
 *
 * The values are found first, then a label before each: their letters are common ones, and an
 * expression for the labels cost ~0.6 ms per MB, one for what every value holds (six digits or
 * more in up to three groups, `123.45.6`) a fifth of that. A codice fiscale holds no such run: its
 * two words are found by `fiscal` (a search for its `f`, ~0.1 ms per MB).
 */
const VALUE_DIGITS = /\d{3}[. -]?\d{2,3}[. -]?\d/g;
/** How far before the digits a value found its label may be (`nir : 1 84 12 75 123…`, `il mio codice fiscale è RSSMRA…`). */
const LABEL_REACH = 48;
/**
 * How many runs of digits are each read for a label before them (~0.5 µs each): 64 and one per
 * 1 300 characters, past which the text is read for the labels once instead (~0.6 ms per MB);
 * 150 000 numbers read one by one took 120 ms per MB.
 */
const LABEL_WINDOWS = 64;
const ANY_LOWER_CASE_LABEL = /cpf|dni|ni[er]|bsn/;
const LOWER_CASE_LABEL = /(?<![\p{L}\p{N}])(?:cpf|dni|ni[er]|bsn)(?![\p{L}\p{N}])/gu;
const LABEL_TO_VALUE = /(?:\s*(?:number|n(?:[uú]mero|o\.?|r\.?|[°º])|#))?\s*(?:is|was|es|est|ist|è|é|=|:|#)?[\s:]*/iy;
const CHECKED_VALUES: Record<string, { shape: RegExp; valid: (value: string) => boolean }> = {
  cpf: { shape: /\d{3}\.?\d{3}\.?\d{3}[-./ ]?\d{2}(?![\p{L}\p{N}_-])/uy, valid: validCpf },
  dni: { shape: /(?:\d{8}|[XYZ]-?\d{7})[- ]?[A-Z](?![\p{L}\p{N}_-])/iuy, valid: validDniOrNie },
  nie: { shape: /(?:\d{8}|[XYZ]-?\d{7})[- ]?[A-Z](?![\p{L}\p{N}_-])/iuy, valid: validDniOrNie },
  bsn: { shape: /(?:\d{4}\.\d{2}\.\d{3}|\d{8,9})(?![\p{L}\p{N}_-])/uy, valid: validBsn },
  nir: { shape: /[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\p{L}\p{N}_-])/iuy, valid: validNir },
  'codice fiscale': { shape: /[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z](?![\p{L}\p{N}_-])/iuy, valid: validCodiceFiscale },
};

function digitsOf(value: string): number[] {
  return [...value.replace(/\D/g, '')].map(Number);
}

/** Brazil's CPF: eleven digits, the last two mod-11 check digits of those before; never one digit repeated. */
export function validCpf(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 11 || digits.every((digit) => digit === digits[0])) return false;
  for (const length of [9, 10]) {
    let sum = 0;
    for (let index = 0; index < length; index += 1) sum += (digits[index] as number) * (length + 1 - index);
    if (((sum * 10) % 11) % 10 !== digits[length]) return false;
  }
  return true;
}

/** Spain's DNI (eight digits and a letter) or NIE (X, Y or Z, seven digits and a letter): the letter is the number mod 23. */
export function validDniOrNie(value: string): boolean {
  const compact = value.replace(/[- ]/g, '').toUpperCase();
  const number = Number(compact.slice(0, -1).replace(/^X/, '0').replace(/^Y/, '1').replace(/^Z/, '2'));
  return 'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23] === compact.slice(-1);
}

/** The Netherlands' BSN: nine digits (eight: a leading 0 dropped) passing the 11-test. */
export function validBsn(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length === 8) digits.unshift(0);
  if (digits.length !== 9 || digits.every((digit) => digit === 0)) return false;
  let sum = -(digits[8] as number);
  for (let index = 0; index < 8; index += 1) sum += (digits[index] as number) * (9 - index);
  return sum % 11 === 0;
}

/** France's NIR (numéro de sécurité sociale): thirteen characters (Corsica's 2A/2B) and a key, 97 minus them mod 97. */
export function validNir(value: string): boolean {
  const compact = value.replace(/ /g, '').toUpperCase();
  const body = compact.slice(0, 13).replace('2A', '19').replace('2B', '18');
  if (!/^\d{13}$/.test(body)) return false;
  let remainder = 0;
  for (const digit of body) remainder = (remainder * 10 + Number(digit)) % 97;
  return 97 - remainder === Number(compact.slice(13));
}

const CODICE_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/** Italy's codice fiscale: fifteen characters and a check letter, from their values at odd and even places. */
export function validCodiceFiscale(value: string): boolean {
  const code = value.toUpperCase();
  let sum = 0;
  for (let index = 0; index < 15; index += 1) {
    const character = code.charCodeAt(index);
    const ordinal = character <= 57 ? character - 48 : character - 65;
    sum += index % 2 === 0 ? (CODICE_ODD[ordinal] as number) : ordinal;
  }
  return String.fromCharCode(65 + (sum % 26)) === code[15];
}

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
        const raw = match.groups?.value ?? '';
        const { value, skipped } = idAlone(raw);
        if (digitCount(value) < 5) continue;
        const start = match.index + match[0].length - raw.length + skipped;
        matches.push(nationalId(start, start + value.length, value));
      }
    }
    const labels: { end: number; label: string }[] = [];
    const windows = LABEL_WINDOWS + text.length / 1300;
    let runs = 0;
    for (const found of matchesOf(VALUE_DIGITS, text)) {
      runs += 1;
      if (runs > windows) break;
      const from = Math.max(0, found.index - LABEL_REACH);
      const before = text.slice(from, found.index);
      if (!ANY_LOWER_CASE_LABEL.test(before)) continue;
      for (const label of matchesOf(LOWER_CASE_LABEL, before)) labels.push({ end: from + label.index + label[0].length, label: label[0] });
    }
    // Text full of numbers (logs, data, tokenizer tables): one pass for the labels instead.
    if (runs > windows) {
      labels.length = 0;
      for (const label of matchesOf(LOWER_CASE_LABEL, text)) labels.push({ end: label.index + label[0].length, label: label[0] });
    }
    for (let at = text.indexOf('fiscal'); at !== -1; at = text.indexOf('fiscal', at + 1)) {
      if (text.startsWith('codice fiscale', at - 7) && !/[\p{L}\p{N}]/u.test(text[at - 8] ?? '')) labels.push({ end: at + 7, label: 'codice fiscale' });
    }
    // Indexed: a table of ids (a `dni` column) has a label and a value on every row.
    const nationalIds = new SpanIndex<DetectorMatch>();
    for (const known of matches) if (known.detector === 'pii.national-id') nationalIds.add(known);
    for (const { end, label } of labels) {
      const labelled = checkedValue(text, end, label);
      if (labelled === undefined || nationalIds.overlaps(labelled.start, labelled.end)) continue;
      const found = nationalId(labelled.start, labelled.end, labelled.value, `${label}, check ${label === 'dni' || label === 'nie' ? 'letter' : 'digits'} right`);
      matches.push(found);
      nationalIds.add(found);
    }
    return matches;
  },
};

/** The value after a lower-case label ending at `labelEnd`, when it has its id's shape and check digits. */
function checkedValue(text: string, labelEnd: number, label: string): { start: number; end: number; value: string } | undefined {
  LABEL_TO_VALUE.lastIndex = labelEnd;
  const start = labelEnd + (LABEL_TO_VALUE.exec(text)?.[0].length ?? 0);
  const checked = CHECKED_VALUES[label] as (typeof CHECKED_VALUES)[string];
  checked.shape.lastIndex = start;
  const value = checked.shape.exec(text)?.[0];
  return value === undefined || !checked.valid(value) ? undefined : { start, end: start + value.length, value };
}

/**
 * The id in a value read after its label, without the words of small letters around it: the verb
 * of a language the label's list does not name (`steuer-id lautet 12 345 678 901`) and the prose
 * after it (`DNI es 12345678Z y ya está`) are not part of the id. A value in capitals (`QQ 12 34
 * 56 C`, a NINO) keeps its letters. `skipped`: how many characters were dropped before it.
 */
function idAlone(raw: string): { value: string; skipped: number } {
  const leading = /^[a-z]+ (?=.*\d)/.exec(raw)?.[0].length ?? 0;
  const value = raw.slice(leading).replace(/(?: [a-z]+)+$/, '').trim();
  return { value, skipped: leading };
}

function nationalId(start: number, end: number, value: string, checked?: string): DetectorMatch {
  return {
    detector: 'pii.national-id',
    level: 'confidential',
    reason: `identity document or national identification number${checked === undefined ? '' : ` (${checked})`}`,
    start,
    end,
    excerpt: `…${value.replace(/\D/g, '').slice(-4)}`,
  };
}
