import type { ProviderRecord } from './types.js';
import { credentialHeaders } from '../wire/auth.js';

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

/**
 * The credential header of a provider's key (`auth`), as its wire sends it, for the metadata and
 * control requests to a local engine started with an API key (`llama-server --api-key`, `vllm
 * serve --api-key`), which refuses its model list, `/props` and the rest without it. Empty when the
 * record needs no key or its key is not set.
 */
export function engineCredentialHeaders(record: Partial<Pick<ProviderRecord, 'auth' | 'wire'>>, env: NodeJS.ProcessEnv): Record<string, string> {
  if (record.auth === undefined) return {};
  return credentialHeaders(record.wire === 'anthropic' ? 'x-api-key' : 'authorization', env[record.auth.env], record.auth.header);
}
