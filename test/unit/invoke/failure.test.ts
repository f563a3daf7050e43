import { describe, expect, it } from 'vitest';
import { PolicyRefusalError, UsageError } from '../../../src/errors.js';
import { namedProviderError, unknownModelError, unknownModelOf, unservableReason } from '../../../src/invoke/failure.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { provider } from '../router/fixtures.js';

const hintList = (hint: string | undefined): string => /one of: (.*?); `syndicate provider list`/.exec(hint ?? '')?.[1] ?? '';

describe('unknownModelError', () => {
  const up = provider({ id: 'up', models: [{ id: 'a', aliases: ['small'] }] });
  const down = provider({ id: 'down', models: [{ id: 'b' }] });
  const keyless = provider({ id: 'keyless', class: 'approved_hosted', models: [{ id: 'c' }] });
  const retired = provider({ id: 'old', retiredAt: '2025-01-01T00:00:00.000Z', models: [{ id: 'd' }] });
  const why = (entry: { id: string }): string | undefined => ({ down: 'down', keyless: 'key KEYLESS_API_KEY not set' })[entry.id];

  it('lists what can be served now first, then the others marked with why; retired providers not at all', () => {
    const error = unknownModelError('gpt-4o', [down, keyless, retired, up], undefined, why);
    expect(error.message).toBe('unknown model "gpt-4o": no registered model or alias matches');
    expect(hintList(error.hint)).toBe('up:a, small, down:b (down), keyless:c (key KEYLESS_API_KEY not set)');
    expect(error.details).toEqual({ model: 'gpt-4o', known: ['up:a', 'small', 'down:b', 'keyless:c'], unservable: { 'down:b': 'down', 'keyless:c': 'key KEYLESS_API_KEY not set' } });
  });

  it('shows at most eight and counts the rest; servable ones are never pushed out by unservable ones', () => {
    const many = provider({ id: 'many', models: Array.from({ length: 10 }, (_unused, index) => ({ id: `m${index}` })) });
    const list = hintList(unknownModelError('x', [down, many], undefined, why).hint);
    expect(list).toBe('many:m0, many:m1, many:m2, many:m3, many:m4, many:m5, many:m6, many:m7 and 3 more');
  });

  it("names only the pinned provider's models", () => {
    const error = unknownModelError('b', [down, up], 'up', why);
    expect(error.message).toBe('unknown model "b": no model or alias of provider up matches');
    expect(hintList(error.hint)).toBe('up:a, small');
    expect(unknownModelError('x', [], undefined, why).hint).toContain('one of: (none);');
  });
});

describe('unknownModelError: a dated name no record declares', () => {
  const claude = provider({ id: 'claude', class: 'approved_hosted', models: [{ id: 'claude-sonnet-4-5-20240101' }, { id: 'claude-sonnet-4-5-20250929' }, { id: 'claude-haiku-4-5-20251001' }] });
  const openai = provider({ id: 'openai', class: 'approved_hosted', models: [{ id: 'gpt-4o-2024-08-06' }] });
  const retired = provider({ id: 'old', retiredAt: '2025-01-01T00:00:00.000Z', models: [{ id: 'gpt-4o-2024-11-20' }] });
  const servable = (): undefined => undefined;

  it('starts its hint with the undated name, which names the newest dated model of a record (model-names.ts), and what that reaches', () => {
    expect(unknownModelError('claude-sonnet-4-5-20250514', [claude, openai], undefined, servable).hint).toMatch(
      /^name it undated, "claude-sonnet-4-5", for the newest dated model registered \(claude:claude-sonnet-4-5-20250929\); or send model "auto" to let the policy choose, or one of: /,
    );
    // OpenAI's dates; a retired provider's models are never reached.
    expect(unknownModelError('gpt-4o-2024-05-13', [claude, openai, retired], undefined, servable).hint).toMatch(
      /^name it undated, "gpt-4o", for the newest dated model registered \(openai:gpt-4o-2024-08-06\); or send model/,
    );
  });

  it('says nothing of it for an undated name, a dated one of no registered model, or another provider than the one pinned', () => {
    for (const [model, pinned] of [
      ['claude-sonnet-4', undefined],
      ['claude-opus-4-1-20250805', undefined],
      ['gpt-4o-2024-05-13', 'claude'],
    ] as const) {
      expect(unknownModelError(model, [claude, openai], pinned, servable).hint, model).toMatch(/^send model "auto"/);
    }
  });
});

describe('unservableReason', () => {
  it('marks a model held down on its own, and only that model of its provider', () => {
    const claude = provider({ id: 'claude', class: 'approved_hosted', models: [{ id: 'claude-3-opus' }, { id: 'claude-haiku-4-5' }, { id: 'claude-opus-4-1' }] });
    const health = new HealthMonitor({ probe: async () => ({}) });
    health.reportFailure(claude, { kind: 'model_not_found', reason: 'claude answered HTTP 404: model: claude-3-opus' }, 'claude-3-opus');
    for (let call = 0; call < 3; call += 1) health.reportFailure(claude, { kind: 'error', reason: 'claude answered HTTP 529: Overloaded', scope: 'model' }, 'claude-opus-4-1');
    const error = unknownModelError('gpt-4o', [claude], undefined, unservableReason({}, health));
    expect(hintList(error.hint)).toBe('claude:claude-haiku-4-5, claude:claude-3-opus (not served by its provider), claude:claude-opus-4-1 (down)');
  });
});

describe('namedProviderError', () => {
  const active = provider({ id: 'ollama', models: [{ id: 'a' }] });
  const retired = provider({ id: 'old', retiredAt: '2025-01-01T00:00:00.000Z', models: [{ id: 'd' }] });

  it('nothing to say when no provider was named, or the one named is active', () => {
    expect(namedProviderError(undefined, [active])).toBeUndefined();
    expect(namedProviderError('ollama', [active, retired])).toBeUndefined();
  });

  it('an id no provider has is a usage error (exit 2) naming the active ones', () => {
    const error = namedProviderError('nosuch', [active, retired]);
    expect(error).toBeInstanceOf(UsageError);
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toBe('no provider nosuch is registered');
    expect(error?.hint).toBe('name one of: ollama (`syndicate provider list`), or leave the provider out to let the policy choose');
  });

  it('an id none has when no provider is active is left to the route, which says to register one (no_providers)', () => {
    expect(namedProviderError('embedded', [])).toBeUndefined();
    expect(namedProviderError('embedded', [retired])).toBeUndefined();
    expect(namedProviderError('old', [retired])).toBeInstanceOf(PolicyRefusalError);
  });

  it('a retired one is refused (exit 4), said once', () => {
    const error = namedProviderError('old', [active, retired]);
    expect(error).toBeInstanceOf(PolicyRefusalError);
    expect(error).toMatchObject({ code: 'provider_retired', exitCode: 4, message: 'provider old was retired at 2025-01-01T00:00:00.000Z: a retired provider is never called' });
    expect(error?.hint).toBe('register it again (`syndicate provider register FILE`), or name an active one: ollama (`syndicate provider list`)');
  });
});

describe('unknownModelOf', () => {
  const ollama = provider({ id: 'ollama', models: [{ id: 'llama3.2:3b', aliases: ['fast'] }] });
  const anthropic = provider({ id: 'anthropic', class: 'approved_hosted', models: [{ id: 'haiku' }] });
  const servable = (): undefined => undefined;

  it('is undefined when a registered model answers to the name (or nothing is registered: the route refuses that)', () => {
    for (const model of ['auto', 'fast', 'haiku', 'ollama:llama3.2:3b']) expect(unknownModelOf(model, [ollama, anthropic], undefined, servable)).toBeUndefined();
    expect(unknownModelOf('nosuch', [], undefined, servable)).toBeUndefined();
  });

  it("names the model when nothing serves it, or when the provider asked for does not", () => {
    expect(unknownModelOf('nosuch', [ollama, anthropic], undefined, servable)?.message).toBe('unknown model "nosuch": no registered model or alias matches');
    const pinned = unknownModelOf('haiku', [ollama, anthropic], 'ollama', servable);
    expect(pinned).toMatchObject({ exitCode: 2, message: 'unknown model "haiku": no model or alias of provider ollama matches' });
    expect(unknownModelOf('anthropic:haiku', [ollama, anthropic], 'ollama', servable)?.message).toContain('no model or alias of provider ollama');
    expect(unknownModelOf('fast', [ollama, anthropic], 'ollama', servable)).toBeUndefined();
  });
});
