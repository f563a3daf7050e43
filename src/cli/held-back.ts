import { describeHold, type HoldReport } from '../router/shared-holds.js';
import type { Output } from './output.js';

/**
 * The holds in force (`holdsInForce`), one line each after a heading; `none` is printed when there
 * are none (nothing when it is absent).
 */
export function printHeldBack(output: Output, holds: readonly HoldReport[], none?: string): void {
  if (holds.length === 0) {
    if (none !== undefined) output.line(none);
    return;
  }
  output.line(output.color.yellow('held back from routes (by every syndicate process on this store, until the time shown):'));
  for (const hold of holds) output.line(`  ${describeHold(hold)}`);
}
