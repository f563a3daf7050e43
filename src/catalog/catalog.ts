import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { closest } from '../common/closest.js';
import type { EngineKind } from '../common/vocabulary.js';
import { UsageError } from '../errors.js';
import { prepareProviderValue, requireAllValid } from '../registry/register.js';
import type { ProviderRecord } from '../registry/types.js';
import { loadYamlFile } from '../validation/yaml-source.js';

/** One known engine or hosted provider that `provider add <name>` can register. */
export interface CatalogEntry {
  /** The name used on the command line (`ollama`, `llama.cpp`, `anthropic`...), the file's base name. */
  name: string;
  /** The validated, normalised catalog record (models of local entries are placeholders until discovery). */
  record: ProviderRecord;
  /** Path of the catalog file. */
  file: string;
  /** True for engines on this host, whose models are discovered from the engine itself. */
  local: boolean;
  engineKind: EngineKind | undefined;
}

/** The directory shipped with syndicate, resolved from this module (works from src/ and dist/). */
export function catalogDirectory(): string {
  return fileURLToPath(new URL('../../providers/catalog/', import.meta.url));
}

/**
 * The ready-to-edit provider records shipped with syndicate (`providers/examples/`), resolved from
 * this module: where the package is installed, not the current directory.
 */
export function examplesDirectory(): string {
  return fileURLToPath(new URL('../../providers/examples/', import.meta.url));
}

let cached: CatalogEntry[] | undefined;

/** Every catalog entry, validated like any operator file, ordered: local engines first, then hosted. */
export async function loadCatalog(directory: string = catalogDirectory()): Promise<CatalogEntry[]> {
  if (cached !== undefined && directory === catalogDirectory()) return cached;
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.yaml') || file.endsWith('.yml'))
    .sort();
  const results = [];
  for (const file of files) {
    const path = join(directory, file);
    const parsed = loadYamlFile(path, `providers/catalog/${file}`);
    results.push(await prepareProviderValue(parsed.value, parsed.source, path));
  }
  const prepared = requireAllValid(results, 'catalog entries are');
  const entries = prepared.map((item): CatalogEntry => {
    const name = (item.file.split('/').pop() ?? item.file).replace(/\.ya?ml$/, '');
    return {
      name,
      record: item.record,
      file: item.file,
      local: item.record.class === 'local',
      engineKind: item.record.engine?.kind,
    };
  });
  entries.sort((a, b) => Number(b.local) - Number(a.local) || a.name.localeCompare(b.name));
  if (directory === catalogDirectory()) cached = entries;
  return entries;
}

/** The entry named `name`, or a usage error (exit 2) listing the catalog. */
export async function findCatalogEntry(name: string): Promise<CatalogEntry> {
  const entries = await loadCatalog();
  const entry = entries.find((candidate) => candidate.name === name || candidate.record.id === name);
  if (entry === undefined) {
    // `llamacpp` (as the example record `llamacpp-local` spells it), `olama`: the entry meant.
    const suggestion = closest(name, entries.map((candidate) => candidate.name));
    throw new UsageError(`"${name}" is not in the catalog${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`, {
      hint: `known names: ${entries.map((candidate) => candidate.name).join(', ')} (see \`syndicate provider add --list\`); for anything else write a record and use \`syndicate provider register\``,
    });
  }
  return entry;
}
