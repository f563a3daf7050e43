import { escapePointerSegment } from './yaml-source.js';

/** A literal credential found in a user-written file. Never carries the value itself. */
export interface CredentialFinding {
  /** JSON pointer of the value, e.g. `/auth/apiKey`. */
  pointer: string;
  /** What it looks like, e.g. `an OpenAI-style secret key (sk-...)`; safe to print. */
  kind: string;
}

const KEY_SHAPES: { kind: string; pattern: RegExp }[] = [
  { kind: 'an Anthropic API key (sk-ant-...)', pattern: /sk-ant-[A-Za-z0-9_-]{16,}/ },
  { kind: 'an OpenAI-style secret key (sk-...)', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/ },
  { kind: 'a GitHub token (ghp_/gho_/ghs_/ghu_/ghr_...)', pattern: /\bgh[opsur]_[A-Za-z0-9]{30,}/ },
  { kind: 'a GitHub fine-grained token (github_pat_...)', pattern: /\bgithub_pat_[A-Za-z0-9_]{30,}/ },
  { kind: 'an AWS access key id (AKIA...)', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { kind: 'a Google API key (AIza...)', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { kind: 'a Slack token (xox...)', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { kind: 'a GitLab token (glpat-...)', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { kind: 'a Hugging Face token (hf_...)', pattern: /\bhf_[A-Za-z0-9]{30,}/ },
  { kind: 'a private key block', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { kind: 'a JSON Web Token', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { kind: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/ },
];

/** Key names that hold secrets; any literal value under them is refused. */
const SECRET_KEY_NAME = /^(?:api[-_]?key|apikey|key|token|access[-_]?token|auth[-_]?token|bearer|secret|client[-_]?secret|password|passwd|pass|credentials?|authorization)$/i;

/**
 * Finds literal credentials anywhere in a parsed file: key-shaped strings, long high-entropy
 * tokens, credentials in URLs, and any literal under a secret-named key (`apiKey`, `token`...).
 * Used to refuse files that should reference an environment variable instead.
 */
export function findLiteralCredentials(value: unknown): CredentialFinding[] {
  const findings: CredentialFinding[] = [];
  walk(value, '', undefined, findings);
  return findings;
}

/** Describes why a single string looks like a credential, or undefined. */
export function credentialKind(text: string): string | undefined {
  for (const shape of KEY_SHAPES) if (shape.pattern.test(text)) return shape.kind;
  const urlCredential = credentialInUrl(text);
  if (urlCredential !== undefined) return urlCredential;
  if (hasHighEntropyToken(text)) return 'a long random-looking token';
  return undefined;
}

function walk(value: unknown, pointer: string, keyName: string | undefined, findings: CredentialFinding[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, `${pointer}/${index}`, keyName, findings));
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      walk(inner, `${pointer}/${escapePointerSegment(key)}`, key, findings);
    }
    return;
  }
  if (keyName !== undefined && SECRET_KEY_NAME.test(keyName) && isLiteral(value)) {
    findings.push({ pointer, kind: `a literal value under the secret-named key "${keyName}"` });
    return;
  }
  if (typeof value === 'string') {
    const kind = credentialKind(value);
    if (kind !== undefined) findings.push({ pointer, kind });
  }
}

function isLiteral(value: unknown): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  return typeof value === 'number' || typeof value === 'boolean';
}

function credentialInUrl(text: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.password !== '' || url.username !== '') return 'credentials embedded in a URL (user:password@)';
  for (const name of url.searchParams.keys()) {
    if (/^(?:api[-_]?key|key|token|access[-_]?token|secret|password|sig|signature)$/i.test(name)) {
      return `a credential in the URL query (?${name}=...)`;
    }
  }
  return undefined;
}

/**
 * A run of >= 24 token characters with mixed letters and digits and high Shannon entropy.
 * Segments split on `-`, `_`, `.`, `/` and `:` first, so model names such as
 * `Meta-Llama-3.1-8B-Instruct-Q4_K_M` or dated ids never qualify.
 */
function hasHighEntropyToken(text: string): boolean {
  for (const segment of text.split(/[\s\-./:@,;_]+/)) {
    if (segment.length < 24) continue;
    if (!/^[A-Za-z0-9+=]+$/.test(segment)) continue;
    if (/^[0-9a-f]+$/i.test(segment) && (segment.length === 40 || segment.length === 64)) continue; // a content digest, not a key
    if ((segment.match(/[0-9]/g) ?? []).length < 2 || !/[A-Za-z]/.test(segment)) continue;
    if (shannonEntropy(segment) >= 3.3) return true;
  }
  return false;
}

function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const probability = count / text.length;
    entropy -= probability * Math.log2(probability);
  }
  return entropy;
}
