import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';
import { sensitivityRank, type SensitivityLevel } from '../../../src/common/vocabulary.js';
import type { OperatorPattern } from '../../../src/policy/types.js';

/** One labelled case of test/fixtures/classify/cases.jsonl. */
interface LabelledCase {
  id: string;
  text: string;
  level: SensitivityLevel;
  /** Detector ids that must each report at least one finding. */
  detectors: string[];
  /** Detector ids that must NOT report (look-alikes). */
  absent?: string[];
  note?: string;
}

const CASES: LabelledCase[] = readFileSync(resolve(import.meta.dirname, '../../fixtures/classify/cases.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as LabelledCase);

/** The operator patterns the `operator-*` cases are labelled against. */
export const CASE_PATTERNS: OperatorPattern[] = [
  { name: 'project-falcon', level: 'confidential', keywords: ['Project Falcon'] },
  { name: 'falcon-tickets', level: 'restricted', regex: '\\bFALCON-\\d{3,}\\b', caseSensitive: true },
  { name: 'acme-roadmap', level: 'internal', keywords: ['Acme roadmap'] },
  { name: 'client-muller', level: 'restricted', keywords: ['Müller GmbH'] },
  { name: 'zurich-deals', level: 'confidential', regex: 'Zürich-\\d{4}' },
];
const OPTIONS = { indicatorWords: ['password', 'credential', 'screenshot', 'camera'], patterns: CASE_PATTERNS };

describe('labelled classifier corpus', () => {
  it('has at least 150 cases, positives and negatives at every level the detectors produce', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(150);
    const byLevel = (level: SensitivityLevel): number => CASES.filter((labelled) => labelled.level === level).length;
    expect(byLevel('restricted')).toBeGreaterThanOrEqual(40);
    expect(byLevel('confidential')).toBeGreaterThanOrEqual(40);
    expect(byLevel('public')).toBeGreaterThanOrEqual(50);
    expect(byLevel('internal')).toBeGreaterThanOrEqual(1);
    expect(new Set(CASES.map((labelled) => labelled.id)).size).toBe(CASES.length);
  });

  it.each(CASES)('$id -> $level', (labelled) => {
    const result = classifyText(labelled.text, OPTIONS);
    const found = new Set(result.findings.map((finding) => finding.detector));
    expect(result.failedClosed).toBe(false);
    expect({ level: result.level, findings: [...found].sort() }).toMatchObject({ level: labelled.level });
    for (const detector of labelled.detectors) expect([...found], `expected detector ${detector}`).toContain(detector);
    for (const detector of labelled.absent ?? []) expect([...found], `unexpected detector ${detector}`).not.toContain(detector);
    if (labelled.level === 'public') expect(result.findings).toEqual([]);
    for (const finding of result.findings) {
      expect(finding.location).toBe('text');
      expect(finding.span.start).toBeGreaterThanOrEqual(0);
      expect(finding.span.end).toBeGreaterThanOrEqual(finding.span.start);
      expect(finding.span.end).toBeLessThanOrEqual(labelled.text.length);
      const matched = labelled.text.slice(finding.span.start, finding.span.end);
      const sensitiveData = /^(?:secret|credential|pii|path)\./.test(finding.detector) || (finding.detector === 'operator.pattern' && sensitivityRank(finding.level) >= sensitivityRank('confidential'));
      if (sensitiveData && matched.length >= 6) {
        // The excerpt of a secret, credential, personal datum, home path or confidential operator match never carries the whole value.
        expect(finding.excerpt).not.toContain(matched);
      }
      if ((/^secret\./.test(finding.detector) && finding.detector !== 'secret.private-key') || finding.detector === 'pii.iban') {
        // Secret-like values show at most a quarter of themselves (maskSecret), IBANs included; a
        // private key's excerpt is its BEGIN line, a label rather than any of the key.
        const shown = finding.excerpt.replace(/…/g, '').length;
        expect(shown, finding.excerpt).toBeLessThanOrEqual(matched.replace(/\s/g, '').length / 4);
      }
    }
  });
});
