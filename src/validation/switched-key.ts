/**
 * Unknown keys that say a real key switched off or on (`noToolsTag`, `disableTools`,
 * `caseInsensitive`, `tools_enabled`): a "did you mean" by spelling alone would offer the real key
 * they negate (`noToolsTag` is two letters from `toolsTag`), and the author who follows it writes
 * the opposite of what they meant. Such a key is answered with how the file says it instead: the
 * boolean that switches it, set to what the key meant (`requireToolsTag: false`), or that nothing
 * switches it off.
 */

/** Words that negate the rest of a key (`noToolsTag`, `tools_disabled`, `dontRequireToolsTag`). */
const NEGATING_WORDS: ReadonlySet<string> = new Set(['no', 'not', 'non', 'dont', 'disable', 'disabled', 'without', 'skip', 'never', 'off']);
/** Prefixes that negate the word they begin (`insensitive`, `unrequire`, `nonlocal`, `disallow`). */
const NEGATING_PREFIXES: readonly string[] = ['non', 'dis', 'un', 'in'];
/** Words that only say the rest of a key is on (`enableTools`, `tools_enabled`, `useToolsTag`). */
const AFFIRMING_WORDS: ReadonlySet<string> = new Set(['enable', 'enabled', 'use', 'with', 'on', 'allow', 'allowed']);

/** The real key an unknown one switches, and whether it says it off. */
interface Switched {
  key: string;
  negated: boolean;
}

/** A key's words, lower-cased: `noToolsTag` and `no_tools_tag` are both `no tools tag`. */
function wordsOf(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/** The allowed key `key` is a switched form of (a word or a prefix taken away leaves it, case and separators aside). */
function switchedKey(key: string, allowed: readonly string[]): Switched | undefined {
  const words = wordsOf(key);
  const byName = new Map(allowed.map((name) => [name.toLowerCase(), name]));
  const found = (rest: readonly string[], negated: boolean): Switched | undefined => {
    const name = byName.get(rest.join(''));
    return name === undefined ? undefined : { key: name, negated };
  };
  for (const [index, word] of words.entries()) {
    const without = [...words.slice(0, index), ...words.slice(index + 1)];
    if (without.length > 0 && (NEGATING_WORDS.has(word) || AFFIRMING_WORDS.has(word))) {
      const switched = found(without, NEGATING_WORDS.has(word));
      if (switched !== undefined) return switched;
    }
    for (const prefix of NEGATING_PREFIXES) {
      if (!word.startsWith(prefix) || word.length < prefix.length + 3) continue;
      const switched = found([...words.slice(0, index), word.slice(prefix.length), ...words.slice(index + 1)], true);
      if (switched !== undefined) return switched;
    }
  }
  return undefined;
}

/**
 * How an unknown key that switches a real one is answered: the clause after `unknown key "…"`
 * and the hint's fix. The boolean that switches the real key is the key itself when it is one
 * (`tools` of a capability rule's `when`), else a boolean beside it whose name ends with it
 * (`requireToolsTag` for `toolsTag`); it is set to what the key meant (`noToolsTag: true` is
 * `requireToolsTag: false`). Undefined when the key is not such a form of any allowed key.
 */
export function switchedKeyAnswer(
  key: string,
  value: unknown,
  properties: Readonly<Record<string, { type?: string }>>,
): { clause: string; fix: string } | undefined {
  const allowed = Object.keys(properties);
  const switched = switchedKey(key, allowed);
  if (switched === undefined) return undefined;
  const isBoolean = (name: string): boolean => properties[name]?.type === 'boolean';
  const switching = isBoolean(switched.key)
    ? switched.key
    : allowed.find((name) => name !== switched.key && isBoolean(name) && name.toLowerCase().endsWith(switched.key.toLowerCase()));
  if (switching === undefined) {
    return switched.negated
      ? { clause: `(nothing switches "${switched.key}" off: set it, or leave it out for its default)`, fix: 'remove it' }
      : { clause: `(did you mean "${switched.key}"?)`, fix: 'remove it' };
  }
  // What the key meant: its own value when it is a boolean (`noTools: false` is `tools: true`), else on.
  const meant = typeof value === 'boolean' ? value : true;
  const written = `${switching}: ${String(switched.negated ? !meant : meant)}`;
  return { clause: `(did you mean "${written}"?)`, fix: `write "${written}" instead` };
}
