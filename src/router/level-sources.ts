import { sensitivityRank, type SensitivityLevel } from '../common/vocabulary.js';
import type { RouteFinding } from './route-request.js';
import type { LevelSource, RoutePlan } from './types.js';

/** Up to this many places are named per source; the rest are counted. */
const SHOWN_LOCATIONS = 3;

/**
 * What set a request's sensitivity, for its plan and the evidence of it: each detector whose
 * findings are at the level decided (its reason and where, never the matched text), or the caller
 * who asked for a higher level than the classifier found. Empty when nothing raised it (public).
 */
export function levelSources(level: SensitivityLevel, findings: readonly RouteFinding[], hint: SensitivityLevel | undefined): LevelSource[] {
  const sources = new Map<string, LevelSource>();
  for (const finding of findings) {
    if (finding.level !== level) continue;
    const key = `${finding.detector}\u0000${finding.reason}`;
    const source = sources.get(key) ?? { detector: finding.detector, reason: finding.reason, locations: [] };
    if (finding.location !== undefined && !source.locations.includes(finding.location)) source.locations.push(finding.location);
    sources.set(key, source);
  }
  if (hint !== undefined && hint === level && sources.size === 0 && sensitivityRank(level) > 0) {
    sources.set('caller', { detector: 'caller', reason: `the caller asked for at least ${level} (run/route --sensitivity, the x-syndicate-sensitivity header, MCP sensitivity)`, locations: [] });
  }
  return [...sources.values()];
}

/** The plan with `levelSources` and a `because:` line after its explanation's first (the level's) line. */
export function withLevelSources(plan: RoutePlan, sources: LevelSource[]): RoutePlan {
  const [first, ...rest] = plan.explanation.split('\n');
  return { ...plan, levelSources: sources, explanation: [first, `because: ${becauseText(sources)}`, ...rest].join('\n') };
}

/** `operator pattern 'hosts' (operator.pattern at messages[0].content[0]); …`, or that no detector matched. */
export function becauseText(sources: readonly LevelSource[]): string {
  if (sources.length === 0) return 'no detector matched';
  return sources
    .map((source) => {
      if (source.locations.length === 0) return `${source.reason} (${source.detector})`;
      const shown = source.locations.slice(0, SHOWN_LOCATIONS).join(', ');
      const more = source.locations.length - SHOWN_LOCATIONS;
      return `${source.reason} (${source.detector} at ${shown}${more > 0 ? ` and ${more} more` : ''})`;
    })
    .join('; ');
}
