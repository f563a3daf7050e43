import type { Deviation } from '../common/vocabulary.js';
import type { Usage } from '../wire/canonical.js';
import type { EngineContextReport } from './engine-context.js';
import type { ProbeCheck, ProbeVerdict } from './types.js';
import { deviationVerdict, isJsonObject } from './wire-checks.js';

/**
 * The verdict rules of the capability probes, as pure functions of what the probes saw, so
 * each rule is unit-tested without an engine. Thresholds are deliberately generous: a verdict
 * must hold for any tokenizer and any model, including a tiny test model that writes gibberish.
 */

// ------------------------------------------------------------------ token accounting

/** One answer's view for the token-accounting rules. */
export interface TokenSample {
  /** Usage as the upstream reported it; undefined when it sent none. */
  usage: Usage | undefined;
  /** Every text the prompt carried (system and messages), joined. */
  promptText: string;
  /** Number of messages (chat templates add a few tokens per message). */
  messageCount: number;
  outputText: string;
  maxTokens: number | undefined;
}

export type TokenAccountingObservation = 'exact' | 'approximate' | 'not_available';

export interface TokenAccountingJudgement {
  observed: TokenAccountingObservation;
  checks: ProbeCheck[];
}

/**
 * Bounds any real tokenizer respects: no model needs fewer than half the tokens of o200k (one of
 * the most compact vocabularies), and none needs more than one token per UTF-8 byte plus its
 * chat template (byte-level BPE and byte fallback). Output counts cannot exceed `max_tokens`.
 */
export function plausibleTokenCounts(
  sample: TokenSample,
  estimate: (text: string) => number,
): { plausible: boolean; detail: string } {
  const usage = sample.usage;
  if (usage === undefined) return { plausible: false, detail: 'no usage' };
  const promptEstimate = estimate(sample.promptText);
  const promptLow = Math.floor(promptEstimate * 0.5);
  const promptHigh = Buffer.byteLength(sample.promptText, 'utf8') + 16 * sample.messageCount + 128;
  if (usage.inputTokens < promptLow || usage.inputTokens > promptHigh) {
    return {
      plausible: false,
      detail: `prompt_tokens ${usage.inputTokens} is outside ${promptLow}..${promptHigh} (a local tokenizer counts ${promptEstimate} for the prompt text)`,
    };
  }
  const outputEstimate = estimate(sample.outputText);
  const outputLow = sample.outputText === '' ? 0 : Math.max(1, Math.floor(outputEstimate * 0.5));
  const outputHigh = sample.maxTokens === undefined ? Number.POSITIVE_INFINITY : sample.maxTokens + 1;
  if (usage.outputTokens < outputLow || usage.outputTokens > outputHigh) {
    return {
      plausible: false,
      detail: `completion_tokens ${usage.outputTokens} is outside ${outputLow}..${outputHigh === Number.POSITIVE_INFINITY ? '∞' : outputHigh} (a local tokenizer counts ${outputEstimate} for the answer)`,
    };
  }
  return {
    plausible: true,
    detail: `${usage.inputTokens} prompt / ${usage.outputTokens} completion tokens, plausible against a local estimate of ${promptEstimate} / ${outputEstimate}`,
  };
}

/**
 * `not_available` without usage; `approximate` when the counts are implausible or two identical
 * requests report different prompt counts (the engine leaves out tokens served from its prompt
 * cache); otherwise `exact`.
 */
export function judgeTokenAccounting(
  first: TokenSample,
  second: TokenSample | undefined,
  declared: readonly Deviation[],
  estimate: (text: string) => number,
): TokenAccountingJudgement {
  const checks: ProbeCheck[] = [];
  const deviation = 'approximate_token_counts' as const;
  const verdict = deviationVerdict(deviation, declared);
  if (first.usage === undefined) {
    checks.push({ name: 'token-accounting.usage', verdict, deviation, detail: 'the response carried no usage: tokens can only be estimated locally' });
    return { observed: 'not_available', checks };
  }
  checks.push({ name: 'token-accounting.usage', verdict: 'pass', detail: 'usage reported' });
  let observed: TokenAccountingObservation = 'exact';
  const plausibility = plausibleTokenCounts(first, estimate);
  if (plausibility.plausible) {
    checks.push({ name: 'token-accounting.plausible', verdict: 'pass', detail: plausibility.detail });
  } else {
    observed = 'approximate';
    checks.push({ name: 'token-accounting.plausible', verdict, deviation, detail: plausibility.detail });
  }
  if (second?.usage !== undefined) {
    if (second.usage.inputTokens === first.usage.inputTokens) {
      checks.push({ name: 'token-accounting.stable', verdict: 'pass', detail: `an identical request reported the same ${first.usage.inputTokens} prompt tokens` });
    } else {
      observed = 'approximate';
      checks.push({
        name: 'token-accounting.stable',
        verdict,
        deviation,
        detail: `two identical requests reported ${first.usage.inputTokens} then ${second.usage.inputTokens} prompt tokens (prompt-cache hits not counted)`,
      });
    }
  } else if (second !== undefined) {
    observed = 'approximate';
    checks.push({ name: 'token-accounting.stable', verdict, deviation, detail: 'a repeated identical request carried no usage' });
  }
  return { observed, checks };
}

// ------------------------------------------------------------------ JSON mode

/** One JSON-mode trial as the probe saw it. */
export interface JsonTrial {
  format: 'json_object' | 'json_schema';
  /** The answer text, when the upstream answered 2xx. */
  text?: string;
  finishReason?: string;
  /** Why there is no text when the upstream refused the request (an HTTP error): counts against adherence. */
  refusal?: string;
  /** Why there is no text when nothing refused it (a transport or decode failure): decides nothing. */
  unanswered?: string;
  /** Keys the schema requires (json_schema trials). */
  requiredKeys?: string[];
  evidenceId?: string;
}

export interface JsonJudgement {
  /** Trials that parsed (and met the schema) over trials that could decide. */
  parsed: number;
  decided: number;
  verdict: ProbeVerdict;
  checks: ProbeCheck[];
}

/** Strips a Markdown code fence some models put around JSON. Used only to explain a failure. */
function fenced(text: string): boolean {
  return /^\s*```/.test(text);
}

/**
 * Parse rate of N trials. A refusal of the JSON setting counts against adherence; a trial without
 * an answer for any other reason (a reset, a timeout, a body that did not decode), or cut off by
 * `max_tokens` before its JSON closed, decides nothing (the transport or the budget ended it).
 * Every deciding trial must parse: anything less is `weak_json_adherence`.
 */
export function judgeJsonTrials(trials: readonly JsonTrial[], declared: readonly Deviation[]): JsonJudgement {
  const checks: ProbeCheck[] = [];
  let parsed = 0;
  let decided = 0;
  const deviation = 'weak_json_adherence' as const;
  trials.forEach((trial, index) => {
    const name = `json-mode.trial-${index + 1}`;
    const base = { name, ...(trial.evidenceId === undefined ? {} : { evidenceId: trial.evidenceId }) };
    if (trial.text === undefined && trial.refusal !== undefined) {
      decided += 1;
      checks.push({ ...base, verdict: deviationVerdict(deviation, declared), deviation, detail: `${trial.format}: refused (${trial.refusal})` });
      return;
    }
    if (trial.text === undefined) {
      checks.push({ ...base, verdict: 'inconclusive', detail: `${trial.format}: no answer (${trial.unanswered ?? 'none received'})` });
      return;
    }
    let value: unknown;
    let ok = false;
    try {
      value = JSON.parse(trial.text);
      ok = isJsonObject(value);
    } catch {
      ok = false;
    }
    if (!ok && trial.finishReason === 'length') {
      checks.push({ ...base, verdict: 'inconclusive', detail: `${trial.format}: cut off by max_tokens before the JSON closed` });
      return;
    }
    decided += 1;
    if (!ok) {
      const why = fenced(trial.text) ? 'JSON wrapped in a Markdown fence' : `not a JSON object: ${trial.text.slice(0, 60)}`;
      checks.push({ ...base, verdict: deviationVerdict(deviation, declared), deviation, detail: `${trial.format}: ${why}` });
      return;
    }
    const missing = (trial.requiredKeys ?? []).filter((key) => !(isJsonObject(value) && typeof value[key] === 'string'));
    if (missing.length > 0) {
      checks.push({ ...base, verdict: deviationVerdict(deviation, declared), deviation, detail: `${trial.format}: valid JSON, but the schema's ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing` });
      return;
    }
    parsed += 1;
    checks.push({ ...base, verdict: 'pass', detail: `${trial.format}: valid JSON${trial.format === 'json_schema' ? ' matching the schema' : ''}` });
  });
  let verdict: ProbeVerdict;
  if (decided === 0) verdict = 'inconclusive';
  else if (parsed === decided) verdict = 'pass';
  else verdict = deviationVerdict(deviation, declared);
  return { parsed, decided, verdict, checks };
}

// ------------------------------------------------------------------ seed control

/** Two answers to the same seeded request. */
export interface SeedPair {
  temperature: number;
  texts: (string | undefined)[];
  evidenceIds: string[];
}

export interface SeedJudgement {
  observed: string;
  checks: ProbeCheck[];
}

/**
 * The same seed twice must give the same answer, at temperature 0 and above. A wire that cannot
 * carry a seed at all (the adapter warned) is `unsupported_seed_control` whatever the texts say.
 */
export function judgeSeedControl(pairs: readonly SeedPair[], wireDropsSeed: string | undefined, declared: readonly Deviation[]): SeedJudgement {
  const deviation = 'unsupported_seed_control' as const;
  const checks: ProbeCheck[] = [];
  if (wireDropsSeed !== undefined) {
    checks.push({ name: 'seed-control.wire', verdict: deviationVerdict(deviation, declared), deviation, detail: wireDropsSeed });
  }
  const results: string[] = [];
  for (const pair of pairs) {
    const name = `seed-control.temperature-${pair.temperature}`;
    const [first, second] = pair.texts;
    if (first === undefined || second === undefined) {
      checks.push({ name, verdict: 'inconclusive', detail: `temperature ${pair.temperature}: an answer is missing` });
      results.push(`t=${pair.temperature} ?`);
    } else if (first === second) {
      checks.push({ name, verdict: 'pass', detail: `temperature ${pair.temperature}: identical answers with the same seed` });
      results.push(`t=${pair.temperature} identical`);
    } else {
      checks.push({
        name,
        verdict: deviationVerdict(deviation, declared),
        deviation,
        detail: `temperature ${pair.temperature}: the same seed gave different answers (${JSON.stringify(first.slice(0, 40))} vs ${JSON.stringify(second.slice(0, 40))})`,
      });
      results.push(`t=${pair.temperature} differs`);
    }
  }
  return { observed: `${wireDropsSeed === undefined ? '' : 'no seed on the wire; '}${results.join(', ')}`, checks };
}

// ------------------------------------------------------------------ context window

export interface ContextJudgement {
  observed: string;
  checks: ProbeCheck[];
}

/**
 * Declared vs engine-reported context: declaring more than the engine gives is wrong (`fail`: long
 * requests would be cut or refused); declaring less is conservative (`pass`); a model loaded with
 * a smaller context than declared is a `warn` (Ollama's num_ctx, LM Studio's load setting).
 */
export function judgeContextWindow(declared: number, report: EngineContextReport | undefined, why?: string): ContextJudgement {
  if (report === undefined) return { observed: why ?? 'not reported', checks: [{ name: 'context-window.reported', verdict: 'skipped', detail: why ?? 'the engine does not report a context window' }] };
  const checks: ProbeCheck[] = [];
  const reported = report.contextWindow;
  if (reported === undefined) {
    checks.push({ name: 'context-window.reported', verdict: 'inconclusive', detail: `${report.source}: no value reported` });
  } else if (declared > reported) {
    checks.push({ name: 'context-window.reported', verdict: 'fail', detail: `declared ${declared} but ${report.source} is ${reported}: set contextWindow: ${reported}` });
  } else if (declared < reported) {
    checks.push({ name: 'context-window.reported', verdict: 'pass', detail: `declared ${declared}; the engine allows ${reported} (${report.source})` });
  } else {
    checks.push({ name: 'context-window.reported', verdict: 'pass', detail: `declared ${declared} = ${report.source}` });
  }
  if (report.loadedContext !== undefined && report.loadedContext < declared) {
    checks.push({
      name: 'context-window.loaded',
      verdict: 'warn',
      detail: `the model is loaded with a ${report.loadedContext}-token context, less than the declared ${declared}: longer prompts are truncated until it is reloaded with more`,
    });
  }
  const observed = `${reported ?? '?'}${report.loadedContext === undefined ? '' : ` (loaded ${report.loadedContext})`}`;
  return { observed, checks };
}

// ------------------------------------------------------------------ stop sequences

/**
 * A stop string taken from a baseline answer: a word near the middle (so some text precedes it),
 * or the middle characters when the answer has no usable words. Undefined when the baseline is
 * too short to test with.
 */
export function chooseStopSequence(baseline: string): string | undefined {
  const words = [...baseline.matchAll(/[\p{L}\p{N}]{3,}/gu)].filter((match) => (match.index ?? 0) > 0);
  const middle = words[Math.floor(words.length / 2)];
  if (middle !== undefined) {
    const word = middle[0];
    if (baseline.indexOf(word) > 0) return word;
  }
  const text = baseline.trim();
  if (text.length < 6) return undefined;
  const start = Math.floor(text.length / 2);
  const candidate = text.slice(start, start + 3);
  return baseline.indexOf(candidate) > 0 && candidate.trim() === candidate ? candidate : undefined;
}

/**
 * Honoured when the answer with the stop string is the baseline cut just before it, and the
 * stop string itself is absent. Text past the stop is a `fail` (no deviation name covers it).
 */
export function judgeStopSequence(baseline: string, stop: string, answer: string | undefined, failure?: string): ProbeCheck {
  const name = 'stop-sequences.honoured';
  if (answer === undefined) return { name, verdict: 'inconclusive', detail: `no answer to the request with stop ${JSON.stringify(stop)}${failure === undefined ? '' : `: ${failure}`}` };
  const expected = baseline.slice(0, baseline.indexOf(stop));
  if (answer.includes(stop)) return { name, verdict: 'fail', detail: `the answer contains the stop sequence ${JSON.stringify(stop)}: ${JSON.stringify(answer.slice(0, 60))}` };
  if (answer === expected || answer.trimEnd() === expected.trimEnd()) {
    return { name, verdict: 'pass', detail: `the answer stopped right before ${JSON.stringify(stop)}` };
  }
  return { name, verdict: 'inconclusive', detail: `the answer at temperature 0 diverged from the baseline, so the stop could not be judged: ${JSON.stringify(answer.slice(0, 60))}` };
}
