import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';
import { BUILT_IN_DETECTORS } from '../../../src/classify/detectors/index.js';
import { compactJsonRecords, csvRecords, jsonRecords, logLines, pythonJsonRecords } from '../../../bench/record-shaped.js';

/**
 * The classifier's cost grows in proportion to the text, however many matches it holds. A text of
 * records (a JSON or CSV export, a log) holds thousands of phone numbers, e-mail addresses and
 * dates; a detector that compared each match with every one found before it, or read back to the
 * text's start for each, made 0.7 MB of JSON records take 1.3 s (and overrun the time budget).
 *
 * No wall-clock bound (the machine is shared): each detector's CPU time on N and on 4N records is
 * compared, relative to each other. Linear is 4; quadratic is 16, or ~10 where the linear work
 * still weighs (~13 for pii.phone's old overlap check at these sizes); 8 leaves room for noise and
 * for a larger heap's collections. The least of a few runs is taken, a stolen core only ever adding
 * time; on a loaded machine even that varies by a factor of two, so a ratio at or above the limit
 * is measured again, up to ATTEMPTS times: a super-linear detector exceeds it every time.
 */

const OPTIONS = { indicatorWords: ['password', 'credential', 'screenshot', 'camera'], patterns: [{ name: 'project-falcon', level: 'confidential' as const, keywords: ['Project Falcon'] }] };
const CONTEXT = { indicatorWords: OPTIONS.indicatorWords, patterns: OPTIONS.patterns };
const SMALL = 2000;
const GROWTH = 4;
const LIMIT = 8;
const RUNS = 5;
const ATTEMPTS = 3;

function leastCpuMs(work: () => unknown): number {
  work();
  let least = Number.POSITIVE_INFINITY;
  for (let run = 0; run < RUNS; run += 1) {
    const started = process.cpuUsage();
    work();
    const used = process.cpuUsage(started);
    least = Math.min(least, (used.user + used.system) / 1000);
  }
  return least;
}

/** Labelled values on every row: a `dni` column (pii.national-id), bracketed addresses with ports (network), labelled dates of birth. */
function labelledRows(count: number): string {
  const rows: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const number = 10_000_000 + index * 37;
    rows.push(`{"dni": "${number}${'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23] as string}", "up": "[${index}]: http://[fd00::${index.toString(16)}]:8080/", "dob": "19${60 + (index % 40)}-0${1 + (index % 9)}-1${index % 10}"}`);
  }
  return rows.join('');
}

const INPUTS: [string, (count: number) => string][] = [
  ['JSON records, one a line', jsonRecords],
  ['JSON records on one line', compactJsonRecords],
  ['JSON records as Python writes them', pythonJsonRecords],
  ['CSV records', csvRecords],
  ['log lines', logLines],
  ['labelled ids, addresses and dates on one line', labelledRows],
];

describe('classifier cost on record-shaped texts', () => {
  it.each(INPUTS)('each detector and the whole classification grow linearly with the records: %s', (_label, make) => {
    const small = make(SMALL);
    const large = make(SMALL * GROWTH);
    const ratios: Record<string, number> = {};
    const measure = (name: string, scan: (text: string) => unknown): void => {
      for (let attempt = 0; attempt < ATTEMPTS && (ratios[name] ?? LIMIT) >= LIMIT; attempt += 1) {
        ratios[name] = leastCpuMs(() => scan(large)) / Math.max(leastCpuMs(() => scan(small)), 0.05);
      }
    };
    for (const detector of BUILT_IN_DETECTORS) measure(detector.id, (text) => detector.scan(text, CONTEXT));
    // The views (folded, decoded) and the deduplication of their matches; no time budget, which the old code overran.
    measure('classifyText', (text) => classifyText(text, { ...OPTIONS, timeoutMs: 1e9 }));
    const superLinear = Object.entries(ratios).filter(([, ratio]) => ratio >= LIMIT);
    expect(superLinear, `CPU time on ${GROWTH}x the records, relative: ${JSON.stringify(ratios, (_key, value: unknown) => (typeof value === 'number' ? Number(value.toFixed(1)) : value))}`).toEqual([]);
    // And it finds what the records hold, so the test measures the work it means to.
    expect(classifyText(small, OPTIONS).findings.length).toBeGreaterThan(SMALL / 2);
  });
});
