import { lintSource } from '@secretlint/core';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';

/**
 * The classifier runs secretlint's preset-recommend patterns synchronously (see
 * src/classify/detectors/secrets.ts). This checks, on the labelled corpus plus extra secret
 * shapes, that whatever secretlint itself reports is classified restricted here.
 */
const corpus = readFileSync(resolve(import.meta.dirname, '../../fixtures/classify/cases.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as { id: string; text: string });

const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommendedPreset }] };

async function secretlintFindings(text: string): Promise<string[]> {
  const result = await lintSource({
    source: { content: text, filePath: '/prompt.txt', ext: '.txt', contentType: 'text' },
    options: { config, maskSecrets: true, noPhysicFilePath: true },
  });
  return result.messages.map((message) => message.ruleId);
}

describe('parity with secretlint preset-recommend', () => {
  it('every corpus text secretlint reports is restricted here (and secretlint reports enough of them)', async () => {
    const flagged: string[] = [];
    const missed: { id: string; rules: string[]; level: string }[] = [];
    for (const labelled of corpus) {
      const rules = await secretlintFindings(labelled.text);
      if (rules.length === 0) continue;
      flagged.push(labelled.id);
      const { level } = classifyText(labelled.text, { indicatorWords: [], patterns: [] });
      if (level !== 'restricted') missed.push({ id: labelled.id, rules, level });
    }
    expect(missed).toEqual([]);
    expect(flagged.length).toBeGreaterThanOrEqual(20);
  });
});
