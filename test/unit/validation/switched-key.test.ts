import { describe, expect, it } from 'vitest';
import type { InputProblem } from '../../../src/errors.js';
import { validateAgainstSchema } from '../../../src/validation/validate.js';

const POLICY = { apiVersion: 'syndicate/v1', kind: 'Policy' };

/** The problems of a policy with these top-level members, as `pointer message — hint`. */
function problems(members: Record<string, unknown>): string[] {
  return validateAgainstSchema('policy', { ...POLICY, ...members }, 'policy.yaml').map((problem: InputProblem) => `${problem.pointer} ${problem.message} — ${problem.hint ?? ''}`);
}

const CAPABILITY_KEYS = 'allowed keys here: nonstandardToolCalls, weakJson, visionTag, toolsTag, requireToolsTag, rules';

/**
 * An unknown key that negates a real one is two letters from it (`noToolsTag`, `caseInsensitive`):
 * a "did you mean" by spelling offered the key it negates, and its author wrote the opposite of
 * what they meant. It is told how the file says the negation, or that nothing does.
 */
describe('an unknown key that switches a real one off or on', () => {
  it('noToolsTag: the boolean that switches the tools tag off (requireToolsTag: false), not "did you mean toolsTag"', () => {
    expect(problems({ capabilities: { noToolsTag: true } })).toEqual([
      `/capabilities/noToolsTag unknown key "noToolsTag" (did you mean "requireToolsTag: false"?) — write "requireToolsTag: false" instead; ${CAPABILITY_KEYS}`,
    ]);
    // Its value says which way: `noToolsTag: false` keeps the tag required.
    expect(problems({ capabilities: { no_tools_tag: false } })[0]).toContain('unknown key "no_tools_tag" (did you mean "requireToolsTag: true"?)');
    expect(problems({ capabilities: { disableToolsTag: true } })[0]).toContain('(did you mean "requireToolsTag: false"?)');
    expect(problems({ capabilities: { dontRequireToolsTag: true } })[0]).toContain('(did you mean "requireToolsTag: false"?)');
    expect(problems({ capabilities: { noRequireToolsTag: true } })[0]).toContain('(did you mean "requireToolsTag: false"?)');
  });

  it('a negated boolean is the boolean set false: caseInsensitive, noTools, tools_disabled', () => {
    const pattern = { name: 'acme', level: 'restricted', keywords: ['acme'] };
    expect(problems({ patterns: [{ ...pattern, caseInsensitive: true }] })[0]).toContain('unknown key "caseInsensitive" (did you mean "caseSensitive: false"?) — write "caseSensitive: false" instead');
    const rule = (when: Record<string, unknown>) => ({ capabilities: { rules: [{ name: 'big', when, require: { minCapabilityClass: 'large' } }] } });
    expect(problems(rule({ noTools: true }))[0]).toContain('unknown key "noTools" (did you mean "tools: false"?)');
    expect(problems(rule({ tools_disabled: true }))[0]).toContain('(did you mean "tools: false"?)');
    // An affirmed one is the boolean itself, as its value says.
    expect(problems(rule({ visionEnabled: true }))[0]).toContain('unknown key "visionEnabled" (did you mean "vision: true"?)');
    expect(problems(rule({ json_enabled: false }))[0]).toContain('(did you mean "json: false"?)');
  });

  it('a negated key that nothing switches off is told so, and offered no key', () => {
    const [noVision] = problems({ capabilities: { noVisionTag: true } });
    expect(noVision).toContain('unknown key "noVisionTag" (nothing switches "visionTag" off: set it, or leave it out for its default) — remove it;');
    expect(noVision).not.toContain('did you mean');
    expect(problems({ disableFallback: true })[0]).toContain('unknown key "disableFallback" (nothing switches "fallback" off');
  });

  it('a misspelt key is still offered the key it misspells', () => {
    expect(problems({ capabilities: { toolTag: 'tools' } })[0]).toContain('unknown key "toolTag" (did you mean "toolsTag"?) — remove it;');
    expect(problems({ workflows: { interactiv: {} } })[0]).toContain('unknown key "interactiv" (did you mean "interactive"?)');
  });
});
