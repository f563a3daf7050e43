import { checkLoopbackUrl } from '../common/loopback.js';
import { shellWord } from '../common/shell-word.js';
import { UsageError } from '../errors.js';
import { LOCAL_CLASS_HINT, LOCAL_CLASS_RULE } from '../registry/checks.js';
import { missingCredential } from '../registry/credentials.js';
import { registerProviderRecord } from '../registry/register.js';
import type { ProviderRecord, RegistrationOutcome } from '../registry/types.js';
import { keyExports } from '../router/hints.js';
import type { Store } from '../store/store.js';
import { findCatalogEntry } from './catalog.js';
import { discoverModels, type DiscoveryResult } from './discovery.js';

export interface AddFromCatalogOptions {
  /** Provider id to register under (default: the catalog entry's id). */
  id?: string;
  /** Where the engine or API listens (default: the catalog entry's baseUrl). */
  baseUrl?: string;
  timeoutMs?: number;
  onProgress?: (text: string) => void;
  /** Where the record's key variable is looked for, to say when it is not set (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** What `provider add` did. */
export interface AddFromCatalogResult {
  /** The catalog entry's name. */
  entry: string;
  record: ProviderRecord;
  outcome: RegistrationOutcome;
  /** Present for local engines: what discovery found and guessed. */
  discovery: DiscoveryResult | undefined;
  /**
   * What was registered otherwise than the catalog entry says, and why (a vendor left out for
   * another host); and a key variable not set in this environment, which every call needs.
   */
  notes: string[];
}

/**
 * `provider add <name>`: a local engine's models are discovered from the running engine and
 * registered; a hosted entry registers with its class and `auth.env`, without any network call.
 * Nothing is registered when the engine is unreachable (UpstreamError, exit 5).
 */
export async function addFromCatalog(
  /** Opened only after discovery succeeded, so a failed add creates no state. */
  store: () => Promise<Store> | Store,
  name: string,
  options: AddFromCatalogOptions = {},
): Promise<AddFromCatalogResult> {
  const entry = await findCatalogEntry(name);
  let baseUrl = (options.baseUrl ?? entry.record.baseUrl).replace(/\/+$/, '');
  if (options.baseUrl !== undefined && !/^https?:\/\/[^\s/?#]+/.test(options.baseUrl)) {
    // `127.0.0.1:8081`, `localhost:11434/v1`: the address as an engine prints it, without its scheme.
    const withoutScheme = /^[^\s/:?#]+:\d+(?:\/\S*)?$/.test(options.baseUrl);
    throw new UsageError(`--base-url "${options.baseUrl}" is not an http(s) URL`, {
      hint: withoutScheme ? `write its scheme: --base-url http://${options.baseUrl}` : `e.g. --base-url ${entry.record.baseUrl}`,
    });
  }
  // A local engine given as its root (`http://127.0.0.1:11434`, as OLLAMA_HOST names it): discovery
  // answers there, but every call would go to `/chat/completions` beside the `/v1` the engine serves.
  const addedPath = entry.local ? missingApiPath(baseUrl, entry.record.baseUrl) : undefined;
  if (addedPath !== undefined) baseUrl = `${baseUrl}${addedPath}`;
  let record: ProviderRecord = { ...entry.record, id: options.id ?? entry.record.id, baseUrl };
  const notes: string[] = [];
  // A vendor's extensions of its wire (OpenAI's custom tools, Anthropic's output_config) go only to
  // its own API: another host — a proxy, a compatible server — gets the wire as every server takes it.
  const { vendor, ...withoutVendor } = record;
  if (vendor !== undefined && new URL(baseUrl).host !== new URL(entry.record.baseUrl).host) {
    record = withoutVendor;
    notes.push(`registered without vendor: ${vendor}: ${new URL(baseUrl).host} is not ${new URL(entry.record.baseUrl).host}, so ${entry.name}'s own extensions of the ${record.wire} wire are not sent to it (write vendor: ${vendor} in a record for \`syndicate provider register\` if it is ${entry.name}'s own API behind another name)`);
  }
  let discovery: DiscoveryResult | undefined;
  if (entry.local) {
    const verdict = await checkLoopbackUrl(baseUrl);
    if (!verdict.loopback) {
      throw new UsageError(`--base-url ${baseUrl}: ${LOCAL_CLASS_RULE}; ${verdict.reason}`, {
        hint: `${LOCAL_CLASS_HINT} (write a record with that class and use \`syndicate provider register\`)`,
      });
    }
    const kind = entry.engineKind;
    if (kind === undefined) throw new UsageError(`catalog entry ${entry.name} declares no engine.kind, so it cannot be discovered`);
    discovery = await discoverModels(kind, baseUrl, {
      defaultBaseUrl: entry.record.baseUrl,
      addCommand: addCommand(entry.name, options),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    record = { ...record, models: discovery.models };
    if (addedPath !== undefined) {
      discovery = { ...discovery, notes: [`--base-url ${options.baseUrl ?? ''} has no path: registered ${baseUrl}, where ${entry.name}'s OpenAI-compatible API answers`, ...discovery.notes] };
    }
  }
  const outcome = await registerProviderRecord(await store(), record, `catalog ${entry.name}`);
  // Registered, but nothing can call it yet: `run` and the gateway would skip it without a word here.
  const missingKey = missingCredential(record, options.env ?? process.env);
  if (missingKey !== undefined) {
    notes.push(`${missingKey} is not set in this environment: ${record.id} is skipped by every request until it is (${keyExports([missingKey])} where syndicate runs: this shell, the gateway's, the MCP client's)`);
  }
  return { entry: entry.name, record, outcome, discovery, notes };
}

/** `syndicate provider add NAME` with the `--id` and `--base-url` it was given, as a note says to run it again. */
function addCommand(name: string, options: AddFromCatalogOptions): string {
  const id = options.id === undefined ? '' : ` --id ${shellWord(options.id)}`;
  const baseUrl = options.baseUrl === undefined ? '' : ` --base-url ${shellWord(options.baseUrl)}`;
  return `syndicate provider add ${shellWord(name)}${id}${baseUrl}`;
}

/** The catalog's API path (`/v1`) when `baseUrl` has none, else undefined: a URL with a path of its own is taken as written. */
function missingApiPath(baseUrl: string, catalogBaseUrl: string): string | undefined {
  const catalogPath = new URL(catalogBaseUrl).pathname.replace(/\/+$/, '');
  if (catalogPath === '') return undefined;
  let given: URL;
  try {
    given = new URL(baseUrl);
  } catch {
    return undefined;
  }
  return given.pathname.replace(/\/+$/, '') === '' && given.search === '' && given.hash === '' ? catalogPath : undefined;
}
