import { UsageError } from '../errors.js';

/**
 * A caller's `provider` or `provider:model` choice (`run --provider`, the MCP `complete` and
 * `route_explain` tools): the provider the invocation is limited to, and the model as
 * `provider:model` when one is named. `what` names the option in errors (`--provider`, `provider`).
 */
export function providerChoice(value: string | undefined, what = '--provider'): { provider?: string; model?: string } {
  if (value === undefined) return {};
  const index = value.indexOf(':');
  if (index === -1) return { provider: value };
  if (index === 0 || index === value.length - 1) {
    throw new UsageError(`${what} "${value}" names ${index === 0 ? 'no provider' : 'no model'}`, {
      hint: `give a provider id, or provider:model (e.g. ollama or ollama:llama3.2:3b)`,
    });
  }
  return { provider: value.slice(0, index), model: value };
}
