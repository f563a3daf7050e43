import { describe, expect, it } from 'vitest';
import type { InputProblem } from '../../../src/errors.js';
import { validateAgainstSchema } from '../../../src/validation/validate.js';

const POLICY = { apiVersion: 'syndicate/v1', kind: 'Policy' };

/** The problems of a policy with these top-level members, as `pointer message — hint`. */
function problems(members: Record<string, unknown>): string[] {
  return validateAgainstSchema('policy', { ...POLICY, ...members }, 'policy.yaml').map((problem: InputProblem) => `${problem.pointer} ${problem.message} — ${problem.hint ?? ''}`);
}

/**
 * `workflows:` holds `interactive` and `batch` only; an author who writes `workflows: {code-review: …}`
 * wants a rule for a team or tool, which is a trust tier: the hint says so, naming the key.
 */
describe('an unknown workflow name', () => {
  it('is told that a rule for a team or tool is a trust tier, named after the key, and how serve and mcp take it', () => {
    expect(problems({ workflows: { 'code-review': { prefer: ['local'] } } })).toEqual([
      '/workflows/code-review unknown key "code-review" — remove it; allowed keys here: interactive, batch; a rule for a team or tool is not a workflow but a trust tier: trustTiers.code-review, given to `syndicate serve --trust-tier code-review` / `syndicate mcp --trust-tier code-review`',
    ]);
  });

  it('a name that is no valid tier name is not echoed into the command', () => {
    expect(problems({ workflows: { 'code review; rm': {} } })[0]).toContain('trustTiers.<name>, given to `syndicate serve --trust-tier <name>`');
    expect(problems({ workflows: { CodeReview: {} } })[0]).toContain('trustTiers.<name>');
  });

  it('a misspelt workflow is offered the workflow, not a trust tier', () => {
    const [problem] = problems({ workflows: { interactve: {} } });
    expect(problem).toBe('/workflows/interactve unknown key "interactve" (did you mean "interactive"?) — remove it; allowed keys here: interactive, batch');
  });

  it('an unknown key elsewhere is not told about trust tiers', () => {
    expect(problems({ workflows: { interactive: { codeReview: {} } }, fallback: { codeReview: 1 } }).join('\n')).not.toContain('trust tier');
  });
});
