import type { Deviation, ProviderClass, WireFormat } from '../common/vocabulary.js';
import type { HoldReport } from '../router/shared-holds.js';

/**
 * How one check came out, from best to worst for the record:
 * `pass` conforms; `declared` deviates the way the record says it does (fine); `warn` worth
 * knowing, not a defect; `inconclusive` the answer could not decide it (e.g. the model replied in
 * text to a tool request); `skipped` not applicable here; `deviation` an undeclared capability
 * deviation (a registration defect); `fail` the wire contract or the record is wrong in a way the
 * deviation vocabulary cannot express (e.g. a missing `id`, a context window the engine does not have).
 */
export const PROBE_VERDICTS = ['pass', 'declared', 'warn', 'inconclusive', 'skipped', 'deviation', 'fail'] as const;
export type ProbeVerdict = (typeof PROBE_VERDICTS)[number];

/** Verdicts that make `provider test` / `provider capabilities` exit 1. */
export const FAILING_VERDICTS: readonly ProbeVerdict[] = ['deviation', 'fail'];

/** One named check, e.g. `wire.id` or `streaming.terminal-marker`. */
export interface ProbeCheck {
  name: string;
  verdict: ProbeVerdict;
  /** What was seen, in one line the operator can act on. */
  detail: string;
  /** The capability deviation this check is evidence of, when it is one. */
  deviation?: Deviation;
  /** The evidence row holding the bytes the check read. */
  evidenceId?: string;
}

/** The probes of `provider capabilities`, in the order they run. */
export const CAPABILITY_PROBES = [
  'token-accounting',
  'streaming',
  'json-mode',
  'seed-control',
  'tool-calls',
  'context-window',
  'stop-sequences',
] as const;
export type CapabilityProbe = (typeof CAPABILITY_PROBES)[number];

/** One row of the capabilities table. */
export interface CapabilityResult {
  capability: CapabilityProbe;
  /** What the record says (a declared deviation, a tag, a context window). */
  declared: string;
  /** What the probe saw. */
  observed: string;
  verdict: ProbeVerdict;
  checks: ProbeCheck[];
  evidenceIds: string[];
}

/** An observed deviation, declared or not, with the evidence that shows it. */
export interface ObservedDeviation {
  deviation: Deviation;
  declared: boolean;
  /** The probe (`provider-test`, `tool-calls`, ...) or `invocation`. */
  source: string;
  evidenceId?: string;
  detail: string;
}

/** The provider as a probe run saw it. */
export interface ProbedProvider {
  id: string;
  version: number;
  class: ProviderClass;
  wire: WireFormat;
}

/** What recording discovered deviations did. */
export interface DiscoveryOutcome {
  /** Ids of the `deviation_discoveries` rows written (one per undeclared deviation). */
  discoveryIds: string[];
  deviations: Deviation[];
  /** True when the provider record got a new version. */
  updated: boolean;
  /** The version now current (the new one when updated). */
  version: number;
  /** The new version's reason, when updated. */
  reason?: string;
}

/** Shared by both commands' results. */
export interface ProbeRunSummary {
  provider: ProbedProvider;
  model: string;
  /** True when nothing failed and every observed deviation is declared. */
  conforms: boolean;
  deviations: ObservedDeviation[];
  evidenceIds: string[];
  /** Undefined when nothing undeclared was found. */
  discovery?: DiscoveryOutcome;
  /** The holds saying the provider, or the model probed, is down that its answers lifted (`ProbeRunner.releaseDownHolds`): none unless every request was answered. */
  released: HoldReport[];
}

/** `provider test`: one minimal request, its checks. */
export interface ProviderTestReport extends ProbeRunSummary {
  checks: ProbeCheck[];
}

/** `provider capabilities`: the battery. */
export interface CapabilitiesReport extends ProbeRunSummary {
  capabilities: CapabilityResult[];
}

const SEVERITY: Record<ProbeVerdict, number> = {
  skipped: 0,
  pass: 1,
  warn: 2,
  inconclusive: 3,
  declared: 4,
  deviation: 5,
  fail: 6,
};

/** The worst verdict of a list of checks (`skipped` when there are none). */
export function worstVerdict(verdicts: readonly ProbeVerdict[]): ProbeVerdict {
  let worst: ProbeVerdict = 'skipped';
  for (const verdict of verdicts) if (SEVERITY[verdict] > SEVERITY[worst]) worst = verdict;
  return worst;
}
