import { readFileSync } from 'node:fs';
import { writeFileAtomically } from '../common/atomic-file.js';
import { sha256Hex } from '../common/hash.js';
import { untrustedFileProblem } from '../home/access.js';
import { schemaUrl } from '../validation/schemas.js';

/**
 * Whether a policy file's exact bytes already passed the policy schema, and the way to say they did.
 *
 * Compiling the policy schema with ajv was most of the work a `run`, `route` or `classify` did of
 * its own — about 130 ms of CPU in a `run` of about 700 — and every process of a batch script paid
 * it again for the same file. The file beside the policy, `policy.yaml.schema-checked`, names the
 * SHA-256 of the policy bytes and of the schema they passed; a process that reads the same two
 * digests there skips the schema (and never loads ajv). Any other bytes (an edit, a newer
 * syndicate's schema) are validated in full, as before. The marker is trusted only as the policy
 * itself is: in the policy's own directory, which `refuseUntrustedPolicy` requires no other user
 * can write, and itself neither another user's nor writable by others — else it is ignored.
 */
export interface PolicySchemaCheck {
  /** True when these bytes passed this schema before. */
  readonly passedBefore: boolean;
  /** Records that the bytes passed (best effort: a directory that cannot be written only loses the shortcut). */
  recordPass(): void;
}

/** The marker file kept beside the policy at `policyPath`. */
export function schemaCheckedPath(policyPath: string): string {
  return `${policyPath}.schema-checked`;
}

/** The marker's content for these policy bytes under the installed policy schema. */
export function schemaCheckedLine(policyBytes: Uint8Array): string {
  return `policy sha256:${sha256Hex(policyBytes)} schema sha256:${sha256Hex(readFileSync(schemaUrl('policy')))}\n`;
}

export function policySchemaCheck(policyPath: string, policyBytes: Uint8Array): PolicySchemaCheck {
  const markerPath = schemaCheckedPath(policyPath);
  const line = schemaCheckedLine(policyBytes);
  const passedBefore = markerSays(markerPath) === line;
  return {
    passedBefore,
    recordPass: () => {
      if (passedBefore) return;
      try {
        writeFileAtomically(markerPath, line, 0o600);
      } catch {
        // A read-only config directory: the next process validates in full, as every one did.
      }
    },
  };
}

function markerSays(markerPath: string): string | undefined {
  try {
    if (untrustedFileProblem(markerPath, 'policy') !== undefined) return undefined;
    return readFileSync(markerPath, 'utf8');
  } catch {
    return undefined;
  }
}
