import type { Detector, DetectorMatch } from '../types.js';
import { decodeBase64Text } from '../encoded-text.js';
import { maskSecret } from '../mask.js';
import { casings, LiteralGate, matchesOf } from '../scan.js';

/**
 * `credential.assignment`: the VALUE of a password, passphrase, token, secret, API key or
 * credential -> restricted. Recognised forms:
 *   key/value   `password: hunter2`, `DB_PASS=...`, `"api_key": "..."`, `export TOKEN=...`,
 *               `self.secret = '...'`, `spring.datasource.password=...`, `WITH PASSWORD 'x'`
 *   flags       `--password=x`, `--token abc123`
 *   headers     `Authorization: Bearer ...`, `Authorization: Basic ...`, a bare `Bearer <token>`,
 *               a bare `Basic <base64 of user:password>`
 *   URLs        any `scheme://user:pass@host`
 *   HTML forms  `<input type="hidden" name="api_key" value="...">` (attributes in any order, a
 *               Rails-style `user[password]` read by its last name), `<input type="password" value="...">`
 *   prose       `my password is hunter2`, `the API key for staging is "k-123"`
 *   netrc       `machine api.example.com login jane password s3cr3t`
 * Not values: references and placeholders (`$TOKEN`, `${{ secrets.X }}`, `%PASS%`, `{{pw}}`,
 * `<your-token>`, `***`, `REDACTED`, `your-api-key-here`), code (`password=request.form[...]`,
 * `token = get_token()`, `password: string`, `token: Token;`), and counts (`max_tokens: 100`:
 * the key must END in the sensitive word, so `password_length`, `token_url`, `secret_name` are
 * metadata, not credentials).
 */

/** Sensitive last components of a key (lower-cased, after splitting on `_ - .` and camelCase). */
const SENSITIVE_LAST = new Set([
  'password', 'passwd', 'pass', 'passphrase', 'passcode', 'pwd', 'pw', 'passwort', 'secret', 'token', 'credential',
  'credentials', 'creds', 'apikey', 'pin', 'pincode',
]);
/** Run-together keys (`PGPASSWORD`, `MYSQLPASSWD`, `DBSECRET`, `SLACKTOKEN`) end in one of these. */
const SENSITIVE_ENDINGS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey'];
/** `<qualifier>_key` is a secret key; a bare `key` or `primary_key` is not. */
const KEY_QUALIFIERS = new Set([
  'api', 'access', 'secret', 'private', 'auth', 'encryption', 'signing', 'master', 'license', 'client', 'app',
  'account', 'subscription', 'service', 'session', 'webhook', 'hmac', 'jwt', 'decryption', 'cipher',
  'storage', 'shared', 'consumer', 'deploy', 'ssh', 'gpg', 'pgp', 'root', 'admin', 'bearer', 'refresh', 'oauth',
  'sas', 'instrumentation', 'ingestion', 'write', 'management',
]);
/** `secret_key_base`, `password_hash`, `token_value`: the sensitive word qualified by a value-ish suffix. */
const VALUE_SUFFIXES = new Set(['base', 'value', 'val', 'str', 'string', 'b64', 'base64', 'hex', 'raw', 'plain', 'plaintext', 'hash', 'digest', 'salt', 'pepper', 'seed']);
const TOKEN_FAMILY = new Set(['token']);
const PIN_FAMILY = new Set(['pin', 'pincode']);

/** Words that are types, literals or prose, never credential values when unquoted. */
const NOT_A_VALUE = new Set([
  'string', 'str', 'number', 'int', 'integer', 'bool', 'boolean', 'any', 'unknown', 'bytes', 'text', 'varchar', 'char',
  'object', 'secretstr', 'null', 'none', 'nil', 'undefined', 'true', 'false', 'yes', 'no', 'on', 'off', 'empty',
  'required', 'optional', 'redacted', 'hidden', 'removed', 'masked', 'omitted', 'env', 'environment', 'vault', 'prompt',
  'input', 'default', 'type', 'field', 'value', 'the', 'a', 'an', 'is', 'was', 'not', 'see', 'use', 'from', 'of', 'for',
  'and', 'or', 'if', 'in', 'to', 'with', 'must', 'should', 'will', 'can', 'may', 'this', 'that', 'it', 'your', 'my',
  'our', 'their', 'self', 'this.password', 'password', 'token', 'secret', 'passphrase', 'credentials', 'credential',
  'apikey', 'api_key',
]);

const PLACEHOLDER = [
  /^\$/, // $TOKEN, ${TOKEN}, ${{ secrets.TOKEN }}, $(cat file)
  /^%[A-Za-z_][A-Za-z0-9_]*%$/,
  /^\{\{.*\}\}$/,
  /^\{[A-Za-z_][A-Za-z0-9_]*\}$/,
  /^<[^<>]*>$/,
  /^\[[A-Za-z _-]*\]$/,
  /^[*•.…xX#-]+$/,
  /^(?:your|insert|enter|replace|put|add)[-_ ]/i,
  /[-_ ](?:here|goes[-_ ]here)$/i,
  /^(?:redacted|changeme_placeholder|placeholder|dummy|example|sample|todo|tbd|fixme)$/i,
  /^(?:process\.env|os\.environ|os\.getenv|env\(|getenv|System\.getenv|ENV\[)/,
];

const KEYWORD_HIT = /p(?:ass|wd?|in)|secret|token|key|cred|login/gi;

function isKeyCharacter(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 46 || code === 45
  );
}

function isLetterCode(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
}

function splitKey(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.toLowerCase());
}

type KeyFamily = 'password' | 'token' | 'pin' | 'other';

function sensitiveFamily(key: string): KeyFamily | undefined {
  if (key === 'PWD' || key === 'OLDPWD') return undefined; // the shell's working directory
  const parts = splitKey(key);
  const last = parts[parts.length - 1];
  if (last === undefined) return undefined;
  if (last === 'key') {
    const previous = parts[parts.length - 2];
    return previous !== undefined && KEY_QUALIFIERS.has(previous) ? 'other' : undefined;
  }
  if (!SENSITIVE_LAST.has(last) && SENSITIVE_ENDINGS.some((ending) => last.length > ending.length && last.endsWith(ending))) {
    return last.endsWith('token') ? 'token' : last.includes('pass') ? 'password' : 'other';
  }
  if (!SENSITIVE_LAST.has(last)) {
    const qualified = VALUE_SUFFIXES.has(last) && parts.slice(0, -1).some((part) => SENSITIVE_LAST.has(part) && part !== 'pin');
    return qualified ? 'other' : undefined;
  }
  if (TOKEN_FAMILY.has(last)) return 'token';
  if (PIN_FAMILY.has(last)) return 'pin';
  return last.startsWith('pass') || last === 'pwd' ? 'password' : 'other';
}

function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.some((pattern) => pattern.test(value));
}

/** Whether an UNQUOTED value looks like code or a type rather than a literal credential. */
function isCodeLike(value: string, rawValue: string): boolean {
  if (/[()]/.test(value)) return true;
  if (/^[[{|>]/.test(value)) return true;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value) && !/\d/.test(value)) return true;
  if (/^[A-Za-z_$][\w$.]*\[/.test(value)) return true;
  if (rawValue.endsWith(';') && /^[A-Za-z_$][\w$<>]*$/.test(value)) return true;
  return false;
}

interface ValueRead {
  value: string;
  start: number;
  end: number;
  quoted: boolean;
  /** Whether only spaces follow the value up to the end of the line. */
  atLineEnd: boolean;
  raw: string;
}

function readValue(text: string, position: number): ValueRead | undefined {
  const quote = text[position];
  if (quote === '"' || quote === "'" || quote === '`') {
    const lineEnd = indexOrEnd(text, '\n', position + 1);
    const close = text.indexOf(quote, position + 1);
    const end = close === -1 || close > lineEnd ? Math.min(lineEnd, position + 1001) : close;
    const value = text.slice(position + 1, end);
    if (value.length === 0 || value.length > 1000) return undefined;
    return { value, start: position + 1, end, quoted: true, atLineEnd: true, raw: value };
  }
  let end = position;
  while (end < text.length && end - position < 1000 && !/\s/.test(text[end] as string)) end += 1;
  const raw = text.slice(position, end);
  const value = raw.replace(/[,;)\]}>"'`]+$/, '');
  if (value.length === 0) return undefined;
  let after = end;
  while (after < text.length && (text[after] === ' ' || text[after] === '\t' || text[after] === '\r')) after += 1;
  return { value, start: position, end: position + value.length, quoted: false, atLineEnd: after >= text.length || text[after] === '\n', raw };
}

function indexOrEnd(text: string, search: string, from: number): number {
  const index = text.indexOf(search, from);
  return index === -1 ? text.length : index;
}

/**
 * `pairStyle`: the key follows a `;` and the separator is `=`, as in an ODBC or ADO.NET connection
 * string (`Uid=sa;Pwd=Xk9vLm2q7;`): a literal up to its `;`, not a statement of code.
 */
function acceptValue(read: ValueRead, family: KeyFamily, separator: string, key: string, pairStyle: boolean): boolean {
  const { value } = read;
  if (isPlaceholder(value)) return false;
  if (family === 'pin') return /^\d{4,12}$/.test(value);
  if (read.quoted) return value.trim().length > 0;
  if (NOT_A_VALUE.has(value.toLowerCase())) return false;
  // ODBC braces a value holding `;` (`Pwd={p@ss;w0rd}`); code's `;` ends a statement, a pair's ends the value.
  if (pairStyle && value.startsWith('{')) {
    const braced = /^\{[^{}\n]+\}/.exec(read.raw)?.[0];
    return braced !== undefined && !isPlaceholder(braced);
  }
  if (isCodeLike(value, pairStyle ? value : read.raw)) return false;
  if (family === 'token' && /^\d+$/.test(value)) return false;
  if (/^[A-Za-z_]+$/.test(value)) {
    // A bare word: a literal in an env file, a connection string or at the end of a YAML line, a variable elsewhere.
    const envStyle = pairStyle || (/^[A-Z][A-Z0-9_]*$/.test(key.replace(/^export\s+/, '')) && separator === '=');
    const yamlStyle = separator === ':' && read.atLineEnd && !/^[A-Z][a-z]+[A-Z]/.test(value);
    return envStyle || yamlStyle;
  }
  return true;
}

/**
 * One pass over the sensitive words; each hit is tried as the key of an assignment and, failing
 * that, as the subject of a sentence stating a credential.
 */
function scanKeywords(text: string, matches: DetectorMatch[]): void {
  let resumeAt = 0;
  for (const hit of matchesOf(KEYWORD_HIT, text)) {
    if (hit.index < resumeAt) continue;
    let keyStart = hit.index;
    while (keyStart > 0 && isKeyCharacter(text.charCodeAt(keyStart - 1))) keyStart -= 1;
    let keyEnd = hit.index + hit[0].length;
    while (keyEnd < text.length && isKeyCharacter(text.charCodeAt(keyEnd))) keyEnd += 1;
    KEYWORD_HIT.lastIndex = Math.max(KEYWORD_HIT.lastIndex, keyEnd);
    const assignment = keyValueAt(text, keyStart, keyEnd);
    if (assignment !== undefined) {
      matches.push(assignment);
      resumeAt = assignment.end;
      continue;
    }
    const statement = proseAt(text, hit.index) ?? passphraseAt(text, hit.index) ?? netrcAt(text, hit.index);
    if (statement !== undefined) {
      matches.push(statement);
      resumeAt = statement.end;
    }
  }
}

function keyValueAt(text: string, keyStart: number, keyEnd: number): DetectorMatch | undefined {
  let rawKey = text.slice(keyStart, keyEnd);
  const flagStyle = rawKey.startsWith('-');
  let position = keyEnd;
  const openingQuote = text[keyStart - 1];
  if ((openingQuote === '"' || openingQuote === "'") && text[position] === openingQuote) position += 1;
  while (text[position] === ' ' || text[position] === '\t') position += 1;
  const next = text[position];
  // Cheap rejection first: most sensitive words in text are not followed by a separator.
  if (next !== ':' && next !== '=' && !(position > keyEnd && (flagStyle || next === "'" || next === '"'))) return undefined;
  rawKey = rawKey.replace(/^-+/, '').replace(/[.-]+$/, '');
  const family = sensitiveFamily(rawKey);
  if (family === undefined) return undefined;
  let separator = '';
  const rest = text.slice(position, position + 3);
  if (rest.startsWith('===')) separator = '===';
  else if (rest.startsWith(':=') || rest.startsWith('=>') || rest.startsWith('==')) separator = rest.slice(0, 2);
  else if (rest.startsWith('=') || (rest.startsWith(':') && !rest.startsWith('::'))) separator = rest.slice(0, 1);
  if (separator !== '') {
    position += separator.length;
    while (text[position] === ' ' || text[position] === '\t') position += 1;
  } else {
    // `--password hunter2` (a flag) or `WITH PASSWORD 'x'` (SQL): a space, then the value.
    if (!(flagStyle || (family === 'password' && (next === "'" || next === '"')))) return undefined;
    separator = ' ';
  }
  if (separator.startsWith('==') && !/["'`]/.test(text[position] ?? '')) return undefined;
  const read = readValue(text, position);
  if (read === undefined || !acceptValue(read, family, separator, rawKey, separator === '=' && text[keyStart - 1] === ';')) return undefined;
  return {
    detector: 'credential.assignment',
    level: 'restricted',
    reason: `value assigned to '${rawKey}'`,
    start: keyStart,
    end: read.end,
    excerpt: `${rawKey}${separator === ' ' ? ' ' : separator}${maskSecret(read.value)}`,
  };
}

/**
 * An `Authorization` header's value: eight characters or more, or four or more for `Basic` when
 * they decode to `user:password` (`Basic YTpi` is `a:b`: short, but the header name says what it is).
 */
const AUTHORIZATION_HEADER =
  /\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?<scheme>bearer|basic|token|digest|apikey|key|negotiate|ntlm)\s+)?(?<value>[A-Za-z0-9._~+/=:-]{4,})/gi;
const BARE_BEARER = /\bBearer\s+(?<value>[A-Za-z0-9._~+/-]{16,}=*)/g;
/**
 * `Basic <base64>`, the space also as a URL or a form writes it (`?auth=Basic%20…`, `Basic+…`).
 * Eight characters at least (`u:pw`): of four, words decode to `user:password` (`MTok` to `1:$`).
 * A run followed by `:` is the start of a `word:word` (`Basic settings:…`), not a value.
 */
const BARE_BASIC = /\bbasic(?:\s+|%20|\+)(?<value>[A-Za-z0-9+/]{8,2048}={0,2})(?![A-Za-z0-9+/=_:-])/gi;
/**
 * Basic credentials stored under an `auth` key: `~/.docker/config.json` (`"auth": "<base64>"`),
 * `.npmrc` (`//registry/:_auth=<base64>`), a YAML `auth:`. Like a bare `Basic`, a credential only
 * when the base64 decodes to `user:password`.
 */
const AUTH_KEY_VALUE = /auth["']?\s*[:=]\s*["']?(?<value>[A-Za-z0-9+/]{8,2048}={0,2})(?![A-Za-z0-9+/=_:-])/g;
/**
 * A `Cookie:` or `Set-Cookie:` header (what `curl -v`, a HAR file or a browser's copy-as-curl
 * shows): a session cookie is a bearer credential. Each `name=value` pair of the header whose value
 * looks like a token — 16 characters or more of a token's alphabet, letters and digits both — counts.
 */
const COOKIE_HEADER = /\b(?:set-)?cookie["']?\s*:\s*["']?(?<pairs>[^\r\n"']{1,4096})/gi;
const COOKIE_PAIR = /(?:^|;)\s*(?<name>[^=;\s]{1,100})=(?<value>[A-Za-z0-9%._~+/:-]{16,}={0,2})(?=;|\s|$)/g;
const URL_USERINFO = /:\/\/(?<user>[^\s:/@'"<>]{1,100}):(?<value>[^\s@/'"<>]{1,200})@[^\s/'"<>]/g;

const AUTHORIZATION_GATE = new LiteralGate(casings(['authorization']));
const BEARER_GATE = new LiteralGate(['Bearer']);
const BASIC_GATE = new LiteralGate(casings(['basic']));
const URL_GATE = new LiteralGate(['://']);
const COOKIE_GATE = new LiteralGate(casings(['cookie']));

function scanHeadersAndUrls(text: string, matches: DetectorMatch[]): void {
  if (AUTHORIZATION_GATE.any(text)) {
    for (const match of matchesOf(AUTHORIZATION_HEADER, text)) {
      const value = match.groups?.value ?? '';
      if (isPlaceholder(value) || (match.groups?.scheme === undefined && !/\d/.test(value))) continue;
      const basic = /^basic$/i.test(match.groups?.scheme ?? '') ? basicCredentialsExcerpt(value) : undefined;
      if (value.length < 8 && basic === undefined) continue;
      matches.push({
        detector: 'credential.assignment',
        level: 'restricted',
        reason: 'Authorization header credential',
        start: match.index,
        end: match.index + match[0].length,
        excerpt: `Authorization: ${match.groups?.scheme === undefined ? '' : `${match.groups.scheme} `}${basic ?? maskSecret(value)}`,
      });
    }
  }
  if (BEARER_GATE.any(text)) {
    for (const match of matchesOf(BARE_BEARER, text)) {
      const value = match.groups?.value ?? '';
      if (isPlaceholder(value) || !/\d/.test(value)) continue;
      matches.push({
        detector: 'credential.assignment',
        level: 'restricted',
        reason: 'bearer token',
        start: match.index,
        end: match.index + match[0].length,
        excerpt: `Bearer ${maskSecret(value)}`,
      });
    }
  }
  if (BASIC_GATE.any(text)) {
    // `Basic <base64>` without its header name (a curl line cut short, a log line, a config
    // value): a credential only when the base64 decodes to `user:password`.
    for (const match of matchesOf(BARE_BASIC, text)) {
      const excerpt = basicCredentialsExcerpt(match.groups?.value ?? '');
      if (excerpt === undefined) continue;
      matches.push({
        detector: 'credential.assignment',
        level: 'restricted',
        reason: 'HTTP Basic credentials (base64 of user:password)',
        start: match.index,
        end: match.index + match[0].length,
        excerpt: `Basic ${excerpt}`,
      });
    }
  }
  // No gate: a LiteralGate on `auth` pivots on `u` (thousands of hits per 100 KB); the expression starts with its literal instead.
  for (const match of matchesOf(AUTH_KEY_VALUE, text)) {
    // The whole key `auth` (`"auth"`, `_auth`), not the end of `oauth` or `x-auth`.
    const before = text[match.index - 1] ?? ' ';
    if (/[A-Za-z0-9-]/.test(before) || (before === '_' && /[A-Za-z0-9]/.test(text[match.index - 2] ?? ''))) continue;
    const excerpt = basicCredentialsExcerpt(match.groups?.value ?? '');
    if (excerpt === undefined) continue;
    matches.push({
      detector: 'credential.assignment',
      level: 'restricted',
      reason: 'HTTP Basic credentials under an auth key (base64 of user:password)',
      start: match.index,
      end: match.index + match[0].length,
      excerpt: `auth ${excerpt}`,
    });
  }
  if (COOKIE_GATE.any(text)) {
    for (const match of matchesOf(COOKIE_HEADER, text)) {
      const pairs = match.groups?.pairs ?? '';
      const pairsStart = match.index + match[0].length - pairs.length;
      for (const pair of matchesOf(COOKIE_PAIR, pairs)) {
        const value = pair.groups?.value ?? '';
        if (!/\d/.test(value) || !/[A-Za-z]/.test(value) || isPlaceholder(value)) continue;
        matches.push({
          detector: 'credential.assignment',
          level: 'restricted',
          reason: `cookie '${pair.groups?.name ?? ''}' (a session cookie is a bearer credential)`,
          start: pairsStart + pair.index + pair[0].length - value.length,
          end: pairsStart + pair.index + pair[0].length,
          excerpt: `${pair.groups?.name ?? ''}=${maskSecret(value)}`,
        });
      }
    }
  }
  if (URL_GATE.any(text)) {
    for (const match of matchesOf(URL_USERINFO, text)) {
      const value = match.groups?.value ?? '';
      if (isPlaceholder(value)) continue;
      let start = match.index;
      while (start > 0 && match.index - start < 20 && /[A-Za-z0-9+.-]/.test(text[start - 1] as string)) start -= 1;
      if (start === match.index) continue;
      matches.push({
        detector: 'credential.assignment',
        level: 'restricted',
        reason: 'password in a URL (user:password@host)',
        start,
        end: match.index + match[0].length - 1,
        excerpt: `${text.slice(start, match.index)}://${match.groups?.user ?? ''}:${maskSecret(value)}@`,
      });
    }
  }
}

/**
 * The excerpt of HTTP Basic credentials, `base64(…:…)` (user and password each masked, so
 * no more of the password shows than of any secret: the base64's own ends would be its bytes), or
 * undefined when `value` is not base64 of `user:password`: printable text without line breaks,
 * split at its first colon (RFC 7617: the password may hold colons, the user id may not), the
 * password non-empty. An empty user id (`:<token>`, as Azure DevOps takes a PAT) needs a password
 * of 8 characters or more: `Basic Only` and `Basic Okta` decode to `:yr` and `:KZ`.
 */
function basicCredentialsExcerpt(value: string): string | undefined {
  const decoded = decodeBase64Text(value);
  if (decoded === undefined || /[\t\n\r\u0080-\u009f]/.test(decoded)) return undefined;
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (password.length === 0 || (user.length === 0 && password.length < 8)) return undefined;
  return `base64(${maskSecret(user)}:${maskSecret(password)})`;
}

const PROSE =
  /(?<key>pass(?:word|phrase|code)s?|pins?|pin codes?|api[ -]?keys?|access keys?|secret keys?|tokens?|secrets?|credentials?|creds|login)\b(?<qualifier>(?:\s+(?:for|of|to|on|at|in)\s+(?:the\s+|my\s+|our\s+|your\s+|this\s+)?[\w.@-]+(?:\s+(?:account|server|box|database|db|vpn|wifi|router|machine|instance|cluster|user|admin|portal|site|app))?)?)\s*(?<verb>is|was|are|equals|is set to|was set to|has been set to|will be|should be|reads|=|:)\s+(?:now\s+|still\s+|just\s+|actually\s+|currently\s+|probably\s+)?(?<value>"[^"\n]{1,200}"|'[^'\n]{1,200}'|`[^`\n]{1,200}`|\S{1,200})/iy;

const PROSE_STOP_WORDS = new Set([
  'a', 'an', 'the', 'not', 'required', 'incorrect', 'wrong', 'invalid', 'expired', 'missing', 'empty', 'set', 'stored',
  'saved', 'hashed', 'encrypted', 'too', 'very', 'being', 'used', 'in', 'on', 'at', 'for', 'of', 'to', 'case', 'usually',
  'optional', 'mandatory', 'needed', 'secure', 'insecure', 'weak', 'strong', 'correct', 'valid', 'ok', 'okay', 'fine',
  'same', 'different', 'short', 'long', 'reset', 'changed', 'leaked', 'compromised', 'visible', 'hidden', 'sent',
  'generated', 'created', 'rotated', 'revoked', 'only', 'also', 'that', 'this', 'what', 'which', 'where', 'how', 'it',
  'we', 'you', 'my', 'your', 'their', 'our', 'his', 'her', 'any', 'no', 'yes', 'something', 'somewhere', 'kept', 'known',
  'unknown', 'shown', 'printed', 'logged', 'needed.', 'necessary', 'case-sensitive', 'valid.', 'removed', 'deprecated',
  'and', 'or', 'but', 'then', 'when', 'so', 'as', 'by', 'with', 'from', 'into', 'less', 'more', 'like', 'over', 'under',
  'available', 'provided', 'passed', 'returned', 'issued', 'refreshed', 'checked', 'verified', 'validated', 'accepted',
  'rejected', 'limited', 'counted', 'one', 'two', 'three', 'each', 'every', 'all', 'some', 'still', 'there', 'here',
  'always', 'never', 'sometimes', 'often', 'typically', 'generally', 'important', 'secret', 'private', 'public', 'per',
  'about', 'approximately', 'roughly', 'around', 'unique', 'random', 'given', 'defined', 'configured', 'missing.',
  'bad', 'good', 'fine.', 'ignored', 'lost', 'forgotten', 'blank', 'null', 'none', 'undefined', 'true', 'false',
]);

/** A sentence stating a credential, starting at the word around `hitIndex` (or the word before `key`). */
function proseAt(text: string, hitIndex: number): DetectorMatch | undefined {
  let wordStart = hitIndex;
  while (wordStart > 0 && isLetterCode(text.charCodeAt(wordStart - 1))) wordStart -= 1;
  const starts = [wordStart];
  if (/^keys?\b/i.test(text.slice(wordStart, wordStart + 5)) && wordStart >= 2) {
    let previous = wordStart - 1;
    while (previous > 0 && (text[previous - 1] === ' ' || text[previous - 1] === '-')) previous -= 1;
    while (previous > 0 && isLetterCode(text.charCodeAt(previous - 1))) previous -= 1;
    starts.unshift(previous);
  }
  for (const start of starts) {
    PROSE.lastIndex = start;
    const match = PROSE.exec(text);
    if (match === null) return undefined;
    const statement = proseStatement(match);
    if (statement !== undefined) return statement;
  }
  return undefined;
}

function proseStatement(match: RegExpExecArray): DetectorMatch | undefined {
  const key = (match.groups?.key ?? '').toLowerCase();
  const verb = match.groups?.verb ?? '';
  // `password: x` and `token = x` without a qualifier are assignments: keyValueAt decides those.
  if ((verb === '=' || verb === ':') && (match.groups?.qualifier ?? '') === '') return undefined;
  // A word verb needs a space before it (`password is`), a symbol does not (`password for x: y`).
  if (/^[a-z]/i.test(verb) && !/\s/.test(match[0].charAt((match.groups?.key ?? '').length + (match.groups?.qualifier ?? '').length))) return undefined;
  const rawValue = match.groups?.value ?? '';
  const quoted = /^["'`]/.test(rawValue);
  const value = quoted ? rawValue.slice(1, -1) : rawValue.replace(/[.,;:!?)\]]+$/, '');
  if (value.length === 0 || isPlaceholder(value)) return undefined;
  const lowerValue = value.toLowerCase();
  if (!quoted && PROSE_STOP_WORDS.has(lowerValue)) return undefined;
  if (!quoted && /^\d+$/.test(value) && key.startsWith('token')) return undefined;
  const isPin = key.startsWith('pin');
  const isPassword = key.startsWith('pass') || key === 'login';
  const looksSecret =
    quoted || /\d/.test(value) || /[^A-Za-z0-9\s]/.test(value.slice(0, -1)) || /[a-z][A-Z]/.test(value) || value.length >= 20;
  if (isPin ? !/^\d{4,12}$/.test(value) : isPassword ? !(looksSecret || /^[a-z]{3,}$/i.test(value)) : !looksSecret) return undefined;
  if (!quoted && isCodeLike(value, value)) return undefined;
  const valueStart = match.index + match[0].length - rawValue.length + (quoted ? 1 : 0);
  return {
    detector: 'credential.assignment',
    level: 'restricted',
    reason: `${key} stated in the text`,
    start: match.index,
    end: valueStart + value.length,
    excerpt: `${match.groups?.key ?? key} ${maskSecret(value)}`,
  };
}

/**
 * A passphrase is several words by nature (`correct horse battery staple`), so the one-word
 * value rules above miss it: `passphrase: correct horse battery staple` or `my passphrase is
 * correct horse battery staple` — three or more words after the verb on the same line. Tried at
 * each `pass` keyword hit, so it costs no pass over the text of its own.
 */
const PASSPHRASE_WORDS = /pass[ -]?phrases?\b\s*(?:is|was|are|=|:)\s*(?:now\s+|still\s+|just\s+)?((?:[A-Za-z][\w'!&$%-]*[ \t]+){2,}[A-Za-z][\w'!&$%-]*)/iy;

function passphraseAt(text: string, hitIndex: number): DetectorMatch | undefined {
  if (hitIndex > 0 && isLetterCode(text.charCodeAt(hitIndex - 1))) return undefined;
  PASSPHRASE_WORDS.lastIndex = hitIndex;
  const match = PASSPHRASE_WORDS.exec(text);
  if (match === null) return undefined;
  const value = match[1] ?? '';
  const end = match.index + match[0].length;
  return {
    detector: 'credential.assignment',
    level: 'restricted',
    reason: 'passphrase stated in the text',
    start: match.index,
    end,
    excerpt: `passphrase ${maskSecret(value)}`,
  };
}

/**
 * A `.netrc` (or `_netrc`) entry's password: `machine api.example.com login jane password s3cr3t`,
 * on one line or spread over several, as curl, git, ftp and Python's `netrc` read it. The value
 * follows `password` without a separator, so neither an assignment nor a sentence reads it; the
 * entry around it (`machine <host>` or `default`, then any of `login`, `account`, `port` and their
 * values) says what it is. Restricted, like every other password value.
 */
const NETRC_PASSWORD = /password[ \t]+(?<value>"[^"\n]{1,200}"|[^\s"]{1,200})/y;
const NETRC_ENTRY_KEYS = new Set(['login', 'account', 'port', 'protocol']);
/** How far before its `password` an entry's `machine` is looked for. */
const NETRC_REACH = 400;

function netrcAt(text: string, hitIndex: number): DetectorMatch | undefined {
  if ((hitIndex > 0 && !/\s/.test(text[hitIndex - 1] as string)) || !text.startsWith('password', hitIndex)) return undefined;
  NETRC_PASSWORD.lastIndex = hitIndex;
  const match = NETRC_PASSWORD.exec(text);
  if (match === null || !isNetrcEntry(text.slice(Math.max(0, hitIndex - NETRC_REACH), hitIndex))) return undefined;
  const raw = match.groups?.value ?? '';
  const value = raw.startsWith('"') ? raw.slice(1, -1) : raw;
  if (value.length === 0 || isPlaceholder(value)) return undefined;
  const end = hitIndex + match[0].length - (raw.startsWith('"') ? 1 : 0);
  return { detector: 'credential.assignment', level: 'restricted', reason: 'password of a netrc entry (machine … login … password …)', start: hitIndex, end, excerpt: `password ${maskSecret(value)}` };
}

/** Whether `before` ends with a netrc entry's tokens: `machine <host>` or `default`, then pairs of `login`/`account`/`port` and a value. */
function isNetrcEntry(before: string): boolean {
  const tokens = before.split(/\s+/);
  if (tokens.at(-1) === '') tokens.pop();
  // The first token may be cut by the reach; the entry's own tokens are read from the end.
  for (let index = tokens.length; index > 0; ) {
    if (tokens[index - 1] === 'default') return true;
    if (index >= 2 && tokens[index - 2] === 'machine') return /^[\w.:[\]-]+$/.test(tokens[index - 1] as string);
    if (index >= 2 && NETRC_ENTRY_KEYS.has(tokens[index - 2] as string)) index -= 2;
    else return false;
  }
  return false;
}

/**
 * Credentials passed on a command line: `mysql -u root -pS3cret`, `mysqldump -p'x'`,
 * `curl -u admin:hunter2`, `wget --user=bob --password=x` (the latter caught as an assignment),
 * `sshpass -p secret ssh host`. One cheap test for the command names gates the expressions.
 */
const COMMAND_GATE = /\b(?:mysql|mysqldump|mysqladmin|mariadb|curl|sshpass)\b/;
const COMMAND_CREDENTIALS = [
  { pattern: /\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p(?<value>'[^'\n]+'|"[^"\n]+"|[^\s'"]+)/g, what: 'MySQL password on the command line' },
  { pattern: /\bcurl\b[^\n]*?\s(?:-u|--user)[\s=]+['"]?[^\s:'"]+:(?<value>[^\s'"]+)/g, what: 'curl user:password on the command line' },
  { pattern: /\bsshpass\b[^\n]*?\s-p\s*(?<value>'[^'\n]+'|"[^"\n]+"|[^\s'"]+)/g, what: 'sshpass password on the command line' },
];

function scanCommandLines(text: string, matches: DetectorMatch[]): void {
  if (!COMMAND_GATE.test(text)) return;
  for (const { pattern, what } of COMMAND_CREDENTIALS) {
    for (const match of matchesOf(pattern, text)) {
      const value = match.groups?.value ?? '';
      if (isPlaceholder(value.replace(/^['"]|['"]$/g, ''))) continue;
      const end = match.index + match[0].length;
      matches.push({ detector: 'credential.assignment', level: 'restricted', reason: what, start: end - value.length, end, excerpt: maskSecret(value) });
    }
  }
}

/**
 * A form field's value, as a saved page or a scraped form holds it: an `<input>` whose `name` (or,
 * without one, `id`) is a credential's key, or whose `type` is `password`, with a non-empty
 * `value`. The value is the field's filled-in or hidden credential (a hidden `api_key`, a
 * prefilled password). Anti-forgery tokens (`csrf_token`, Rails' `authenticity_token`), which every
 * served form carries, are not credentials of the user's.
 */
const INPUT_GATE = new LiteralGate(casings(['<input']));
const INPUT_TAG = /<input\b[^<>]{1,2000}>/gi;
const TAG_ATTRIBUTE = /([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g;
const ANTI_FORGERY = /csrf|xsrf|authenticity|antiforgery|requestverification/i;

function scanFormFields(text: string, matches: DetectorMatch[]): void {
  if (!INPUT_GATE.any(text)) return;
  for (const tag of matchesOf(INPUT_TAG, text)) {
    const attributes = new Map<string, { value: string; start: number }>();
    for (const attribute of matchesOf(TAG_ATTRIBUTE, tag[0])) {
      const name = (attribute[1] as string).toLowerCase();
      const value = attribute[2] ?? attribute[3] ?? attribute[4] ?? '';
      if (!attributes.has(name)) attributes.set(name, { value, start: tag.index + attribute.index + attribute[0].length - value.length - (attribute[4] === undefined ? 1 : 0) });
    }
    const value = attributes.get('value');
    if (value === undefined || value.value.trim() === '') continue;
    const fieldName = attributes.get('name')?.value ?? attributes.get('id')?.value ?? '';
    // `user[password]`, `settings[api_key]`: the innermost name says what the field holds.
    const key = /([^[\]]+)\]?$/.exec(fieldName)?.[1] ?? '';
    if (ANTI_FORGERY.test(fieldName)) continue;
    const family = attributes.get('type')?.value.toLowerCase() === 'password' ? 'password' : sensitiveFamily(key);
    if (family === undefined) continue;
    // Every attribute value is quoted or not by the page's style, not the value's kind: a count
    // (`page_token` = `2`) or a checkbox's `1` is a value of a form, not a credential.
    if (family !== 'pin' && (value.value.length < 4 || (family === 'token' && /^\d+$/.test(value.value)))) continue;
    const read: ValueRead = { value: value.value, start: value.start, end: value.start + value.value.length, quoted: true, atLineEnd: true, raw: value.value };
    if (!acceptValue(read, family, '=', key, false)) continue;
    const label = key === '' ? 'a password field' : `form field '${fieldName}'`;
    matches.push({
      detector: 'credential.assignment',
      level: 'restricted',
      reason: `value of ${label}`,
      start: read.start,
      end: read.end,
      excerpt: `${key === '' ? 'password' : key}=${maskSecret(read.value)}`,
    });
  }
}

export const credentialAssignmentDetector: Detector = {
  id: 'credential.assignment',
  scan(text) {
    const matches: DetectorMatch[] = [];
    scanKeywords(text, matches);
    scanCommandLines(text, matches);
    scanHeadersAndUrls(text, matches);
    scanFormFields(text, matches);
    return matches;
  },
};
