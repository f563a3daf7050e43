import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';

/**
 * `pii.date-of-birth`: a date with a label that says it is a date of birth, in the languages the
 * detector reads, is personal data (confidential); a date without such a label, a label without a
 * whole date, and a date no one alive was born on are not.
 */

const OPTIONS = { indicatorWords: [], patterns: [] };

function datesOfBirth(text: string): string[] {
  const result = classifyText(text, OPTIONS);
  expect(result.failedClosed).toBe(false);
  return result.findings.filter((finding) => finding.detector === 'pii.date-of-birth').map((finding) => text.slice(finding.span.start, finding.span.end));
}

describe('labelled dates of birth', () => {
  it.each([
    ['DOB: 1984-03-12', '1984-03-12'],
    ['Patient D.O.B. 03/12/1984, seen today', '03/12/1984'],
    ['my dob is 12/03/84', '12/03/84'],
    ['date of birth 12/03/1984', '12/03/1984'],
    ['Date of Birth: March 12, 1984', 'March 12, 1984'],
    ['birthdate=1984-03-12', '1984-03-12'],
    ['She was born on 12 March 1984 in Leeds.', '12 March 1984'],
    ['born on the 12th of March 1984', '12th of March 1984'],
    ['Geburtsdatum: 12.03.1984', '12.03.1984'],
    ['Max Mustermann, geb. 12.03.1984', '12.03.1984'],
    ['geboren am 12. März 1984', '12. März 1984'],
    ['fecha de nacimiento: 12/03/1984', '12/03/1984'],
    ['Fecha de nacimiento 12 de marzo de 1984', '12 de marzo de 1984'],
    ['date de naissance : 12 mars 1984', '12 mars 1984'],
    ['née le 12/03/1984 à Lyon', '12/03/1984'],
    ['data di nascita 12/03/1984', '12/03/1984'],
    ['data de nascimento: 12/03/1984', '12/03/1984'],
    ['geboortedatum 12-03-1984', '12-03-1984'],
    ['data urodzenia: 12.03.1984', '12.03.1984'],
    ['födelsedatum 1984-03-12', '1984-03-12'],
    ['{"name": "Jane Roe", "dob": "1984-03-12"}', '1984-03-12'],
    ['DATE OF BIRTH: 12/03/1984', '12/03/1984'],
  ])('%s', (text, date) => {
    expect(datesOfBirth(text)).toEqual([date]);
    const result = classifyText(text, OPTIONS);
    expect(result.level).toBe('confidential');
    const finding = result.findings.find((candidate) => candidate.detector === 'pii.date-of-birth');
    expect(finding?.reason).toBe('date of birth (labelled)');
    // Nothing of the date is shown.
    expect(finding?.excerpt).toBe('…');
  });

  it.each([
    ['a bare date', 'released on 1984-03-12, see the changelog of 12/03/1984'],
    ['a log timestamp', '2026-12-07T00:21:27Z INFO started'],
    ['a year alone after born', 'born in 1984 and raised in Leeds'],
    ['a month and year after born', 'born in March 1984'],
    ['a date in the future', 'date of birth: 2099-01-01'],
    ['a month that does not exist', 'DOB: 1984-13-45'],
    ['a day that does not exist', 'date of birth 32/13/1984'],
    ['a label inside a word', 'Adobe 2024-03-12, rebirth 1984-03-12, stubborn 1984-03-12, Ergebnis 12.03.1984'],
    ['a birth word away from the date', 'the birth of the project, on 2019-05-01, was quiet'],
    ['a label and a placeholder', 'DOB: YYYY-MM-DD (for example in the form)'],
    ['a label and a version number', 'born on 12.03.84.1 builds'],
    ['a word of the month list that is no month', 'born on 12 Marshes 1984'],
  ])('not a date of birth: %s', (_name, text) => {
    expect(datesOfBirth(text)).toEqual([]);
  });

  it('reports each date once, whatever labels read it', () => {
    expect(datesOfBirth('Date of birth (DOB, birthdate): 1984-03-12')).toEqual(['1984-03-12']);
    expect(datesOfBirth('DOB 1984-03-12; spouse DOB 1986-07-01')).toEqual(['1984-03-12', '1986-07-01']);
  });

  it('finds a labelled date among thousands of unlabelled ones (JSON records, logs), read in one pass there', () => {
    const records = Array.from({ length: 3000 }, (_, index) => `{"id": ${index}, "created": "2024-0${1 + (index % 9)}-1${index % 9}"}`);
    const text = `[${records.join(', ')}, {"id": 3000, "dob": "1984-03-12"}]`;
    expect(datesOfBirth(text)).toEqual(['1984-03-12']);
    expect(datesOfBirth(text.replace('"dob"', '"due"'))).toEqual([]);
  });
});
