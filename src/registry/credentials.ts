import type { ProviderRecord } from './types.js';

/**
 * The environment variable a provider's key is read from (`auth.env`), when it is unset or empty
 * in `env`: such a provider cannot be called, so `run` and the gateway skip it and `route` says
 * so. Undefined when the record needs no key or its key is set.
 */
export function missingCredential(record: ProviderRecord, env: NodeJS.ProcessEnv): string | undefined {
  const name = record.auth?.env;
  if (name === undefined) return undefined;
  const key = env[name];
  return key === undefined || key === '' ? name : undefined;
}
