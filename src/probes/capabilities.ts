import { counted } from '../common/counted.js';
import type { Deviation, WireFormat } from '../common/vocabulary.js';
import { approximateTokens } from '../evidence/tokens.js';
import type { PipelineContext } from '../invoke/types.js';
import type { JsonObject, ToolDefinition } from '../wire/canonical.js';
import { recordDiscoveredDeviations } from './discovery.js';
import { engineReportedContext } from './engine-context.js';
import {
  chooseStopSequence,
  judgeContextWindow,
  judgeJsonTrials,
  judgeSeedControl,
  judgeStopSequence,
  judgeTokenAccounting,
  type JsonTrial,
  type SeedPair,
  type TokenSample,
} from './judges.js';
import { answeredSuccessStatus, describeFailure, ProbeRunner, type ProbeCall, type ProbeRequest, type ProbeRunnerOptions } from './runner.js';
import { observedDeviations, probedProvider, resolveProbeTarget, type ProbeTarget } from './target.js';
import { FAILING_VERDICTS, worstVerdict, type CapabilitiesReport, type CapabilityProbe, type CapabilityResult, type ProbeCheck } from './types.js';
import { checkContentType, checkStreamBody, checkToolCalls, withoutDeviations } from './wire-checks.js';

/** Public text only: probes must classify as `public` so the default policy lets them reach any class. */
export const PROBE_PROMPTS = {
  short: 'Name the capital of France in one short sentence.',
  json: 'Reply with a JSON object that names the capital city of France and its country.',
  seed: 'Write one short sentence about the sea.',
  tool: 'What is the weather in Paris right now? Use the get_weather tool.',
} as const;

/** Small, bounded budgets: enough for a sentence, a small JSON object or one tool call. */
const SHORT_MAX_TOKENS = 24;
const JSON_MAX_TOKENS = 64;
const TOOL_MAX_TOKENS = 96;
export const DEFAULT_JSON_TRIALS = 4;

const JSON_SCHEMA: JsonObject = {
  type: 'object',
  properties: { city: { type: 'string' }, country: { type: 'string' } },
  required: ['city', 'country'],
  additionalProperties: false,
};

const WEATHER_TOOL: ToolDefinition = {
  name: 'get_weather',
  description: 'Current weather for a city.',
  inputSchema: { type: 'object', properties: { city: { type: 'string', description: 'City name' } }, required: ['city'] },
};

/** Progress of the battery, for a spinner per probe. */
export type CapabilityProgress = { probe: CapabilityProbe; phase: 'start' } | { probe: CapabilityProbe; phase: 'end'; result: CapabilityResult };

export interface CapabilitiesOptions extends ProbeRunnerOptions {
  providerId: string;
  model?: string;
  /** false (`--no-update`): report and record discoveries, but leave the provider record unchanged. */
  update: boolean;
  jsonTrials?: number;
  onProgress?: (progress: CapabilityProgress) => void | Promise<void>;
}

function userMessage(text: string): ProbeRequest['messages'] {
  return [{ role: 'user', content: [{ type: 'text', text }] }];
}

interface ProbeState {
  target: ProbeTarget;
  runner: ProbeRunner;
  declared: readonly Deviation[];
  /** The first short answer at temperature 0 (baseline of the stop-sequence probe). */
  baseline?: ProbeCall;
}

type ProbeOutcome = Omit<CapabilityResult, 'capability' | 'verdict' | 'evidenceIds'> & { calls: ProbeCall[] };

/**
 * `provider capabilities`: the probe battery (token accounting first, as it is the plainest
 * request, then streaming, JSON mode, seed
 * control, tool calls, context window, stop sequences), each request small and time-bounded and
 * sent through the governed pipeline. Undeclared deviations are recorded with their evidence and,
 * unless `update` is false, added to the record as ONE new version naming every discovery.
 */
export async function probeCapabilities(context: PipelineContext, options: CapabilitiesOptions): Promise<CapabilitiesReport> {
  const target = await resolveProbeTarget(context.store, options.providerId, options.model);
  const state: ProbeState = {
    target,
    runner: new ProbeRunner(context, target.provider, target.model.id, { timeoutOption: `syndicate provider capabilities ${target.provider.id} --timeout`, ...options }),
    declared: target.provider.record.deviations ?? [],
  };
  const probes: [CapabilityProbe, (state: ProbeState) => Promise<ProbeOutcome>][] = [
    ['token-accounting', probeTokenAccounting],
    ['streaming', probeStreaming],
    ['json-mode', (current) => probeJsonMode(current, options.jsonTrials ?? DEFAULT_JSON_TRIALS)],
    ['seed-control', probeSeedControl],
    ['tool-calls', probeToolCalls],
    ['context-window', probeContextWindow],
    ['stop-sequences', probeStopSequences],
  ];
  const capabilities: CapabilityResult[] = [];
  for (const [capability, run] of probes) {
    await options.onProgress?.({ probe: capability, phase: 'start' });
    const outcome = await run(state);
    const evidenceIds = outcome.calls.map((call) => call.evidenceId).filter((id): id is string => id !== undefined);
    const decode = decodeCheck(capability, outcome.calls, target.provider.record.wire);
    const checks = decode === undefined ? outcome.checks : [decode, ...outcome.checks];
    const result: CapabilityResult = {
      capability,
      declared: outcome.declared,
      observed: outcome.observed,
      verdict: worstVerdict(checks.map((check) => check.verdict)),
      checks,
      evidenceIds,
    };
    capabilities.push(result);
    await options.onProgress?.({ probe: capability, phase: 'end', result });
  }

  const checks = capabilities.flatMap((result) => result.checks);
  const deviations = observedDeviations(checks, (check) => check.name.split('.')[0] ?? check.name);
  const undeclared = deviations.filter((item) => !item.declared);
  const discovery = recordDiscoveredDeviations(context.store, target.provider.id, undeclared, {
    update: options.update,
    model: target.model.id,
    observedVersion: target.provider.currentVersion,
  });
  return {
    provider: probedProvider(target.provider),
    model: target.model.id,
    conforms: !checks.some((check) => FAILING_VERDICTS.includes(check.verdict)),
    capabilities,
    deviations,
    evidenceIds: state.runner.evidenceIds,
    released: state.runner.releaseDownHolds(),
    ...(discovery === undefined ? {} : { discovery }),
  };
}

/**
 * One `fail` per probe whose 2xx answers did not decode as the wire format: a wire defect, not a
 * capability deviation (the probe itself judges such calls as unanswered).
 */
function decodeCheck(capability: CapabilityProbe, calls: readonly ProbeCall[], wire: WireFormat): ProbeCheck | undefined {
  const malformed = calls.filter((call) => call.failure?.kind === 'malformed');
  const first = malformed[0];
  if (first?.failure === undefined) return undefined;
  const count = calls.length === 1 ? 'the answer' : `${malformed.length} of ${calls.length} answers`;
  return {
    name: `${capability}.decode`,
    verdict: 'fail',
    detail: `${count} did not decode as ${wire} wire: ${first.failure.message}`,
    ...(first.evidenceId === undefined ? {} : { evidenceId: first.evidenceId }),
  };
}

function tagChecks(checks: ProbeCheck[], call: ProbeCall): ProbeCheck[] {
  return checks.map((check) => (call.evidenceId === undefined || check.evidenceId !== undefined ? check : { ...check, evidenceId: call.evidenceId }));
}

function declaredLabel(declared: readonly Deviation[], deviation: Deviation, otherwise: string): string {
  return declared.includes(deviation) ? deviation : otherwise;
}

async function probeStreaming(state: ProbeState): Promise<ProbeOutcome> {
  const { record } = state.target.provider;
  const call = await state.runner.call('streaming', { messages: userMessage(PROBE_PROMPTS.short), maxTokens: SHORT_MAX_TOKENS, temperature: 0, stream: true });
  const checks: ProbeCheck[] = [];
  let observed = 'no stream';
  if (call.failure?.kind === 'refused') {
    checks.push({ name: 'streaming.answer', verdict: 'fail', detail: `a streamed request was refused: ${describeFailure(call)}` });
    observed = call.failure.status === undefined ? 'refused' : `refused (HTTP ${call.failure.status})`;
  } else if (call.responseText !== undefined) {
    if (answeredSuccessStatus(call)) checks.push(checkContentType(call.responseContentType, true, 'streaming'));
    const result = checkStreamBody(call.responseText, { wire: record.wire, requestedModel: state.target.model.id, declared: state.declared, prefix: 'streaming' });
    if (call.failure === undefined) {
      checks.push(...result.checks);
      const terminal = result.checks.find((check) => check.name === 'streaming.terminal-marker')?.verdict === 'pass';
      observed = `${counted(result.events, 'event')}, ${terminal ? (record.wire === 'anthropic' ? 'message_stop' : '[DONE]') : 'no terminal marker'}, ${result.usage === undefined ? 'no usage' : 'usage'}`;
    } else {
      // What a stream that broke or did not decode lacks at its end (terminal marker, finish reason, usage) says nothing about the engine.
      const { judged, unjudged } = withoutDeviations(result.checks);
      checks.push(...judged);
      if (call.failure.kind === 'malformed') {
        observed = 'not a well-formed stream';
      } else {
        const notJudged = unjudged.length === 0 ? '' : `; not judged on a stream that did not complete: ${unjudged.join(', ')}`;
        checks.push({ name: 'streaming.complete', verdict: 'inconclusive', detail: `${describeFailure(call)}${notJudged}` });
        observed = `broken after ${counted(result.events, 'event')}`;
      }
    }
  } else if (call.failure !== undefined) {
    checks.push({ name: 'streaming.complete', verdict: 'inconclusive', detail: `no stream: ${describeFailure(call)}` });
  }
  return {
    declared: declaredLabel(state.declared, 'partial_streaming_reliability', 'reliable'),
    observed,
    checks: tagChecks(checks, call),
    calls: [call],
  };
}

function tokenSample(call: ProbeCall, prompt: string, maxTokens: number): TokenSample | undefined {
  if (call.result === undefined) return undefined;
  return { usage: call.result.response.usage, promptText: prompt, messageCount: 1, outputText: call.result.response.text, maxTokens };
}

async function probeTokenAccounting(state: ProbeState): Promise<ProbeOutcome> {
  const request: ProbeRequest = { messages: userMessage(PROBE_PROMPTS.short), maxTokens: SHORT_MAX_TOKENS, temperature: 0, stream: false };
  const first = await state.runner.call('token-accounting', request);
  const second = await state.runner.call('token-accounting', request);
  state.baseline = first;
  const declared = declaredLabel(state.declared, 'approximate_token_counts', 'exact');
  const firstSample = tokenSample(first, PROBE_PROMPTS.short, SHORT_MAX_TOKENS);
  if (firstSample === undefined) {
    return {
      declared,
      observed: 'no answer',
      checks: [{ name: 'token-accounting.answer', verdict: 'inconclusive', detail: `no answer to count: ${describeFailure(first)}`, ...(first.evidenceId === undefined ? {} : { evidenceId: first.evidenceId }) }],
      calls: [first, second],
    };
  }
  const judgement = judgeTokenAccounting(firstSample, tokenSample(second, PROBE_PROMPTS.short, SHORT_MAX_TOKENS), state.declared, approximateTokens);
  const checks = judgement.checks.map((check) =>
    check.name === 'token-accounting.stable' && second.evidenceId !== undefined ? { ...check, evidenceId: second.evidenceId } : check,
  );
  return { declared, observed: judgement.observed, checks: tagChecks(checks, first), calls: [first, second] };
}

async function probeJsonMode(state: ProbeState, trialCount: number): Promise<ProbeOutcome> {
  const calls: ProbeCall[] = [];
  const trials: JsonTrial[] = [];
  const warnings = new Map<string, string>();
  for (let index = 0; index < trialCount; index += 1) {
    const format = index % 2 === 0 ? 'json_schema' : 'json_object';
    const call = await state.runner.call('json-mode', {
      messages: userMessage(PROBE_PROMPTS.json),
      responseFormat: format === 'json_schema' ? { type: 'json_schema', name: 'capital', schema: JSON_SCHEMA } : { type: 'json_object' },
      maxTokens: JSON_MAX_TOKENS,
      temperature: 0,
      stream: false,
    });
    calls.push(call);
    for (const warning of call.warnings) if (warning.setting === 'responseFormat') warnings.set(warning.setting, warning.message);
    const response = call.result?.response;
    trials.push({
      format,
      ...(response !== undefined
        ? { text: response.text, finishReason: response.finishReason }
        : call.failure?.kind === 'refused'
          ? { refusal: describeFailure(call) }
          : { unanswered: describeFailure(call) }),
      ...(format === 'json_schema' ? { requiredKeys: ['city', 'country'] } : {}),
      ...(call.evidenceId === undefined ? {} : { evidenceId: call.evidenceId }),
    });
  }
  const judgement = judgeJsonTrials(trials, state.declared);
  const checks = [...judgement.checks];
  for (const message of warnings.values()) checks.push({ name: 'json-mode.native', verdict: 'warn', detail: message });
  return {
    declared: declaredLabel(state.declared, 'weak_json_adherence', 'reliable'),
    observed: `${judgement.parsed}/${judgement.decided} parsed${judgement.decided < trials.length ? ` (${trials.length - judgement.decided} undecided)` : ''}`,
    checks,
    calls,
  };
}

async function probeSeedControl(state: ProbeState): Promise<ProbeOutcome> {
  const calls: ProbeCall[] = [];
  const pairs: SeedPair[] = [];
  let wireDropsSeed: string | undefined;
  for (const temperature of [0, 0.8]) {
    const pair: SeedPair = { temperature, texts: [], evidenceIds: [] };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const call = await state.runner.call('seed-control', { messages: userMessage(PROBE_PROMPTS.seed), maxTokens: SHORT_MAX_TOKENS, temperature, seed: 42, stream: false });
      calls.push(call);
      wireDropsSeed ??= call.warnings.find((warning) => warning.setting === 'seed')?.message;
      pair.texts.push(call.result === undefined ? undefined : call.result.response.text);
      if (call.evidenceId !== undefined) pair.evidenceIds.push(call.evidenceId);
    }
    pairs.push(pair);
  }
  const judgement = judgeSeedControl(pairs, wireDropsSeed, state.declared);
  const checks = judgement.checks.map((check) => {
    const pair = pairs.find((candidate) => check.name === `seed-control.temperature-${candidate.temperature}`);
    const evidenceId = pair?.evidenceIds.at(-1) ?? calls[0]?.evidenceId;
    return evidenceId === undefined ? check : { ...check, evidenceId };
  });
  return { declared: declaredLabel(state.declared, 'unsupported_seed_control', 'supported'), observed: judgement.observed, checks, calls };
}

async function probeToolCalls(state: ProbeState): Promise<ProbeOutcome> {
  const { record } = state.target.provider;
  const model = state.target.model;
  const tagged = (model.tags ?? []).includes('tools');
  const declaresNonstandard = state.declared.includes('nonstandard_tool_call_serialization');
  const declared = `${tagged ? 'tagged tools' : 'not tagged tools'}${declaresNonstandard ? ', nonstandard_tool_call_serialization' : ''}`;
  const calls: ProbeCall[] = [];
  const checks: ProbeCheck[] = [];
  const observations: string[] = [];
  for (const streamed of [false, true]) {
    const call = await state.runner.call('tool-calls', {
      messages: userMessage(PROBE_PROMPTS.tool),
      tools: [WEATHER_TOOL],
      toolChoice: 'required',
      maxTokens: TOOL_MAX_TOKENS,
      temperature: 0,
      stream: streamed,
    });
    calls.push(call);
    const mode = streamed ? 'streamed' : 'non-streamed';
    if (call.failure?.kind === 'refused') {
      const detail = `a ${mode} request with a tool was refused (${describeFailure(call)})`;
      checks.push(
        tagged
          ? { name: `tool-calls.${streamed ? 'stream.' : ''}accepted`, verdict: 'fail', detail: `${detail}, yet the model is tagged tools: remove the tag or enable tools in the engine (llama.cpp: --jinja)` }
          : { name: `tool-calls.${streamed ? 'stream.' : ''}accepted`, verdict: 'pass', detail: `${detail}; the model is not tagged tools, so the router never sends it tools` },
      );
      observations.push(call.failure.status === undefined ? 'refused' : `refused (HTTP ${call.failure.status})`);
      continue;
    }
    if (call.failure !== undefined || call.responseText === undefined) {
      checks.push({ name: `tool-calls.${streamed ? 'stream.' : ''}answer`, verdict: 'inconclusive', detail: `no complete ${mode} answer: ${describeFailure(call)}` });
      observations.push('no answer');
      continue;
    }
    const found = checkToolCalls(call.responseText, streamed, {
      forced: true,
      wire: record.wire,
      requestedModel: model.id,
      declared: state.declared,
      toolName: WEATHER_TOOL.name,
      prefix: streamed ? 'tool-calls.stream' : 'tool-calls',
    });
    checks.push(...tagChecks(found, call));
    const verdict = worstVerdict(found.map((check) => check.verdict));
    observations.push(
      found.some((check) => check.name.endsWith('.present'))
        ? 'no tool call'
        : verdict === 'inconclusive'
          ? 'cut off by max_tokens'
          : verdict === 'pass'
            ? 'standard'
            : 'nonstandard',
    );
  }
  const worked = checks.some((check) => check.name.endsWith('.arguments') && check.verdict === 'pass');
  if (worked && !tagged) {
    checks.push({ name: 'tool-calls.tag', verdict: 'warn', detail: `tool calls work, but ${model.id} is not tagged tools, so the router never sends it requests with tools` });
  }
  const unique = [...new Set(observations)];
  return { declared, observed: unique.length === 1 ? (unique[0] ?? '-') : observations.map((text, index) => `${index === 0 ? 'plain' : 'stream'}: ${text}`).join('; '), checks, calls };
}

async function probeContextWindow(state: ProbeState): Promise<ProbeOutcome> {
  const { record } = state.target.provider;
  const declaredWindow = state.target.model.contextWindow;
  let checks: ProbeCheck[];
  let observed: string;
  if (record.class !== 'local') {
    ({ checks, observed } = judgeContextWindow(declaredWindow, undefined, 'hosted providers do not report a context window'));
  } else {
    try {
      const report = await engineReportedContext(record, state.target.model.id, { timeoutMs: 5000 });
      const why = record.engine?.kind === undefined ? 'the record declares no engine.kind, so the engine cannot be asked' : `${record.engine.kind} does not report a context window`;
      ({ checks, observed } = judgeContextWindow(declaredWindow, report, why));
    } catch (error) {
      observed = 'unreadable';
      checks = [{ name: 'context-window.reported', verdict: 'inconclusive', detail: `could not read the engine's context window: ${(error as Error).message}` }];
    }
  }
  return { declared: String(declaredWindow), observed, checks, calls: [] };
}

async function probeStopSequences(state: ProbeState): Promise<ProbeOutcome> {
  const baselineText = state.baseline?.result?.response.text;
  const stop = baselineText === undefined ? undefined : chooseStopSequence(baselineText);
  if (baselineText === undefined || stop === undefined) {
    return {
      declared: 'honoured',
      observed: 'untested',
      checks: [{ name: 'stop-sequences.honoured', verdict: 'inconclusive', detail: baselineText === undefined ? 'no baseline answer to take a stop sequence from' : `the baseline answer ${JSON.stringify(baselineText)} is too short to take a stop sequence from` }],
      calls: [],
    };
  }
  const call = await state.runner.call('stop-sequences', { messages: userMessage(PROBE_PROMPTS.short), maxTokens: SHORT_MAX_TOKENS, temperature: 0, stop: [stop], stream: false });
  const check = judgeStopSequence(baselineText, stop, call.result?.response.text, call.failure === undefined ? undefined : describeFailure(call));
  return {
    declared: 'honoured',
    observed: check.verdict === 'pass' ? `honoured (${JSON.stringify(stop)})` : check.verdict === 'fail' ? `ignored (${JSON.stringify(stop)})` : 'undecided',
    checks: tagChecks([check], call),
    calls: [call],
  };
}
