import { isLoopbackAddress } from '../common/loopback.js';
import { isHostedClass, type SensitivityLevel } from '../common/vocabulary.js';
import type { RegisteredProvider } from '../registry/types.js';
import { UNRESOLVED_MEDIA_HOST } from './remote-media.js';
import type { Hold } from './holds.js';
import type { HoldReport } from './shared-holds.js';
import type { Candidate, Exclusion, ExclusionRule, RoutePlan } from './types.js';

const INLINE_IMAGE = 'a data:image/png;base64,… URL (OpenAI image_url, Responses input_image) or an Anthropic base64 source';

const REGISTER_LOCAL = 'register a local provider (`syndicate provider add ollama`, or `syndicate engine serve --model FILE --register ID`)';

/** What a remedy may depend on besides its rule (`ExclusionHintOptions`). */
interface RemedyContext {
  /** Every exclusion of the refused plan. */
  excluded: readonly Exclusion[];
  localLeftOut: readonly Exclusion[];
  sensitivity: SensitivityLevel | undefined;
}

/**
 * What the operator can do about each kind of exclusion, most actionable first. The rules that
 * leave only this host's models are given those left out (`ExclusionHintOptions.localLeftOut`).
 */
const REMEDIES: { rules: readonly ExclusionRule[]; hint: string | ((context: RemedyContext) => string) }[] = [
  {
    rules: ['remote_media'],
    // Restricted data never leaves this host: no policy lets an engine fetch its URLs, so only the inline image is offered.
    hint: ({ excluded, sensitivity }) =>
      excluded.some((exclusion) => exclusion.reasons.some((reason) => reason.includes(UNRESOLVED_MEDIA_HOST)))
        ? `the image URL's host does not resolve on this host, so a local engine could not fetch it either: send the image inline — ${INLINE_IMAGE} — or fix the host name in the URL`
        : `send the image inline — ${INLINE_IMAGE} — which never leaves this host${
            sensitivity === 'restricted' ? '' : '; or, if engines may fetch such URLs for this level, allow it in the policy (`media.remoteUrls`, e.g. `confidential: allow`; never for restricted, nor for an address of this host or its private network)'
          }`,
  },
  {
    rules: ['class_not_allowed'],
    hint: ({ localLeftOut }) =>
      localLeftOut.length === 0
        ? `data this sensitive stays on this host: ${REGISTER_LOCAL}`
        : `data this sensitive stays on this host, and no local model registered may take it: ${namedWithReasons(localLeftOut)}`,
  },
  {
    rules: ['model_kind'],
    hint: "no model of the kind the request needs may take it: embeddings requests go only to models declared `kind: embedding` on the openai wire (`syndicate provider add ollama` registers an engine's embedding models), chat requests only to chat models",
  },
  {
    rules: ['completions'],
    hint: 'text completions (POST /v1/completions, or Ollama /api/generate with a suffix or raw) go only to openai-wire models tagged `completions`, and with a suffix only to models also tagged `fill-in-middle` (`syndicate provider add ollama|llama.cpp|vllm|lmstudio` tags the engine models that take them; only Ollama takes a suffix): tag such a model in its provider record, or send the prompt as a chat request (POST /v1/chat/completions, or /api/generate without suffix and raw)',
  },
  { rules: ['token_input'], hint: 'Ollama embeds text only: send the text rather than token ids, or register an engine that takes token ids (llama.cpp, vLLM)' },
  {
    rules: ['fail_closed'],
    hint: ({ localLeftOut }) =>
      `the policy or the classifier could not decide, so only local providers may take it: fix what the route explanation names${
        localLeftOut.length === 0 ? `, or ${REGISTER_LOCAL}` : ` (no local model registered may take it either: ${namedWithReasons(localLeftOut)})`
      }`,
  },
  {
    rules: ['trust_tier'],
    hint: "the caller's trust tier keeps it from these providers: see trustTiers in the policy (`syndicate serve --trust-tier` sets the gateway callers' tier, `syndicate mcp --trust-tier` the MCP server's agents')",
  },
  { rules: ['egress_denied'], hint: "the provider's host is not on the policy's egress allow-list: add it to egress.allowHosts if it may receive data" },
  { rules: ['not_loopback'], hint: 'a local-class provider must answer on this host: point its baseUrl at a loopback address, or register it with a hosted class' },
  {
    rules: ['tools', 'json', 'vision', 'capability_rule'],
    hint: 'no eligible model is tagged for what the request needs: tag a model that has it (models[].tags in its provider record, checked by `syndicate provider capabilities ID`) or send the request to one that does',
  },
  {
    rules: ['tools_refused'],
    hint: ({ excluded }) => {
      const providers = [...new Set(excluded.filter((exclusion) => exclusion.rules.includes('tools_refused')).map((exclusion) => exclusion.provider))];
      const releases = providers.map((provider) => `\`syndicate provider release ${provider}\``).join(', ');
      return `the engine refused the tools of an earlier request for that model (llama-server started without \`--jinja\`, an Ollama model without tool support): restart llama-server with \`--jinja\` and run ${releases} (\`syndicate engine start\` releases it too), remove the \`tools\` tag from the model in its provider record, or send the tools to a model that takes them`;
    },
  },
  {
    rules: ['image_url'],
    hint: 'Ollama takes images as base64 data only, and syndicate fetches no URL: send the image inline (a data:image/png;base64,… URL, or the Anthropic base64 source), or send it to a model whose engine takes URLs',
  },
  {
    rules: ['empty_content'],
    hint: 'the Messages API refuses a turn with no content (but a final assistant turn): send text in every user turn, or leave the empty turn out',
  },
  {
    rules: ['no_messages'],
    hint: 'the Messages API needs at least one message besides the system prompt: add a user message (the instructions can stay the system prompt), or send it to a model on the openai wire',
  },
  {
    rules: ['session_envelope'],
    hint: "the session's capability envelope approves smaller models only: name a model within it, or approve more with `syndicate session approve SESSION --max-capability CLASS`",
  },
  {
    rules: ['tool_choice'],
    hint: 'the models left refuse a forced tool (forced_tool_choice_unsupported): let the model choose (tool_choice auto), or send it to a model that takes a forced tool',
  },
  {
    rules: ['thinking'],
    hint: 'the models left always think (thinking_always_on): leave thinking out (an OpenAI client: reasoning effort other than "none") or send {type: "adaptive"} (its depth set by output_config.effort), or send it to a model whose thinking can be turned off',
  },
  {
    rules: ['reasoning'],
    hint: 'the models left do not reason and refuse a reasoning effort (OpenAI models not tagged reasoning): leave the effort (reasoning_effort, output_config.effort, thinking) out, or send it to a model that reasons (tag a reasoning model `reasoning` in its record)',
  },
  { rules: ['context_length'], hint: "the prompt does not fit any eligible model's context window: shorten or compact the conversation, or use a model with a larger contextWindow" },
  {
    rules: ['cost_per_request', 'cost_per_day', 'price_unknown'],
    // Each limit has its own remedy: pricing a model that is priced already, or raising a ceiling it did not exceed, changes nothing.
    hint: ({ excluded }) => {
      // As `hintForExclusions` applies them: a class that may not receive the data is no cost matter.
      const met = new Set(excluded.flatMap((exclusion) => (exclusion.rules.includes('class_not_allowed') ? [] : exclusion.rules)));
      const remedies = [
        met.has('cost_per_request') ? 'raise cost.perRequestUsd in the policy, or ask for a shorter answer (the estimate counts the max output asked, else cost.defaultOutputTokens)' : '',
        met.has('cost_per_day') ? "raise cost.perDayUsd in the policy, or wait for the next UTC day" : '',
        met.has('price_unknown') ? 'price the model in its provider record (models[].price), without which no cost ceiling can be checked' : '',
      ].filter((remedy) => remedy !== '');
      return `the policy's cost limits exclude the rest: ${remedies.join('; ')}`;
    },
  },
  { rules: ['latency_budget'], hint: "the workflow's latency budget excludes the rest: relax it in the policy" },
  {
    rules: ['engine_budget'],
    hint: "the model is cold and its engine's VRAM budget is held by models that outrank it, or that a request in flight is using (try again once it has ended): unload one (`syndicate engine unload PROVIDER:MODEL`), load this one with `syndicate engine load PROVIDER:MODEL --force`, or raise its priority in the record (a model larger than the whole budget: raise engine.vramBudgetGb, or correct its vramGb)",
  },
  { rules: ['blocked', 'retired'], hint: 'blocked or retired providers are never called: register another one' },
];

/** The `context_length` remedy for an embeddings request: its inputs are split, not compacted. */
const EMBEDDING_INPUT_REMEDY =
  "an input is longer than every eligible embedding model's context window: split it into shorter texts (one vector each), or use an embedding model with a larger contextWindow";

/**
 * Remedies moot when a provider the request may use was not considered: registering a provider of
 * a class the request may use (one is registered), and "no model of the kind the request needs"
 * (the alternatives have one).
 */
const MOOT_WITH_ALTERNATIVES: readonly ExclusionRule[] = ['class_not_allowed', 'fail_closed', 'model_kind', 'completions'];

/** The most local models a hint names with why each was left out; the rest are counted. */
const SHOWN_LOCAL_MODELS = 4;

/** A registered model a refused pinned request could be sent to instead (`alternativesTo`). */
export interface Alternative {
  provider: string;
  model: string;
  /**
   * How a hint names it: the provider alone when the refused plan never considered it, else
   * `provider:model` (naming its provider again would be the same pin); with its state when only
   * its health holds it out (`vllm (down)`).
   */
  name: string;
}

/**
 * The permit a refused request presented (`run --permit`): it may be sent to what the permit
 * covers and nothing else, so any other alternative needs a permit of its own.
 */
export interface PresentedPermit {
  /** What it covers, as a hint names it (`claude:claude-sonnet-4-5`). */
  target: string;
  covers(alternative: Alternative): boolean;
  /** The `syndicate permit issue …` command that issues a permit for `alternative`. */
  issueCommand(alternative: Alternative): string;
}

export interface ExclusionHintOptions {
  /**
   * Registered models of a class the request may use that were not considered because the caller
   * named another provider or a model they do not serve — the first thing to say, instead of asking
   * for a provider to be registered.
   */
  alternatives?: readonly Alternative[];
  /** The request presented a permit: only the alternatives it covers are offered as they are. */
  permit?: PresentedPermit;
  /**
   * This host's models the request (or, when it was pinned, the same request unpinned) left out,
   * with why (`localModelsLeftOut`): named where only local models may take it, instead of asking
   * for a local provider to be registered when one is.
   */
  localLeftOut?: readonly Exclusion[];
  /** An embeddings request, whose over-long input is split rather than a conversation compacted. */
  embeddings?: boolean;
  /** The request's level, where a remedy depends on it (no policy lets a restricted request's image URL be fetched). */
  sensitivity?: SensitivityLevel;
  /**
   * Where the caller sees every rule, as the hint's last words: a gateway request's explanation is
   * `route --explain --request`'s, `route` itself points at its own output. Default
   * `EVERY_RULE_ELSEWHERE`.
   */
  whereEveryRule?: string;
}

/** Where to see every rule of a refused prompt (`run`, MCP `complete`). */
const EVERY_RULE_ELSEWHERE = '`syndicate route --explain` shows every rule';

/**
 * The hint for a request no provider may receive, from the rules that excluded the candidates
 * (at most two remedies), always ending with where to see every rule.
 */
export function hintForExclusions(excluded: readonly Exclusion[], options: ExclusionHintOptions = {}): string {
  const alternatives = options.alternatives ?? [];
  // A class that may not receive the data is refused whatever else is changed for it (its host on
  // the egress list, a price, a tag): only the class rule's remedy can help there — or, when the
  // caller's tier may not send the level at all (it excludes every class then), only the tier's.
  const applied = new Set(
    excluded.flatMap((exclusion): ExclusionRule[] => {
      if (!exclusion.rules.includes('class_not_allowed')) return exclusion.rules;
      return exclusion.rules.includes('trust_tier') ? ['trust_tier'] : ['class_not_allowed'];
    }),
  );
  // A model of the kind the request needs that its class may use was left out by another rule: that
  // rule's remedy is the one to give, not "no model of the kind the request needs".
  const kindServed = excluded.some((exclusion) => !exclusion.rules.includes('class_not_allowed') && !exclusion.rules.includes('model_kind'));
  // A local model left out only for the request's image URL would take it inline: registering another
  // local one cannot help, and Ollama's remedy would say the inline image again, then offer engines
  // that fetch URLs — which the level refuses.
  const moot = (remedy: (typeof REMEDIES)[number]): boolean =>
    (alternatives.length > 0 && remedy.rules.every((rule) => MOOT_WITH_ALTERNATIVES.includes(rule))) ||
    (kindServed && remedy.rules.includes('model_kind')) ||
    (applied.has('remote_media') && remedy.rules.some((rule) => rule === 'class_not_allowed' || rule === 'image_url'));
  const remedies = REMEDIES.filter((remedy) => remedy.rules.some((rule) => applied.has(rule)) && !moot(remedy)).map((remedy) =>
    options.embeddings === true && remedy.rules.includes('context_length') ? EMBEDDING_INPUT_REMEDY : typeof remedy.hint === 'string' ? remedy.hint : remedy.hint({ excluded, localLeftOut: options.localLeftOut ?? [], sensitivity: options.sensitivity }),
  );
  const redirect = alternatives.length === 0 ? [] : [redirectTo(alternatives, options.permit)];
  return [...redirect, ...remedies.slice(0, 2 - redirect.length), options.whereEveryRule ?? EVERY_RULE_ELSEWHERE].join('; ');
}

/**
 * Where to send the request instead: the alternatives, or — for a request with a permit that covers
 * none of them — the command that issues one for the best ranked.
 */
function redirectTo(alternatives: readonly Alternative[], permit: PresentedPermit | undefined): string {
  const list = (shown: readonly Alternative[]): string => shown.map((alternative) => alternative.name).join(', ');
  const nameOne = (shown: readonly Alternative[]): string => `name ${shown.length === 1 ? 'it' : 'one of them'} instead`;
  if (permit === undefined) return `${list(alternatives)} may take it: ${nameOne(alternatives)}, or let the policy choose (model \`auto\`, no provider named)`;
  const covered = alternatives.filter((alternative) => permit.covers(alternative));
  if (covered.length > 0) return `${list(covered)} may take it: ${nameOne(covered)} (the permit covers it)`;
  const [best] = alternatives as [Alternative, ...Alternative[]];
  return `${list(alternatives)} may take it, but the permit covers only ${permit.target}: issue one for ${best.name} (\`${permit.issueCommand(best)}\`) and pass it with --permit`;
}

/** Models left out, each with why (at most `SHOWN_LOCAL_MODELS`; the rest counted). */
function namedWithReasons(excluded: readonly Exclusion[]): string {
  const named = excluded.slice(0, SHOWN_LOCAL_MODELS).map((exclusion) => `${exclusion.provider}:${exclusion.model} (${exclusion.reasons.join(', ')})`);
  return `${named.join(', ')}${excluded.length > SHOWN_LOCAL_MODELS ? ` and ${excluded.length - SHOWN_LOCAL_MODELS} more` : ''}`;
}

/**
 * The exclusions of models on this host: a local provider's (a retired one's too), and a blocked
 * provider's that answers on a loopback address (a local engine the operator blocked).
 */
export function localModelsLeftOut(excluded: readonly Exclusion[], providers: readonly RegisteredProvider[]): Exclusion[] {
  const blockedHere = new Set(providers.filter((provider) => provider.record.class === 'blocked' && onLoopback(provider.record.baseUrl)).map((provider) => provider.id));
  return excluded.filter((exclusion) => exclusion.class === 'local' || (exclusion.class === 'blocked' && blockedHere.has(exclusion.provider)));
}

/** A base URL whose host is a loopback address or `localhost` (names are not resolved). */
function onLoopback(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || isLoopbackAddress(host);
}

/**
 * What a refused pinned request could be sent to instead: the candidates of `unpinned`, the same
 * request planned with model `auto` and no provider named, so each passed every rule for it (its
 * class, kind, capabilities, context window, envelope…) — best ranked first — and the ones held
 * out only by health, with their state. One per name (`Alternative.name`), the best ranked model
 * of a provider named alone. Empty without `unpinned` (nothing was pinned).
 */
export function alternativesTo(refused: RoutePlan, unpinned: RoutePlan | undefined): Alternative[] {
  if (unpinned === undefined) return [];
  const considered = new Set(refused.excluded.map((exclusion) => exclusion.provider));
  const refusedTargets = new Set(refused.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model}`));
  const name = (target: { provider: string; model: string }): string => (considered.has(target.provider) ? `${target.provider}:${target.model}` : target.provider);
  const fresh = (target: { provider: string; model: string }): boolean => !refusedTargets.has(`${target.provider}:${target.model}`);
  const callable = unpinned.candidates.filter(fresh).map((candidate): Alternative => ({ provider: candidate.provider, model: candidate.model, name: name(candidate) }));
  const held = unpinned.excluded.filter(fresh).flatMap((exclusion): Alternative[] => {
    const state = heldState(exclusion);
    return state === undefined || callable.some((alternative) => alternative.name === name(exclusion)) ? [] : [{ provider: exclusion.provider, model: exclusion.model, name: `${name(exclusion)} (${state})` }];
  });
  const byName = new Map<string, Alternative>();
  for (const alternative of [...callable, ...held]) if (!byName.has(alternative.name)) byName.set(alternative.name, alternative);
  return [...byName.values()];
}

/** Down, or held back by a rate limit, and nothing else: what health alone keeps out. */
function heldState(exclusion: Exclusion): 'down' | 'rate-limited' | undefined {
  if (onlyRateLimited(exclusion)) return 'rate-limited';
  return onlyDown(exclusion) ? 'down' : undefined;
}

/**
 * The rules that keep a model out, but the first-token budget: a model that misses nothing but
 * that budget is kept as a last resort when nothing else may take the request (`planRoute`), so
 * one also down or held back is kept out by its health alone — unavailable just now, not refused
 * (an engine slowed by the requests it is answering, then rate-limiting or failing under them).
 */
function rulesBesidesLatency(exclusion: Pick<Exclusion, 'rules'>): ExclusionRule[] {
  return exclusion.rules.filter((rule) => rule !== 'latency_budget');
}

/** Left out only because its provider (or model) is down: nothing but health (and the first-token budget, `rulesBesidesLatency`) keeps it out. */
export function onlyDown(exclusion: Pick<Exclusion, 'rules'>): boolean {
  const rules = rulesBesidesLatency(exclusion);
  return rules.length > 0 && rules.every((rule) => rule === 'unhealthy');
}

/** Left out only because it is held back for a rate limit (besides the first-token budget, `rulesBesidesLatency`). */
export function onlyRateLimited(exclusion: Pick<Exclusion, 'rules'>): boolean {
  const rules = rulesBesidesLatency(exclusion);
  return rules.length === 1 && rules[0] === 'rate_limited';
}

/** Why one provider (or one model of it) could not take a request just now: the ways health keeps it out. */
export interface Unavailability {
  provider: string;
  /** Set when only this model of the provider is held back (its own 429, overload or absence). */
  model?: string;
  local: boolean;
  /**
   * `unreachable`: nothing answered; `failing`: it answered, but its calls failed; `rate_limited`:
   * it answered 429; `not_found`: the provider answered that it does not serve the model;
   * `embeddings_not_enabled`: that it serves no embeddings (llama-server without `--embeddings`);
   * `tools_refused` (always of a model): its engine refused the request's tools, now or earlier.
   */
  kind: 'unreachable' | 'failing' | 'rate_limited' | 'not_found' | 'embeddings_not_enabled' | 'tools_refused';
  /** Seconds until syndicate tries it again (down) or may use it again (rate-limited); undefined when not held out, or unknown. */
  retryInSeconds?: number;
  /** The command that starts its engine, when its record declares how (`engine.launch`). */
  startCommand?: string;
  /** `failing`: the HTTP status it answered with, when known (a 401 or 403: it wants its API key). */
  status?: number;
  /** `failing`: its (last) call had its connection reset, before or during the answer, rather than an HTTP error. */
  connectionReset?: true;
  /** `failing`: its call waited out the first-byte timeout: it accepted the connection and sent no response. */
  noResponse?: true;
  /** A provider that refused for want of its key (401, 403): the variable its record's `auth.env` names, null when it names none. */
  keyVariable?: string | null;
}

/** What the hint of an unavailable engine can name from the records, by provider id (`engineRemedies`). */
export interface EngineRemedies {
  /** `syndicate engine start ID`, for each record that declares how to launch its engine. */
  starts: Readonly<Record<string, string>>;
  /** The variable of each record's key (`auth.env`), null for one without. */
  keys: Readonly<Record<string, string | null>>;
}

/** What the records of `providers` say of starting their engines and of their keys. */
export function engineRemedies(providers: readonly RegisteredProvider[]): EngineRemedies {
  return {
    starts: Object.fromEntries(providers.filter((provider) => provider.record.engine?.launch !== undefined).map((provider) => [provider.id, `syndicate engine start ${provider.id}`])),
    keys: Object.fromEntries(providers.map((provider) => [provider.id, provider.record.auth?.env ?? null])),
  };
}

/**
 * `unavailable` with the start command of each unreachable engine that has one, and the key
 * variable of each provider that refused for want of its key (`isRefusedForKey`).
 */
export function withEngineRemedies(unavailable: readonly Unavailability[], remedies: EngineRemedies): Unavailability[] {
  return unavailable.map((entry) => {
    const command = entry.kind === 'unreachable' ? remedies.starts[entry.provider] : undefined;
    if (command !== undefined) return { ...entry, startCommand: command };
    const key = isRefusedForKey(entry) ? remedies.keys[entry.provider] : undefined;
    return key === undefined ? entry : { ...entry, keyVariable: key };
  });
}

/**
 * A provider that answered 401 or 403: a local engine runs, and wants the API key it was started
 * with; a hosted API wants a valid key (for the model).
 */
function isRefusedForKey(entry: Unavailability): boolean {
  return entry.kind === 'failing' && (entry.status === 401 || entry.status === 403);
}

/**
 * What to do about a 401 or 403: the key the record names (`auth.env`) was refused or lacks access
 * to the model, or the record sends no key at all. `model` undefined: not a call's answer but an
 * engine's to its health probe, which names none.
 */
export function credentialHint(providerId: string, keyVariable: string | undefined, status: 401 | 403, model?: string): string {
  if (keyVariable === undefined) {
    return `${providerId} asks for a key (HTTP ${status}) and its record sends none: add \`auth: { env: NAME }\` to its provider record, register it again (\`syndicate provider register FILE\`) and export NAME`;
  }
  const passOn = 'in the environment syndicate runs in (restart a running gateway or MCP server to pass it on)';
  return status === 401 || model === undefined
    ? `${providerId} refused the key in ${keyVariable}${status === 401 ? '' : ` (HTTP ${status})`}: export a valid key for ${providerId} as ${keyVariable} ${passOn}`
    : `${providerId} refused ${model} to the key in ${keyVariable}: give that key access to ${model}, or export one that has it as ${keyVariable} ${passOn}`;
}

/** The unavailable ones among a plan's exclusions: down (and nothing else), or only held back by a rate limit. */
export function unavailabilityOfExclusions(excluded: readonly Exclusion[]): Unavailability[] {
  return excluded.flatMap((exclusion): Unavailability[] => {
    const state = heldState(exclusion);
    if (state === undefined) return [];
    const who = { provider: exclusion.provider, ...(exclusion.heldModel === true ? { model: exclusion.model } : {}), local: exclusion.class === 'local' };
    return [unavailabilityOfHold(who, { ...exclusion, rule: state === 'rate-limited' ? 'rate_limited' : 'unhealthy' })];
  });
}

/**
 * What a hint says of a hold (`heldBack`, or a plan's exclusion for one): rate-limited with its
 * wait, or down with its cause (`unreachable` when none is known), last status or connection
 * reset, and when it is tried again.
 */
export function unavailabilityOfHold(who: Pick<Unavailability, 'provider' | 'model' | 'local'>, hold: Pick<Hold, 'rule' | 'retryAfterSeconds' | 'unavailable'>): Unavailability {
  if (hold.rule === 'rate_limited') return { ...who, kind: 'rate_limited', ...(hold.retryAfterSeconds === undefined ? {} : { retryInSeconds: hold.retryAfterSeconds }) };
  const facts: NonNullable<Hold['unavailable']> = hold.unavailable ?? { cause: 'unreachable' };
  const { cause, status, connectionReset, retryInSeconds } = facts;
  return { ...who, kind: cause, ...(status === undefined ? {} : { status }), ...(connectionReset === true ? { connectionReset: true as const } : {}), ...(retryInSeconds === undefined ? {} : { retryInSeconds }) };
}

/**
 * The models a plan left out only for tools their engine refused earlier (`tools_refused`): what a
 * hint names beside the unavailable ones, for the request would go there once restarted with tools.
 */
export function toolsRefusalsOfExclusions(excluded: readonly Exclusion[]): Unavailability[] {
  return excluded.flatMap((exclusion): Unavailability[] =>
    exclusion.rules.length === 1 && exclusion.rules[0] === 'tools_refused' ? [{ provider: exclusion.provider, model: exclusion.model, local: exclusion.class === 'local', kind: 'tools_refused' }] : [],
  );
}

/**
 * What to do when every candidate is unavailable, by why: nothing answers (start the engine or fix
 * the base URL), it answers but fails (its own log; when syndicate tries it again), or it is
 * rate-limiting (when to retry). One clause per reason, the providers named in each.
 */
export function hintForUnavailable(unavailable: readonly Unavailability[]): string {
  const clauses: string[] = [];
  const of = (kind: Unavailability['kind']): Unavailability[] => unavailable.filter((entry) => entry.kind === kind);
  const unreachable = of('unreachable');
  if (unreachable.length > 0) {
    const starts = [...new Set(unreachable.flatMap((entry) => (entry.startCommand === undefined ? [] : [`\`${entry.startCommand}\``])))];
    const start = starts.length === 0 ? 'start the engine' : `start the engine (${starts.join(', ')})`;
    const remedy = unreachable.some((entry) => entry.local)
      ? `${start} or fix the baseUrl in its provider record (\`syndicate doctor\` checks each local engine)`
      : 'check the network and the baseUrl in its provider record';
    clauses.push(`nothing answers at ${names(unreachable)}: ${remedy}${triedAgain(unreachable)}`);
  }
  // A provider refusing for want of its key answers: the key is what to fix, as for a call's 401 (`credentialHint`).
  const firstKeyRefusals = new Map<string, Unavailability>();
  for (const entry of of('failing').filter(isRefusedForKey)) if (!firstKeyRefusals.has(entry.provider)) firstKeyRefusals.set(entry.provider, entry);
  for (const entry of firstKeyRefusals.values()) {
    clauses.push(credentialHint(entry.provider, entry.keyVariable ?? undefined, entry.status === 403 ? 403 : 401, entry.model));
  }
  const failing = of('failing').filter((entry) => !isRefusedForKey(entry));
  if (failing.length > 0) {
    const where = failing.some((entry) => entry.local) ? "the engine's own log or health endpoint" : "the provider's status page";
    const [answer, its] = names(failing).includes(',') ? ['answer', 'their'] : ['answers', 'its'];
    clauses.push(`${names(failing)} ${answer} but ${its} calls fail (${failedHow(failing)}): look at ${where}${triedAgain(failing)}`);
  }
  const notFound = of('not_found');
  if (notFound.length > 0) {
    const [is, its] = names(notFound).includes(',') ? ['are', 'their'] : ['is', 'its'];
    const pull = notFound.some((entry) => entry.local) ? ' or load it into the engine (`ollama pull MODEL`, a GGUF in its models directory)' : '';
    clauses.push(`${names(notFound)} ${is} not served by ${its} provider (it answered that the model does not exist): fix the model id in the provider record${pull}${triedAgain(notFound)}`);
  }
  const noEmbeddings = of('embeddings_not_enabled');
  if (noEmbeddings.length > 0) {
    const [is, its] = names(noEmbeddings).includes(',') ? ['are', 'their'] : ['is', 'its'];
    clauses.push(
      `${names(noEmbeddings)} ${is} declared kind: embedding, but ${its} engine serves no embeddings: start llama-server with \`--embeddings\` (and \`--pooling mean\` for a model that declares no pooling type), or remove the model from the provider record${triedAgain(noEmbeddings)}`,
    );
  }
  const toolsRefused = of('tools_refused');
  if (toolsRefused.length > 0) {
    const [engine, tag] = names(toolsRefused).includes(',') ? ['their engines take', 'them in their provider records'] : ['its engine takes', 'it in its provider record'];
    const releases = [...new Set(toolsRefused.map((entry) => `\`syndicate provider release ${entry.provider}\``))].join(', ');
    clauses.push(
      `${names(toolsRefused)} refused the tools of the request (${engine} none: llama-server started without \`--jinja\`, an Ollama model without tool support): start llama-server with \`--jinja\` (Ollama: use a model that supports tools) and ${releases}, or remove the \`tools\` tag from ${tag}`,
    );
  }
  const rateLimited = of('rate_limited');
  if (rateLimited.length > 0) {
    const wait = soonest(rateLimited);
    clauses.push(`${names(rateLimited)} ${names(rateLimited).includes(',') ? 'are' : 'is'} rate-limiting: ${wait === undefined ? 'retry later' : `retry in ${wait} s`}`);
  }
  if (clauses.length === 0) return 'start the local engine or check the hosted provider, then retry; `syndicate route --explain` shows the candidates';
  return clauses.join('; ');
}

/**
 * Each entry with the time left of the hold of its target (the model's, else the provider's) among
 * `holds`, a rate limit without one its own wait, and the rest no time at all. For a process that
 * keeps no health between requests (`run`, `route`), `holds` are the store's (`holdsInForce`):
 * how long it keeps a down provider out of its own routes means nothing to the next invocation,
 * but a hold recorded in the store is honoured by every process until its time — this one's own
 * failure's included. For one that keeps its health (the gateway), what its monitor holds out.
 */
export function withSharedHoldTimes(
  unavailable: readonly Unavailability[],
  holdsAndRefusals: readonly (Pick<HoldReport, 'provider' | 'model' | 'retryInSeconds'> & { state?: HoldReport['state'] })[],
): Unavailability[] {
  // A tools refusal keeps a model from tools requests only: it says nothing of when it answers again.
  const holds = holdsAndRefusals.filter((hold) => hold.state !== 'tools_refused');
  return unavailable.map(({ retryInSeconds, ...entry }) => {
    const hold =
      (entry.model === undefined ? undefined : holds.find((candidate) => candidate.provider === entry.provider && candidate.model === entry.model)) ??
      holds.find((candidate) => candidate.provider === entry.provider && candidate.model === undefined);
    if (hold !== undefined && !(entry.kind === 'rate_limited' && retryInSeconds !== undefined)) return { ...entry, retryInSeconds: hold.retryInSeconds };
    return entry.kind === 'rate_limited' && retryInSeconds !== undefined ? { ...entry, retryInSeconds } : entry;
  });
}

/**
 * The attempts `fallback.maxHops` allows, counted as the operator saw them: `maxHops` counts the
 * fallbacks after the first attempt, so 3 means 4 attempts ("maxHops (3) ended the walk" after 4
 * attempts read as an off-by-one).
 */
export function attemptsWithinMaxHops(maxHops: number): string {
  if (maxHops <= 0) return 'the only attempt (fallback.maxHops 0: no fallback)';
  return `the first attempt and ${maxHops} fallback${maxHops === 1 ? '' : 's'} (fallback.maxHops)`;
}

/** Why a candidate whose key variable is not set is skipped, as its attempt and the failure name it. */
export function missingKeyReason(variable: string, providerId: string): string {
  return `${variable} is not set, so ${providerId} cannot be called`;
}

/** The commands that set the keys of candidates skipped for want of them: `export A=…; export B=…`. */
export function keyExports(variables: readonly string[]): string {
  return variables.map((name) => `export ${name}=…`).join('; ');
}

/**
 * Who is told to set a missing key: a `command` (`run`, `route`: the next one started with the
 * key exported sees it) or a `server` (the gateway, the MCP server), which reads its environment
 * only when it starts — nothing reaches a running process's environment, SIGHUP included (it
 * re-reads the policy and the token).
 */
export type KeyReader = 'command' | 'server';

/** What to do when every candidate tried was skipped for its unset key (`where`: whether retrying can see it, see `KeyReader`). */
export function hintForMissingKeys(variables: readonly string[], where: KeyReader = 'command'): string {
  return `set the key in the environment syndicate runs in (${keyExports(variables)}), ${where === 'command' ? 'then retry' : KEY_NEEDS_RESTART}`;
}

/** What a server skipping a provider for its unset key must be told: retrying does not help it. */
const KEY_NEEDS_RESTART =
  'then restart the gateway or MCP server: a running one reads its environment only when it starts (SIGHUP re-reads the policy and the token, not the environment); a service takes it from its unit (Environment= or EnvironmentFile=) at `systemctl restart`';

/** The hint of one attempt skipped for its unset key `variable` (`where` as `hintForMissingKeys`). */
export function hintForMissingKey(variable: string, where: KeyReader = 'command'): string {
  return `${keyExports([variable])} in the environment syndicate runs in${where === 'command' ? '' : `, ${KEY_NEEDS_RESTART}`}`;
}

/**
 * The clause for candidates the hop limit cut off whose key is not set (`Candidate.missingKey`):
 * they rank after every callable candidate, so `fallback.maxHops` can end the walk before them,
 * and the failure would otherwise never say that a provider with its key set could have taken
 * the request. Undefined when none of `beyondMaxHops` lacks its key, but for one whose variable
 * the hint already says to set (`named`: when every attempt was skipped for its unset key, the
 * cut-off models are more of the same providers, and "the first attempt and N fallbacks were used
 * before it" would name as others the attempts that were its own).
 */
export function hintForUntriedKeyless(beyondMaxHops: readonly Pick<Candidate, 'provider' | 'class' | 'missingKey'>[], maxHops: number, named: readonly string[] = []): string | undefined {
  const keyless = beyondMaxHops.filter((candidate) => candidate.missingKey !== undefined && !named.includes(candidate.missingKey));
  if (keyless.length === 0) return undefined;
  const providers = [...new Set(keyless.map((candidate) => candidate.provider))];
  const variables = [...new Set(keyless.flatMap((candidate) => (candidate.missingKey === undefined ? [] : [candidate.missingKey])))];
  const one = providers.length === 1;
  const hosted = keyless.every((candidate) => isHostedClass(candidate.class)) ? 'hosted ' : '';
  const who = `${one ? `the ${hosted}provider` : `the ${hosted}providers`} ${providers.join(', ')}`;
  const keys = variables.length === 1 ? `${one ? 'its' : 'their'} key ${variables[0]} is` : `their keys ${variables.join(', ')} are`;
  const them = one ? 'it' : 'them';
  return (
    `${who} could have served it, but ${keys} not set, so ${one ? 'it ranks' : 'they rank'} last, and ${attemptsWithinMaxHops(maxHops)} ${maxHops <= 0 ? 'was' : 'were'} used before ${them}: ` +
    `${keyExports(variables)} to use ${them}`
  );
}

/**
 * What to do when an engine refused an input as longer than the model takes (`input_too_long`):
 * split an embeddings input or shorten a conversation; for llama-server's physical-batch refusal
 * (it embeds each input in one batch of at most `-ub` tokens, 512 by default, however large its
 * context), start it with a larger batch — and in any case declare the window the engine really
 * has, so the router checks the next such input before calling. `message`: the engine's own.
 */
export function hintForInputTooLong(refused: { embeddings: boolean; provider: string; model: string; contextWindow: number | undefined; message: string }): string {
  const target = `${refused.provider}:${refused.model}`;
  const batch = /current batch size: (\d+)/.exec(refused.message)?.[1];
  if (refused.embeddings && /physical batch size/i.test(refused.message)) {
    return (
      `split the input into shorter texts (one vector each), or start llama-server with a physical batch as large as the longest input (\`-b N -ub N\`${batch === undefined ? '' : `; ${batch} tokens now`}); ` +
      `declaring contextWindow: ${batch ?? 'N'} for ${target} in its provider record lets syndicate check inputs against it before calling`
    );
  }
  const record = `if the engine's window is smaller than the contextWindow the record declares for ${target}${refused.contextWindow === undefined ? '' : ` (${refused.contextWindow})`}, lower it so syndicate checks ${refused.embeddings ? 'inputs' : 'prompts'} before calling`;
  return refused.embeddings
    ? `split the input into shorter texts (one vector each), or use an embedding model with a larger window; ${record}`
    : `shorten or compact the conversation, or use a model with a larger window; ${record}`;
}

/** The providers named, or `provider:model` for a model held back on its own. */
function names(entries: readonly Unavailability[]): string {
  return [...new Set(entries.map((entry) => (entry.model === undefined ? entry.provider : `${entry.provider}:${entry.model}`)))].join(', ');
}

/**
 * How the calls of `failing` fail: connection resets when each was reset (naming those reset when
 * only some were), else the usual ways.
 */
function failedHow(failing: readonly Unavailability[]): string {
  const usual = 'HTTP 5xx, broken or malformed answers, timeouts';
  // Accepted the connection, then silence until the first-byte timeout (fixed, 120 s): a hung engine, or a load longer than that.
  if (failing.every((entry) => entry.noResponse === true)) {
    const local = failing.some((entry) => entry.local) ? ': a hung engine, or a model that loads for longer — load it first, `syndicate engine load PROVIDER:MODEL`' : '';
    return `the connection accepted, then no response before the first-byte timeout${local}`;
  }
  const reset = failing.filter((entry) => entry.connectionReset === true);
  if (reset.length === 0) return usual;
  if (reset.length === failing.length) return 'the connection reset, before or during the answer';
  return `connections reset by ${names(reset)}, ${usual}`;
}

/** Whole seconds until the first of them may be used again; undefined when none is held out. */
function soonest(entries: readonly Unavailability[]): number | undefined {
  const waits = entries.flatMap((entry) => (entry.retryInSeconds === undefined ? [] : [entry.retryInSeconds]));
  return waits.length === 0 ? undefined : Math.max(1, Math.ceil(Math.min(...waits)));
}

/**
 * Whole seconds until syndicate may call the first of them again, when every one is held out for
 * a known time (down, failing or rate-limited): a client waiting that long before it retries
 * (`Retry-After`) finds one to call. Undefined when one may be called at once, or none by waiting.
 */
export function retryAfterForUnavailable(entries: readonly Unavailability[]): number | undefined {
  if (entries.length === 0 || entries.some((entry) => entry.retryInSeconds === undefined)) return undefined;
  return soonest(entries);
}

function triedAgain(entries: readonly Unavailability[]): string {
  const wait = soonest(entries);
  return wait === undefined ? ', then retry' : `; syndicate tries it again in ${wait} s`;
}
