import { closest } from '../common/closest.js';
import { catastrophicBacktrackingRisk } from '../common/regex-backtracking.js';
import {
  CAPABILITY_CLASSES,
  exposureRank,
  SENSITIVITY_LEVELS,
  type CapabilityClass,
  type ProviderClass,
  type SensitivityLevel,
  type WorkflowClass,
} from '../common/vocabulary.js';
import { tierOrderProblems } from '../registry/pricing.js';
import { DEFAULT_INDICATOR_WORDS, defaultPolicy } from './defaults.js';
import type { CapabilityPolicy, CapabilityRule, OperatorPattern, Policy, RemoteMediaSetting, TaskRule, TrustTier, WorkflowPreference } from './types.js';

/** The policy file as written: every section optional (schemas/policy.v1.schema.json has already accepted it). */
export interface PolicyDocument {
  apiVersion: 'syndicate/v1';
  kind: 'Policy';
  sensitivity?: Partial<Record<SensitivityLevel, ProviderClass[]>>;
  indicatorWords?: string[];
  patterns?: OperatorPattern[];
  workflows?: Partial<Record<WorkflowClass, Partial<WorkflowPreference>>>;
  tasks?: TaskRule[];
  trustTiers?: Record<string, TrustTier>;
  defaultTrustTier?: string;
  cost?: Policy['cost'];
  fallback?: Partial<Policy['fallback']>;
  egress?: Partial<Policy['egress']>;
  savings?: Partial<Policy['savings']>;
  evidence?: Policy['evidence'];
  /** `remoteUrls`: one setting for every level (restricted stays `refuse`), or per level. */
  media?: { remoteUrls?: RemoteMediaSetting | Partial<Record<SensitivityLevel, RemoteMediaSetting>> };
  capabilities?: Partial<Omit<CapabilityPolicy, 'rules'>> & { rules?: (Omit<CapabilityRule, 'when'> & { when?: CapabilityRule['when'] })[] };
}

/** The savings section over the defaults; a reference model named without any rate is priced by its registered record. */
function mergeSavings(base: Policy['savings'], given: PolicyDocument['savings']): Policy['savings'] {
  const merged = { ...base, ...definedEntries(given ?? {}) };
  const ratesGiven = Object.entries(given ?? {}).some(([key, value]) => key !== 'referenceModel' && value !== undefined);
  return given?.referenceModel !== undefined && !ratesGiven ? { ...merged, priceFromRegistry: true } : merged;
}

/**
 * `media.remoteUrls` over the defaults: one word sets every level but restricted, whose data never
 * leaves this host (a map that allows it for restricted is refused by `checkPolicySemantics`).
 */
function mergeRemoteUrls(base: Policy['media']['remoteUrls'], given: NonNullable<PolicyDocument['media']>['remoteUrls']): Policy['media']['remoteUrls'] {
  if (given === undefined) return base;
  if (typeof given === 'string') return { public: given, internal: given, confidential: given, restricted: 'refuse' };
  return { ...base, ...definedEntries(given) };
}

/** A semantic problem, located by JSON pointer into the file; the loader adds line and column. */
export interface PolicyProblem {
  pointer: string;
  message: string;
  hint?: string;
}

/**
 * The effective policy: the file merged over the built-in defaults. Section by section:
 * sensitivity levels, workflow fields, cost, fallback, savings and capability switches override
 * one by one; indicator words are ADDED to the defaults (which are always kept); patterns,
 * tasks, trust tiers, capability rules and the egress list replace the default when present.
 */
export function mergePolicy(document: PolicyDocument): Policy {
  const base = defaultPolicy();
  const workflows = { ...base.workflows };
  for (const workflow of Object.keys(workflows) as WorkflowClass[]) {
    const override = document.workflows?.[workflow];
    if (override === undefined) continue;
    workflows[workflow] = {
      prefer: override.prefer ?? workflows[workflow].prefer,
      latencyBudget: override.latencyBudget ?? workflows[workflow].latencyBudget,
    };
  }
  const words = new Map<string, string>();
  for (const word of [...DEFAULT_INDICATOR_WORDS, ...(document.indicatorWords ?? [])]) {
    if (!words.has(word.toLowerCase())) words.set(word.toLowerCase(), word);
  }
  const capabilityOverride = document.capabilities ?? {};
  return {
    apiVersion: 'syndicate/v1',
    kind: 'Policy',
    sensitivity: { ...base.sensitivity, ...definedEntries(document.sensitivity ?? {}) },
    indicatorWords: [...words.values()],
    patterns: document.patterns ?? base.patterns,
    workflows,
    tasks: document.tasks ?? base.tasks,
    trustTiers: document.trustTiers ?? base.trustTiers,
    defaultTrustTier: document.defaultTrustTier ?? base.defaultTrustTier,
    cost: { ...base.cost, ...definedEntries(document.cost ?? {}) },
    fallback: { ...base.fallback, ...definedEntries(document.fallback ?? {}) },
    egress: { allowHosts: document.egress?.allowHosts ?? base.egress.allowHosts },
    savings: mergeSavings(base.savings, document.savings),
    evidence: { ...base.evidence, ...definedEntries(document.evidence ?? {}) },
    media: { remoteUrls: mergeRemoteUrls(base.media.remoteUrls, document.media?.remoteUrls) },
    capabilities: {
      nonstandardToolCalls: capabilityOverride.nonstandardToolCalls ?? base.capabilities.nonstandardToolCalls,
      weakJson: capabilityOverride.weakJson ?? base.capabilities.weakJson,
      visionTag: capabilityOverride.visionTag ?? base.capabilities.visionTag,
      toolsTag: capabilityOverride.toolsTag ?? base.capabilities.toolsTag,
      requireToolsTag: capabilityOverride.requireToolsTag ?? base.capabilities.requireToolsTag,
      rules: (capabilityOverride.rules ?? base.capabilities.rules).map((rule) => ({ name: rule.name, when: rule.when ?? {}, require: rule.require })),
    },
  };
}

function definedEntries<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}

/**
 * Checks the schema cannot express. Pointers name the place in the file when the file set it,
 * else the section, so an operator always knows where to look.
 *
 * Sensitivity map rule (decided): the map must be monotonic — a more sensitive level may never
 * allow a class that a less sensitive level denies — and `restricted` may only map to `local`.
 * Anything else would let a classifier upgrade move data *further* out, which no operator means.
 */
export function checkPolicySemantics(policy: Policy, document: PolicyDocument): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const levelPointer = (level: SensitivityLevel): string =>
    document.sensitivity?.[level] === undefined ? '/sensitivity' : `/sensitivity/${level}`;

  const restrictedHosted = policy.sensitivity.restricted.filter((providerClass) => providerClass !== 'local');
  if (restrictedHosted.length > 0) {
    problems.push({
      pointer: levelPointer('restricted'),
      message: `restricted data may only go to local providers, but the policy allows ${restrictedHosted.join(', ')}`,
      hint: 'set `sensitivity.restricted: [local]`; restricted data (secrets, credentials) never leaves this machine',
    });
  }
  for (let index = 1; index < SENSITIVITY_LEVELS.length; index += 1) {
    const level = SENSITIVITY_LEVELS[index] as SensitivityLevel;
    for (const providerClass of policy.sensitivity[level]) {
      const looser = SENSITIVITY_LEVELS.slice(0, index).find((lower) => !policy.sensitivity[lower].includes(providerClass));
      if (looser !== undefined && !(level === 'restricted' && providerClass !== 'local')) {
        problems.push({
          pointer: levelPointer(level),
          message: `${level} allows ${providerClass}, which the less sensitive level ${looser} does not`,
          hint: `a more sensitive level may only allow classes every less sensitive level allows: remove ${providerClass} from ${level} or add it to ${looser}`,
        });
      }
    }
  }
  const remoteUrls = document.media?.remoteUrls;
  if (typeof remoteUrls === 'object' && remoteUrls.restricted === 'allow') {
    problems.push({
      pointer: '/media/remoteUrls/restricted',
      message: 'restricted data never leaves this host, so a restricted request may not have an engine fetch a media URL',
      hint: 'remove `restricted: allow` (restricted requests send images inline, as data: URLs or base64 sources)',
    });
  }
  for (const level of SENSITIVITY_LEVELS) {
    if (policy.sensitivity[level].length === 0) {
      problems.push({
        pointer: levelPointer(level),
        message: `no provider class may receive ${level} data, so every ${level} request would be refused`,
        hint: 'allow at least `local`',
      });
    }
  }

  (document.patterns ?? []).forEach((pattern, index) => {
    if (pattern.regex === undefined && pattern.keywords === undefined) {
      problems.push({ pointer: `/patterns/${index}`, message: `pattern "${pattern.name}" has neither regex nor keywords`, hint: 'add `regex:` or `keywords:`' });
    }
    if (pattern.regex !== undefined) {
      const flags = pattern.caseSensitive === true ? '' : 'i';
      try {
        const compiled = new RegExp(pattern.regex, flags);
        // Testing on '' is safe whatever the shape (there is no text to backtrack over); any
        // other text waits for the backtracking check.
        const backtracking = catastrophicBacktrackingRisk(pattern.regex, flags);
        // Run on one character only once the shape is known safe (a catastrophic one could still stall on three).
        const lone = backtracking === undefined ? loneCharacterMatch(compiled) : undefined;
        if (compiled.test('')) {
          problems.push({
            pointer: `/patterns/${index}/regex`,
            message: `pattern "${pattern.name}" matches the empty string, so it would match every request`,
            hint: 'make the expression require at least one character, e.g. replace `*` with `+`',
          });
        } else if (lone !== undefined) {
          const character = lone.character === ' ' ? 'a space' : `"${lone.character}"`;
          problems.push({
            pointer: `/patterns/${index}/regex`,
            message: `pattern "${pattern.name}" ${lone.length === 0 ? `matches the empty string beside ${character}` : `matches ${character} alone`}, so it would match almost every request`,
            hint: 'describe the whole sensitive value (a host name with its domain, an id with its prefix and digits such as `CUST-[0-9]{6}`); to match words, use `keywords:`',
          });
        } else if (backtracking !== undefined) {
          problems.push({
            pointer: `/patterns/${index}/regex`,
            message: `pattern "${pattern.name}" can backtrack catastrophically, so one prompt could hang classification (ReDoS): ${backtracking.message}`,
            hint: backtracking.hint,
          });
        }
      } catch (error) {
        problems.push({
          pointer: `/patterns/${index}/regex`,
          message: `invalid regular expression: ${(error as Error).message}`,
          hint: 'write an ECMAScript regular expression without surrounding slashes; escape special characters with a backslash',
        });
      }
    }
  });
  const partialRates = partialSavingsRates(document.savings);
  if (partialRates !== undefined) problems.push(partialRates);
  for (const order of tierOrderProblems(policy.savings.tiers ?? [])) {
    problems.push({ pointer: `/savings/tiers/${order.index}/aboveInputTokens`, message: order.message, hint: order.hint });
  }
  reportDuplicates((document.patterns ?? []).map((pattern) => pattern.name), '/patterns', 'pattern', problems);
  reportDuplicates((document.tasks ?? []).map((task) => task.name), '/tasks', 'task', problems);
  // A rule's name is how explanations and refusals cite it ("rule code-needs-medium: …"): two of one name could not be told apart.
  reportDuplicates((document.capabilities?.rules ?? []).map((rule) => rule.name), '/capabilities/rules', 'capability rule', problems);

  if (policy.trustTiers[policy.defaultTrustTier] === undefined) {
    const meant = closest(policy.defaultTrustTier, Object.keys(policy.trustTiers));
    problems.push({
      pointer: document.defaultTrustTier === undefined ? '/trustTiers' : '/defaultTrustTier',
      message: `default trust tier "${policy.defaultTrustTier}" is not defined${meant === undefined ? '' : ` (did you mean "${meant}"?)`}`,
      hint: `define it under trustTiers or choose one of: ${Object.keys(policy.trustTiers).join(', ') || '(none defined)'}`,
    });
  }
  for (const [name, tier] of Object.entries(policy.trustTiers)) {
    if (tier.allowedClasses.length === 0) {
      problems.push({ pointer: `/trustTiers/${name}/allowedClasses`, message: `trust tier "${name}" may use no provider class`, hint: 'allow at least `local`' });
    }
  }

  const taskNames = new Set(policy.tasks.map((task) => task.name));
  (document.capabilities?.rules ?? []).forEach((rule, index) => {
    if (rule.when?.task !== undefined && !taskNames.has(rule.when.task)) {
      problems.push({
        pointer: `/capabilities/rules/${index}/when/task`,
        message: `capability rule "${rule.name}" refers to unknown task "${rule.when.task}"`,
        hint: `use one of the task names: ${[...taskNames].join(', ') || '(no tasks defined)'}`,
      });
    }
  });
  if (policy.cost.perRequestUsd !== undefined && policy.cost.perDayUsd !== undefined && policy.cost.perRequestUsd > policy.cost.perDayUsd) {
    problems.push({
      pointer: '/cost/perRequestUsd',
      message: `the per-request ceiling ${policy.cost.perRequestUsd} USD is above the per-day ceiling ${policy.cost.perDayUsd} USD`,
      hint: 'lower perRequestUsd or raise perDayUsd',
    });
  }
  return problems;
}

/** Letters, digits, then the space and punctuation: what `loneCharacterMatch` tries, each alone and between spaces. */
const LONE_CHARACTERS = ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'].join('');

/**
 * A match of at most one character that a pattern finds in a character written alone or between
 * spaces (`.`, `[a-z]`, `\d`, `\s`, `.{1,3}`, a lone `\b`): such a pattern matches nearly
 * every prompt. Undefined for a pattern that needs more (every real detector does).
 */
function loneCharacterMatch(compiled: RegExp): { character: string; length: number } | undefined {
  for (const character of LONE_CHARACTERS) {
    for (const text of [character, ` ${character} `]) {
      const match = compiled.exec(text);
      // The character matched (a space of the padding, for `\s`), or the one an empty match stands beside.
      if (match !== null && match[0].length <= 1) return { character: match[0] === '' ? character : match[0], length: match[0].length };
    }
  }
  return undefined;
}

/**
 * Savings rates given without both base rates: the missing one would silently be the built-in
 * reference's, so every local answer would be priced half at the operator's model, half at another.
 */
function partialSavingsRates(given: PolicyDocument['savings']): PolicyProblem | undefined {
  if (given === undefined) return undefined;
  const priced = (['inputPerMTok', 'outputPerMTok', 'cachedInputPerMTok', 'tiers'] as const).filter((key) => given[key] !== undefined);
  const missing = (['inputPerMTok', 'outputPerMTok'] as const).filter((key) => given[key] === undefined);
  if (priced.length === 0 || missing.length === 0) return undefined;
  const base = defaultPolicy().savings;
  return {
    pointer: '/savings',
    message:
      `savings gives ${priced.join(', ')} without ${missing.join(' and ')}: the missing ${missing.length === 1 ? 'rate would be' : 'rates would be'} the built-in reference's ` +
      `(${base.referenceModel} at $${base.inputPerMTok} in / $${base.outputPerMTok} out per million tokens), not your model's`,
    hint: 'give inputPerMTok and outputPerMTok together (cachedInputPerMTok and tiers on top of them), or only referenceModel to price savings with that registered model\'s record',
  };
}

function reportDuplicates(names: string[], pointer: string, what: string, problems: PolicyProblem[]): void {
  const seen = new Set<string>();
  names.forEach((name, index) => {
    if (seen.has(name)) {
      problems.push({ pointer: `${pointer}/${index}/name`, message: `duplicate ${what} name "${name}"`, hint: `give each ${what} a unique name` });
    }
    seen.add(name);
  });
}

/** True when `candidate` is the same as or stricter (less exposed) than `permitted`. */
export function isSameOrStricterClass(candidate: ProviderClass, permitted: ProviderClass): boolean {
  return candidate !== 'blocked' && exposureRank(candidate) <= exposureRank(permitted);
}

export function isCapabilityAtLeast(actual: CapabilityClass, minimum: CapabilityClass): boolean {
  return CAPABILITY_CLASSES.indexOf(actual) >= CAPABILITY_CLASSES.indexOf(minimum);
}
