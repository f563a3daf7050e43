import type { Exclusion, ExclusionRule } from './types.js';

/** What the operator can do about each kind of exclusion, most actionable first. */
const REMEDIES: { rules: readonly ExclusionRule[]; hint: string }[] = [
  {
    rules: ['class_not_allowed', 'egress_denied', 'not_loopback', 'trust_tier', 'fail_closed'],
    hint: 'data this sensitive stays on this host: register a local provider (`syndicate provider add ollama`, or `syndicate engine serve --model FILE --register ID`)',
  },
  {
    rules: ['tools', 'json', 'vision', 'capability_rule'],
    hint: 'no eligible model is tagged for what the request needs: tag a model that has it (models[].tags in its provider record, checked by `syndicate provider capabilities ID`) or send the request to one that does',
  },
  { rules: ['context_length'], hint: "the request does not fit any eligible model's context window: shorten it, lower max_tokens, or use a model with a larger contextWindow" },
  { rules: ['cost_per_request', 'cost_per_day', 'price_unknown'], hint: "the policy's cost limits exclude the rest: raise them in the policy, or price the model in its provider record" },
  { rules: ['latency_budget'], hint: "the workflow's latency budget excludes the rest: relax it in the policy" },
  { rules: ['blocked', 'retired'], hint: 'blocked or retired providers are never called: register another one' },
];

/**
 * The hint for a request no provider may receive, from the rules that excluded the candidates
 * (at most two remedies), always ending with where to see every rule.
 */
export function hintForExclusions(excluded: readonly Exclusion[]): string {
  const applied = new Set(excluded.flatMap((exclusion) => exclusion.rules));
  const remedies = REMEDIES.filter((remedy) => remedy.rules.some((rule) => applied.has(rule))).map((remedy) => remedy.hint);
  return [...remedies.slice(0, 2), '`syndicate route --explain` shows every rule'].join('; ');
}
