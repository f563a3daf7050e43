import type { ProviderModel, ProviderRecord } from './types.js';

/** How many of a provider's models a hint names before it points at `syndicate provider show`. */
export const MODELS_NAMED_IN_HINTS = 3;

/** The tag Ollama reads a model name without one as. */
export const OLLAMA_DEFAULT_TAG = ':latest';

/** Ollama names `llama3.2` and `llama3.2:latest` the same model. */
export function sameOllamaModel(a: string, b: string): boolean {
  return a === b || `${a}${OLLAMA_DEFAULT_TAG}` === b || a === `${b}${OLLAMA_DEFAULT_TAG}`;
}

/** Whether two names are one model on the record's engine: Ollama's `x` and `x:latest` are; elsewhere only the same name. */
export function sameModelOnEngine(record: Pick<ProviderRecord, 'engine'>, a: string, b: string): boolean {
  return record.engine?.kind === 'ollama' ? sameOllamaModel(a, b) : a === b;
}

/**
 * The model of a provider record that a name refers to: the one it names (`findNamedModel`), else
 * the newest dated model the name is the undated form of (`findUndatedModel`: `claude-sonnet-4-5`
 * for a declared `claude-sonnet-4-5-20250929`). Undefined when none.
 */
export function findDeclaredModel(record: Pick<ProviderRecord, 'models' | 'engine'>, name: string): ProviderModel | undefined {
  return findNamedModel(record, name) ?? findUndatedModel(record, name);
}

/**
 * The model of a provider record a name names: its id or one of its aliases; for an Ollama engine,
 * which reads a name without a tag as `:latest`, also the same model spelt the other way
 * (`llama3.2` for a declared `llama3.2:latest`, and the reverse). Undefined when none.
 */
export function findNamedModel(record: Pick<ProviderRecord, 'models' | 'engine'>, name: string): ProviderModel | undefined {
  const exact = record.models.find((model) => model.id === name || (model.aliases ?? []).includes(name));
  if (exact !== undefined || record.engine?.kind !== 'ollama') return exact;
  return record.models.find((model) => sameOllamaModel(model.id, name));
}

/** A dated id's date: Anthropic's `-YYYYMMDD` or OpenAI's `-YYYY-MM-DD` at its end. */
const DATE_SUFFIX = /-(\d{4})-?(\d{2})-?(\d{2})$/;

/** Anthropic's moving alias: `claude-3-5-haiku-latest` is the newest `claude-3-5-haiku-YYYYMMDD`. */
const LATEST_SUFFIX = '-latest';

/**
 * The undated form of a dated name (`claude-sonnet-4-5` for `claude-sonnet-4-5-20250514`, `gpt-4o`
 * for `gpt-4o-2024-05-13`), which `findUndatedModel` reads as the newest dated model of a record;
 * undefined for a name without a date.
 */
export function undatedName(name: string): string | undefined {
  const dated = DATE_SUFFIX.exec(name);
  return dated === null || dated.index === 0 ? undefined : name.slice(0, dated.index);
}

/**
 * The model a name is the undated form of, as Anthropic's and OpenAI's APIs read it: the record's
 * model whose id is the name plus a date suffix (`claude-sonnet-4-5` → `claude-sonnet-4-5-20250929`,
 * `gpt-4o` → `gpt-4o-2024-08-06`; `NAME-latest` the same as `NAME`); when several dates match, the
 * newest. Undefined when the name is itself dated or none matches.
 */
export function findUndatedModel(record: Pick<ProviderRecord, 'models'>, name: string): ProviderModel | undefined {
  const base = name.endsWith(LATEST_SUFFIX) ? name.slice(0, -LATEST_SUFFIX.length) : name;
  if (base === '' || DATE_SUFFIX.test(base)) return undefined;
  let newest: { model: ProviderModel; date: string } | undefined;
  for (const model of record.models) {
    const dated = DATE_SUFFIX.exec(model.id);
    if (dated === null || model.id.slice(0, dated.index) !== base) continue;
    const date = `${dated[1]}${dated[2]}${dated[3]}`;
    if (newest === undefined || date > newest.date) newest = { model, date };
  }
  return newest?.model;
}
