import type { ProviderRecord, RegisteredProvider } from './types.js';
import { credentialHeaders } from '../wire/auth.js';

/**
 * The environment variable a provider's key is read from (`auth.env`), when it is unset or empty
 * in `env`: such a provider cannot be called, so `run` and the gateway skip it and `route` says
 * so. Undefined when the record needs no key or its key is set.
 */
export function missingCredential(record: ProviderRecord, env: NodeJS.ProcessEnv): string | undefined {
  const name = record.auth?.env;
  if (name === undefined) return undefined;
  return credentialOf(record, env) === undefined ? name : undefined;
}

/**
 * The providers a request could be sent to whose key variable is not set in `env` (retired and
 * blocked ones left out: nothing calls them), each with that variable, in the order given.
 */
export function providersWithoutKeys(providers: readonly RegisteredProvider[], env: NodeJS.ProcessEnv): { provider: string; variable: string }[] {
  return providers.flatMap((provider) => {
    if (provider.retiredAt !== null || provider.record.class === 'blocked') return [];
    const variable = missingCredential(provider.record, env);
    return variable === undefined ? [] : [{ provider: provider.id, variable }];
  });
}

/**
 * A provider's key (`auth.env` in `env`) as it is sent: without the whitespace around it, which no
 * key carries but a value often does — a `.env` file saved with CRLF line ends, `read` or a heredoc
 * keeping the line's end — and which no HTTP header may carry (a line break would fail the call
 * before it is sent). Undefined when the record needs no key, or its variable is unset, empty or
 * whitespace alone (so the provider is skipped as one whose key is not set).
 */
export function credentialOf(record: Partial<Pick<ProviderRecord, 'auth'>>, env: NodeJS.ProcessEnv): string | undefined {
  const name = record.auth?.env;
  if (name === undefined) return undefined;
  const key = env[name]?.trim();
  return key === undefined || key === '' ? undefined : key;
}

/**
 * The credential header of a provider's key (`auth`), as its wire sends it, for the metadata and
 * control requests to a local engine started with an API key (`llama-server --api-key`, `vllm
 * serve --api-key`), which refuses its model list, `/props` and the rest without it. Empty when the
 * record needs no key or its key is not set.
 */
export function engineCredentialHeaders(record: Partial<Pick<ProviderRecord, 'auth' | 'wire'>>, env: NodeJS.ProcessEnv): Record<string, string> {
  if (record.auth === undefined) return {};
  return credentialHeaders(record.wire === 'anthropic' ? 'x-api-key' : 'authorization', credentialOf(record, env), record.auth.header);
}
