/**
 * A caller's `provider` or `provider:model` choice (`run --provider`, the MCP `complete` tool):
 * the provider the invocation is limited to, and the model as `provider:model` when one is named.
 */
export function providerChoice(value: string | undefined): { provider?: string; model?: string } {
  if (value === undefined) return {};
  const index = value.indexOf(':');
  if (index === -1) return { provider: value };
  return { provider: value.slice(0, index), model: value };
}
