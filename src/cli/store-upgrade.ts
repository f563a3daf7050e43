import { storeUpgradeNotice, type StoreUpgrade } from '../store/upgrade-copy.js';
import type { Output } from './output.js';

/**
 * What a command does when opening the store upgraded it: tells the operator, once, on stderr
 * (never in `--json` output), where the copy of it as the older syndicate left it is, and how to
 * go back with it.
 */
export function storeUpgradeReporter(output: Output): (upgrade: StoreUpgrade) => void {
  return (upgrade) => {
    for (const line of storeUpgradeNotice(upgrade)) output.info(`note: ${line}`);
  };
}
