import type { RegistryWarmUpReport } from '../invoke/warm-up.js';
import type { Output } from './output.js';

/** What a long-running command (`serve`, `mcp`) says on stderr when a priced model registered while it runs had the tokenizer loaded. */
export function reportRegistryWarmUp(output: Output, report: RegistryWarmUpReport): void {
  if (report.tokenizer) output.info(`the registry changed and a model has a price, so routes count prompts: tokenizer loaded in the background (${Math.round(report.ms)} ms), not by the next request`);
}
