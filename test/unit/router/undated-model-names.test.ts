/**
 * An undated name (`claude-sonnet-4-5`, `gpt-4o`, `claude-3-5-haiku-latest`) selects each
 * provider's newest model whose id is that name plus a date (`-YYYYMMDD`, `-YYYY-MM-DD`); a name
 * some record declares (id or alias) is that record's alone; a dated name selects only itself.
 */
import { describe, expect, it } from 'vitest';
import { findDeclaredModel } from '../../../src/registry/model-names.js';
import { selectModels } from '../../../src/router/plan.js';
import { provider } from './fixtures.js';

const claude = provider({ id: 'claude', class: 'approved_hosted', wire: 'anthropic', models: [{ id: 'claude-sonnet-4-5-20250101' }, { id: 'claude-sonnet-4-5-20250929' }, { id: 'claude-3-5-haiku-20241022' }] });
const bedrock = provider({ id: 'bedrock', class: 'approved_hosted', wire: 'anthropic', models: [{ id: 'claude-sonnet-4-5-20250929' }] });
const openai = provider({ id: 'openai', class: 'approved_hosted', models: [{ id: 'gpt-4o-2024-05-13' }, { id: 'gpt-4o-2024-08-06' }, { id: 'gpt-4o-mini-2024-07-18' }] });
const local = provider({ id: 'local', models: [{ id: 'qwen2.5-7b', aliases: ['claude-sonnet-4-5'] }] });
const selected = (name: string, providers = [claude, openai]): string[] => selectModels(name, providers).pairs.map((pair) => `${pair.provider.id}:${pair.model.id}`);

describe('undated model names', () => {
  it("select a provider's newest dated model, Anthropic's and OpenAI's date forms alike", () => {
    expect(selected('claude-sonnet-4-5')).toEqual(['claude:claude-sonnet-4-5-20250929']);
    expect(selected('gpt-4o')).toEqual(['openai:gpt-4o-2024-08-06']);
    expect(selected('gpt-4o-mini')).toEqual(['openai:gpt-4o-mini-2024-07-18']);
    expect(selected('claude:claude-sonnet-4-5')).toEqual(['claude:claude-sonnet-4-5-20250929']);
  });

  it('-latest is the undated name', () => {
    expect(selected('claude-3-5-haiku-latest')).toEqual(['claude:claude-3-5-haiku-20241022']);
    expect(selected('claude-sonnet-4-5-latest')).toEqual(['claude:claude-sonnet-4-5-20250929']);
  });

  it('a dated name, a prefix that is not the whole undated id, or a bare -latest select nothing else', () => {
    expect(selected('claude-sonnet-4-5-20250101')).toEqual(['claude:claude-sonnet-4-5-20250101']);
    expect(selected('claude-sonnet-4-5-20240101')).toEqual([]);
    expect(selected('claude-sonnet-4')).toEqual([]);
    expect(selected('claude-sonnet')).toEqual([]);
    expect(selected('-latest')).toEqual([]);
    expect(findDeclaredModel(claude.record, 'claude-sonnet-4-5-2025')).toBeUndefined();
  });

  it('several providers: each one\'s match is a candidate, for the route to choose among within the policy', () => {
    expect(selected('claude-sonnet-4-5', [claude, bedrock])).toEqual(['claude:claude-sonnet-4-5-20250929', 'bedrock:claude-sonnet-4-5-20250929']);
  });

  it('a name a record declares is that record\'s alone: no dated model elsewhere joins it', () => {
    expect(selected('claude-sonnet-4-5', [claude, local])).toEqual(['local:qwen2.5-7b']);
  });
});
