import { canonicalJson, sha256Hex } from '../common/hash.js';
import type { Policy } from './types.js';

const digests = new WeakMap<Policy, string>();

/**
 * `sha256:<hex>` of the effective policy (the file merged over the built-in defaults) as canonical
 * JSON: the same for every file that means the same policy (comments, key order and spelled-out
 * defaults aside), and different for any change of what it decides. Every route plan names it, so
 * every envelope with a route names the policy that decided it; `policy show` and `policy check FILE`
 * print it, so an archived policy file can be matched to the envelopes it decided. Computed once
 * per policy object: a long-running gateway plans every request with the same one.
 */
export function policyDigest(policy: Policy): string {
  let digest = digests.get(policy);
  if (digest === undefined) {
    digest = `sha256:${sha256Hex(canonicalJson(policy))}`;
    digests.set(policy, digest);
  }
  return digest;
}
