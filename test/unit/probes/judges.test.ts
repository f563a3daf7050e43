import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import {
  chooseStopSequence,
  judgeContextWindow,
  judgeJsonTrials,
  judgeSeedControl,
  judgeStopSequence,
  judgeTokenAccounting,
  plausibleTokenCounts,
  type TokenSample,
} from '../../../src/probes/judges.js';
import { worstVerdict } from '../../../src/probes/types.js';

const estimate = (text: string): number => (text === '' ? 0 : countTokens(text));
const prompt = 'Name the capital of France in one short sentence.';
const sample = (inputTokens: number, outputTokens: number, outputText = 'Paris is the capital of France.'): TokenSample => ({
  usage: { inputTokens, outputTokens },
  promptText: prompt,
  messageCount: 1,
  outputText,
  maxTokens: 24,
});

describe('token accounting', () => {
  it('exact when usage is plausible and stable across identical requests', () => {
    const judgement = judgeTokenAccounting(sample(18, 7), sample(18, 7), [], estimate);
    expect(judgement.observed).toBe('exact');
    expect(judgement.checks.map((check) => check.verdict)).toEqual(['pass', 'pass', 'pass']);
  });

  it('not_available without usage: an undeclared approximate_token_counts, or declared', () => {
    const missing = { ...sample(0, 0), usage: undefined };
    expect(judgeTokenAccounting(missing, undefined, [], estimate)).toMatchObject({ observed: 'not_available', checks: [{ verdict: 'deviation', deviation: 'approximate_token_counts' }] });
    expect(judgeTokenAccounting(missing, undefined, ['approximate_token_counts'], estimate).checks[0]?.verdict).toBe('declared');
  });

  it('approximate when the prompt count changes between identical requests (cache hits left out)', () => {
    const judgement = judgeTokenAccounting(sample(18, 7), sample(2, 7), [], estimate);
    expect(judgement.observed).toBe('approximate');
    expect(judgement.checks.find((check) => check.name === 'token-accounting.stable')).toMatchObject({ verdict: 'deviation', detail: expect.stringContaining('18 then 2') });
  });

  it('plausibility bounds hold for compact and byte-level tokenizers alike, and reject impossible counts', () => {
    const bytes = Buffer.byteLength(prompt);
    expect(plausibleTokenCounts(sample(bytes + 20, 7), estimate).plausible).toBe(true); // a byte-level tokenizer plus a template
    expect(plausibleTokenCounts(sample(Math.ceil(estimate(prompt) * 0.6), 7), estimate).plausible).toBe(true);
    expect(plausibleTokenCounts(sample(1, 7), estimate)).toMatchObject({ plausible: false, detail: expect.stringContaining('prompt_tokens 1') });
    expect(plausibleTokenCounts(sample(bytes + 500, 7), estimate).plausible).toBe(false);
    expect(plausibleTokenCounts(sample(18, 0), estimate)).toMatchObject({ plausible: false, detail: expect.stringContaining('completion_tokens 0') });
    expect(plausibleTokenCounts(sample(18, 40), estimate)).toMatchObject({ plausible: false, detail: expect.stringContaining('..25') });
    expect(plausibleTokenCounts(sample(18, 0, ''), estimate).plausible).toBe(true);
  });
});

describe('JSON mode', () => {
  it('all deciding trials parse: pass; one prose answer: weak_json_adherence', () => {
    const good = judgeJsonTrials(
      [
        { format: 'json_schema', text: '{"city":"Paris","country":"France"}', requiredKeys: ['city', 'country'] },
        { format: 'json_object', text: '{"answer":"Paris"}' },
      ],
      [],
    );
    expect(good).toMatchObject({ parsed: 2, decided: 2, verdict: 'pass' });
    const bad = judgeJsonTrials([{ format: 'json_schema', text: 'Paris is the capital.' }, { format: 'json_object', text: '{}' }], []);
    expect(bad).toMatchObject({ parsed: 1, decided: 2, verdict: 'deviation' });
    expect(judgeJsonTrials([{ format: 'json_schema', text: 'Paris.' }], ['weak_json_adherence']).verdict).toBe('declared');
  });

  it('a refusal counts against adherence; a trial cut off by max_tokens, or without an answer for any other reason, decides nothing', () => {
    expect(judgeJsonTrials([{ format: 'json_object', refusal: 'HTTP 400' }], [])).toMatchObject({ decided: 1, verdict: 'deviation' });
    const unanswered = judgeJsonTrials([{ format: 'json_schema', unanswered: 'the answer did not decode' }, { format: 'json_object', unanswered: 'reset' }], []);
    expect(unanswered).toMatchObject({ decided: 0, verdict: 'inconclusive' });
    expect(unanswered.checks.map((check) => check.verdict)).toEqual(['inconclusive', 'inconclusive']);
    expect(unanswered.checks.some((check) => check.deviation !== undefined)).toBe(false);
    expect(judgeJsonTrials([{ format: 'json_object', text: '{"answer": "Par', finishReason: 'length' }], [])).toMatchObject({ decided: 0, verdict: 'inconclusive' });
  });

  it('valid JSON missing the schema keys, or wrapped in a fence, is weak adherence', () => {
    expect(judgeJsonTrials([{ format: 'json_schema', text: '{"city":"Paris"}', requiredKeys: ['city', 'country'] }], []).checks[0]?.detail).toContain('country is missing');
    expect(judgeJsonTrials([{ format: 'json_object', text: '```json\n{}\n```' }], []).checks[0]?.detail).toContain('Markdown fence');
  });
});

describe('seed control', () => {
  it('identical pairs pass; a differing pair is unsupported_seed_control', () => {
    const same = judgeSeedControl([{ temperature: 0, texts: ['a', 'a'], evidenceIds: [] }, { temperature: 0.8, texts: ['b', 'b'], evidenceIds: [] }], undefined, []);
    expect(same.checks.map((check) => check.verdict)).toEqual(['pass', 'pass']);
    expect(same.observed).toBe('t=0 identical, t=0.8 identical');
    const differs = judgeSeedControl([{ temperature: 0.8, texts: ['b', 'c'], evidenceIds: [] }], undefined, []);
    expect(differs.checks[0]).toMatchObject({ verdict: 'deviation', deviation: 'unsupported_seed_control' });
  });

  it('a wire without seeds is unsupported whatever the texts say', () => {
    const judgement = judgeSeedControl([{ temperature: 0.8, texts: ['b', 'b'], evidenceIds: [] }], 'the anthropic wire has no seed', []);
    expect(judgement.checks[0]).toMatchObject({ name: 'seed-control.wire', verdict: 'deviation' });
    expect(worstVerdict(judgement.checks.map((check) => check.verdict))).toBe('deviation');
  });

  it('a missing answer is inconclusive', () => {
    expect(judgeSeedControl([{ temperature: 0, texts: ['a', undefined], evidenceIds: [] }], undefined, []).checks[0]?.verdict).toBe('inconclusive');
  });
});

describe('context window', () => {
  it('equal or conservative passes; more than the engine gives fails with the fix', () => {
    expect(judgeContextWindow(4096, { source: 'llama.cpp GET /props n_ctx', contextWindow: 4096 }).checks[0]?.verdict).toBe('pass');
    expect(judgeContextWindow(2048, { source: 's', contextWindow: 4096 }).checks[0]?.verdict).toBe('pass');
    expect(judgeContextWindow(8192, { source: 's', contextWindow: 4096 }).checks[0]).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('set contextWindow: 4096') });
  });

  it('a smaller loaded context warns; nothing reported is skipped or inconclusive', () => {
    const loaded = judgeContextWindow(131072, { source: 's', contextWindow: 131072, loadedContext: 4096 });
    expect(loaded.checks.map((check) => check.verdict)).toEqual(['pass', 'warn']);
    expect(loaded.observed).toBe('131072 (loaded 4096)');
    expect(judgeContextWindow(4096, undefined, 'hosted').checks[0]?.verdict).toBe('skipped');
    expect(judgeContextWindow(4096, { source: 's' }).checks[0]?.verdict).toBe('inconclusive');
  });
});

describe('stop sequences', () => {
  it('chooses a word from the middle of the baseline, never its start', () => {
    expect(chooseStopSequence('Paris is the capital of France.')).toBe('capital');
    expect(chooseStopSequence('ok')).toBeUndefined();
    const gibberish = 'xq!!zzv##';
    const stop = chooseStopSequence(gibberish);
    expect(stop === undefined || gibberish.indexOf(stop) > 0).toBe(true);
  });

  it('honoured when the answer is the baseline cut before the stop', () => {
    expect(judgeStopSequence('Paris is the capital of France.', 'capital', 'Paris is the ').verdict).toBe('pass');
    expect(judgeStopSequence('Paris is the capital of France.', 'capital', 'Paris is the capital of France.').verdict).toBe('fail');
    expect(judgeStopSequence('Paris is the capital of France.', 'capital', 'Lyon is a city.').verdict).toBe('inconclusive');
    expect(judgeStopSequence('Paris is the capital of France.', 'capital', undefined, 'HTTP 500').detail).toContain('HTTP 500');
  });
});
