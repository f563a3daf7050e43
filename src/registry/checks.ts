import { DEVIATIONS } from '../common/vocabulary.js';
import { checkLoopbackUrl, isLoopbackAddress } from '../common/loopback.js';
import type { InputProblem } from '../errors.js';
import { findLiteralCredentials } from '../validation/credentials.js';
import { problemAt, sortProblems, type YamlSource } from '../validation/yaml-source.js';
import { validateAgainstSchema } from '../validation/validate.js';
import { tierOrderProblems } from './pricing.js';
import type { ProviderModel, ProviderRecord, TokenRates } from './types.js';

/** The class rule, quoted in every refusal so the operator learns it once. */
export const LOCAL_CLASS_RULE =
  'class "local" requires a baseUrl on this host: localhost, 127.0.0.0/8, ::1, or a name that resolves only to loopback';
export const LOCAL_CLASS_HINT =
  'an engine on another machine (LAN, tailnet, 0.0.0.0) is not local: register it with a hosted class (class: approved_hosted or restricted_hosted), or point baseUrl at 127.0.0.1';
export const CREDENTIAL_HINT =
  'delete the literal and reference an environment variable instead, e.g. `auth: { env: MY_PROVIDER_API_KEY }`, then export MY_PROVIDER_API_KEY in the shell that runs syndicate';

/** The model name that means "let the policy choose" (router, gateway, `run --model`). */
const AUTO_MODEL = 'auto';

/**
 * Applies defaults so equal meaning gives equal content (and so an equal content hash):
 * class defaults to `local`, deviations default to none and are kept in vocabulary order,
 * trailing slashes are dropped from baseUrl. Expects a schema-valid value.
 */
export function normalizeProviderRecord(value: unknown): ProviderRecord {
  const raw = value as ProviderRecord & { class?: ProviderRecord['class']; deviations?: ProviderRecord['deviations'] };
  const deviations = [...new Set(raw.deviations ?? [])].sort((a, b) => DEVIATIONS.indexOf(a) - DEVIATIONS.indexOf(b));
  return {
    ...raw,
    class: raw.class ?? 'local',
    baseUrl: raw.baseUrl.replace(/\/+$/, ''),
    deviations,
  };
}

/** Literal credentials anywhere in the raw file value; reported even when the schema fails too. */
export function credentialProblems(value: unknown, source: YamlSource | string): InputProblem[] {
  return findLiteralCredentials(value).map((finding) =>
    problemAt(source, finding.pointer, `literal credential refused: this looks like ${finding.kind}; provider files must never hold secrets`, CREDENTIAL_HINT),
  );
}

/** Checks that need no I/O: unique model ids and aliases, a valid base URL and port, URL conventions of the wire format. */
export function structuralProblems(record: ProviderRecord, source: YamlSource | string): InputProblem[] {
  const problems: InputProblem[] = [];
  const modelIndex = new Map<string, number>();
  record.models.forEach((model, index) => {
    if (model.id === AUTO_MODEL) {
      problems.push(
        problemAt(source, `/models/${index}/id`, 'model id "auto" is reserved: a request for model `auto` always lets the policy choose, so it would never reach this model', 'use the id the provider\'s API knows this model by; to let the policy choose among the models, send model `auto`, which needs no model of that name'),
      );
    }
    const first = modelIndex.get(model.id);
    if (first === undefined) modelIndex.set(model.id, index);
    else problems.push(problemAt(source, `/models/${index}/id`, `duplicate model id "${model.id}" (already declared at /models/${first}/id)`, 'model ids must be unique within a provider; remove or rename one'));
  });
  const aliasOwner = new Map<string, string>();
  record.models.forEach((model, index) => {
    (model.aliases ?? []).forEach((alias, aliasIndex) => {
      const pointer = `/models/${index}/aliases/${aliasIndex}`;
      if (alias === AUTO_MODEL) {
        problems.push(
          problemAt(source, pointer, 'alias "auto" is reserved: a request for model `auto` always lets the policy choose, so it would never reach this model', `remove it; to ask for this model by name use ${record.id}:${model.id} or another alias`),
        );
        return;
      }
      const clashingModel = modelIndex.get(alias);
      if (clashingModel !== undefined && clashingModel !== index) {
        problems.push(problemAt(source, pointer, `alias "${alias}" is already the id of /models/${clashingModel}`, 'an alias must not name another model; remove it'));
        return;
      }
      const owner = aliasOwner.get(alias);
      if (owner !== undefined && owner !== model.id) {
        problems.push(problemAt(source, pointer, `alias "${alias}" is already an alias of model "${owner}"`, 'aliases must be unique across the provider\'s models; remove one'));
        return;
      }
      aliasOwner.set(alias, model.id);
    });
  });
  record.models.forEach((model, index) => problems.push(...priceTierProblems(model, `/models/${index}/price/tiers`, source)));
  const urlProblem = baseUrlProblem(record.baseUrl);
  if (urlProblem !== undefined) {
    problems.push(problemAt(source, '/baseUrl', urlProblem, 'use the port the API listens on, or leave the port out for the scheme\'s default (443 for https, 80 for http)'));
  }
  const path = safePathname(record.baseUrl);
  if (record.wire === 'anthropic' && path !== undefined && /\/v1$/.test(path)) {
    problems.push(problemAt(source, '/baseUrl', 'an anthropic-wire baseUrl must not include the /v1 prefix (requests go to {baseUrl}/v1/messages)', `drop the trailing /v1, e.g. ${record.baseUrl.replace(/\/v1\/?$/, '')}`));
  }
  if (record.vendor !== undefined && record.vendor !== record.wire) {
    // Each vendor's extensions belong to its own wire (custom tools to openai, output_config.format to anthropic).
    problems.push(problemAt(source, '/vendor', `vendor "${record.vendor}" serves the ${record.vendor} wire, not ${record.wire}`, `remove vendor, or set wire: ${record.vendor} if baseUrl is ${record.vendor === 'openai' ? 'OpenAI' : 'Anthropic'}'s own API`));
  }
  if (record.wire === 'openai' && path !== undefined && /\/chat\/completions$/.test(path)) {
    problems.push(problemAt(source, '/baseUrl', 'an openai-wire baseUrl ends before /chat/completions (requests go to {baseUrl}/chat/completions)', `drop /chat/completions, e.g. ${record.baseUrl.replace(/\/chat\/completions$/, '')}`));
  }
  return problems;
}

/** The cache rates a tier must repeat when the base price gives them. */
const CACHE_RATES = ['cachedInputPerMTok', 'cacheWriteInputPerMTok', 'cacheWrite1hInputPerMTok'] as const satisfies ReadonlyArray<keyof TokenRates>;

/**
 * What the schema cannot say about a model's price tiers: thresholds in ascending order, each
 * below the context window (a tier no request can reach is a mistake), and every cache rate the
 * base price gives given again (left out, the tier would price cache reads as plain input).
 */
function priceTierProblems(model: ProviderModel, pointer: string, source: YamlSource | string): InputProblem[] {
  const price = model.price;
  const problems: InputProblem[] = [];
  const outOfOrder = new Map(tierOrderProblems(price?.tiers ?? []).map((problem) => [problem.index, problem]));
  (price?.tiers ?? []).forEach((tier, index) => {
    const order = outOfOrder.get(index);
    if (order !== undefined) problems.push(problemAt(source, `${pointer}/${index}/aboveInputTokens`, order.message, order.hint));
    if (tier.aboveInputTokens >= model.contextWindow) {
      problems.push(
        problemAt(source, `${pointer}/${index}/aboveInputTokens`, `no request can exceed ${tier.aboveInputTokens} input tokens: the model's contextWindow is ${model.contextWindow}`, 'use the threshold from the vendor\'s price page, or correct contextWindow'),
      );
    }
    const missing = CACHE_RATES.filter((rate) => price?.[rate] !== undefined && tier[rate] === undefined);
    if (missing.length > 0) {
      problems.push(
        problemAt(source, `${pointer}/${index}`, `the tier gives no ${missing.join(', ')}, which the base price gives: those cache tokens would be priced as the tier's plain input`, `add ${missing.map((rate) => `${rate}:`).join(', ')} with the vendor's rate for inputs over ${tier.aboveInputTokens} tokens`),
      );
    }
  });
  return problems;
}

/**
 * What is wrong with a base URL the schema's pattern let through, or undefined: its port must be
 * 1-65535 (the WHATWG parser accepts port 0 and refuses a larger one only as "Invalid URL"), and
 * the whole must parse as a URL.
 */
export function baseUrlProblem(baseUrl: string): string | undefined {
  const authority = /^https?:\/\/([^/?#]*)/i.exec(baseUrl)?.[1] ?? '';
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1);
  const port = (hostAndPort.startsWith('[') ? /^\[[^\]]*\](?::(.*))?$/ : /^[^:]*(?::(.*))?$/).exec(hostAndPort)?.[1];
  if (port !== undefined && port !== '') {
    const number = /^\d+$/.test(port) ? Number(port) : Number.NaN;
    if (!(number >= 1 && number <= 65535)) return `port must be 1-65535, got ${JSON.stringify(port)} in ${JSON.stringify(baseUrl)}`;
  }
  try {
    new URL(baseUrl);
  } catch {
    return `${JSON.stringify(baseUrl)} is not a valid URL`;
  }
  return undefined;
}

/** The local-class rule, resolving host names: a local record must point at this machine. */
export async function loopbackProblems(record: ProviderRecord, source: YamlSource | string): Promise<InputProblem[]> {
  // A base URL that is not a valid one has its own problem (structuralProblems), not the class rule's.
  if (record.class !== 'local' || baseUrlProblem(record.baseUrl) !== undefined) return [];
  const verdict = await checkLoopbackUrl(record.baseUrl);
  if (verdict.loopback) return [];
  return [problemAt(source, '/baseUrl', `${LOCAL_CLASS_RULE}; ${verdict.reason}`, LOCAL_CLASS_HINT)];
}

/**
 * The same rule without DNS, for code paths that must stay synchronous (recording a probe's
 * discovery): literal loopback addresses and `localhost` pass, any other host only if it is
 * the host an earlier, resolved registration already accepted.
 */
export function loopbackProblemsWithoutResolving(record: ProviderRecord, source: YamlSource | string, acceptedHost?: string): InputProblem[] {
  if (record.class !== 'local' || baseUrlProblem(record.baseUrl) !== undefined) return [];
  let host: string;
  try {
    host = new URL(record.baseUrl).hostname;
  } catch {
    return [problemAt(source, '/baseUrl', `${LOCAL_CLASS_RULE}; "${record.baseUrl}" is not a valid URL`, LOCAL_CLASS_HINT)];
  }
  if (host.toLowerCase() === 'localhost' || isLoopbackAddress(host) || host === acceptedHost) return [];
  return [problemAt(source, '/baseUrl', `${LOCAL_CLASS_RULE}; ${host} is not a loopback address`, LOCAL_CLASS_HINT)];
}

/** Schema, credential and structural checks, plus the resolving loopback check. */
export async function checkProviderValue(
  value: unknown,
  source: YamlSource | string,
): Promise<{ record: ProviderRecord | undefined; problems: InputProblem[] }> {
  const schemaProblems = validateAgainstSchema('provider', value, source);
  const secrets = credentialProblems(value, source);
  if (schemaProblems.length > 0) return { record: undefined, problems: sortProblems([...secrets, ...schemaProblems]) };
  const record = normalizeProviderRecord(value);
  const problems = [...secrets, ...structuralProblems(record, source), ...(await loopbackProblems(record, source))];
  return { record: problems.length === 0 ? record : undefined, problems: sortProblems(problems) };
}

function safePathname(url: string): string | undefined {
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}
