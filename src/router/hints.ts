import type { Exclusion, ExclusionRule } from './types.js';

/** What the operator can do about each kind of exclusion, most actionable first. */
const REMEDIES: { rules: readonly ExclusionRule[]; hint: string }[] = [
  {
    rules: ['class_not_allowed'],
    hint: 'data this sensitive stays on this host: register a local provider (`syndicate provider add ollama`, or `syndicate engine serve --model FILE --register ID`)',
  },
  {
    rules: ['fail_closed'],
    hint: 'the policy or the classifier could not decide, so only local providers may take it: fix what the route explanation names, or register a local provider',
  },
  { rules: ['trust_tier'], hint: "the caller's trust tier keeps it from these providers: see trustTiers in the policy (`syndicate serve --trust-tier` sets the gateway callers' tier)" },
  { rules: ['egress_denied'], hint: "the provider's host is not on the policy's egress allow-list: add it to egress.allowHosts if it may receive data" },
  { rules: ['not_loopback'], hint: 'a local-class provider must answer on this host: point its baseUrl at a loopback address, or register it with a hosted class' },
  {
    rules: ['tools', 'json', 'vision', 'capability_rule'],
    hint: 'no eligible model is tagged for what the request needs: tag a model that has it (models[].tags in its provider record, checked by `syndicate provider capabilities ID`) or send the request to one that does',
  },
  { rules: ['context_length'], hint: "the prompt does not fit any eligible model's context window: shorten or compact the conversation, or use a model with a larger contextWindow" },
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
