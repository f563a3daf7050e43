import { describe, expect, it } from 'vitest';
import { hintForExclusions } from '../../../src/router/hints.js';
import type { Exclusion } from '../../../src/router/types.js';

const excluded = (...rules: Exclusion['rules']): Exclusion => ({ provider: 'p', model: 'm', class: 'local', rules, reasons: rules.map((rule) => `${rule} reason`) });

describe('hintForExclusions', () => {
  it('names the remedy for the rules that excluded the candidates, not a generic one', () => {
    expect(hintForExclusions([excluded('tools')])).toBe(
      'no eligible model is tagged for what the request needs: tag a model that has it (models[].tags in its provider record, checked by `syndicate provider capabilities ID`) or send the request to one that does; `syndicate route --explain` shows every rule',
    );
    expect(hintForExclusions([excluded('context_length')])).toMatch(/^the prompt does not fit any eligible model's context window/);
    expect(hintForExclusions([excluded('class_not_allowed')])).toMatch(/^data this sensitive stays on this host: register a local provider/);
    // A public request refused only because its host is not allowed is not told its data is too sensitive.
    expect(hintForExclusions([excluded('egress_denied')])).toMatch(/^the provider's host is not on the policy's egress allow-list: add it to egress\.allowHosts/);
    expect(hintForExclusions([excluded('fail_closed')])).toMatch(/^the policy or the classifier could not decide/);
    expect(hintForExclusions([excluded('trust_tier')])).toMatch(/^the caller's trust tier/);
    expect(hintForExclusions([excluded('not_loopback')])).toMatch(/^a local-class provider must answer on this host/);
  });

  it('gives at most two remedies, the data-class one first, and always where to see every rule', () => {
    const hint = hintForExclusions([excluded('tools'), excluded('class_not_allowed', 'price_unknown'), excluded('context_length')]);
    const parts = hint.split('; ');
    expect(parts).toHaveLength(3);
    expect(parts[0]).toMatch(/^data this sensitive stays on this host/);
    expect(parts[1]).toMatch(/^no eligible model is tagged/);
    expect(parts[2]).toBe('`syndicate route --explain` shows every rule');
    expect(hintForExclusions([])).toBe('`syndicate route --explain` shows every rule');
  });
});
