import { canonicalJson, sha256Hex } from '../common/hash.js';
import { escapePointerSegment } from '../validation/yaml-source.js';
import type { ProviderChange, ProviderRecord } from './types.js';

/** The canonical content hash of a normalised record: equal content, equal hash, whatever the key order. */
export function contentHash(record: ProviderRecord): string {
  return sha256Hex(canonicalJson(record));
}

/**
 * The JSON pointers that differ between two records, with before/after values. Objects are
 * compared key by key, lists of objects (models) item by item, and lists of plain values
 * (deviations, tags, args) as a whole, so one inserted tag is one change, not a cascade.
 */
export function diffRecords(before: unknown, after: unknown, pointer = ''): ProviderChange[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffRecords(before[key], after[key], `${pointer}/${escapePointerSegment(key)}`));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.concat(after).every(isPlainObject)) {
    const length = Math.max(before.length, after.length);
    const changes: ProviderChange[] = [];
    for (let index = 0; index < length; index += 1) changes.push(...diffRecords(before[index], after[index], `${pointer}/${index}`));
    return changes;
  }
  return [{ pointer, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }];
}

/**
 * A one-line reason for a new version. Base URL changes are always spelled out, with the
 * port called out when it moved, because they change where data goes.
 */
export function describeChanges(changes: ProviderChange[]): string {
  if (changes.length === 0) return 'no content change';
  const parts: string[] = [];
  const baseUrl = changes.find((change) => change.pointer === '/baseUrl');
  if (baseUrl !== undefined) parts.push(describeBaseUrlChange(String(baseUrl.before), String(baseUrl.after)));
  const classChange = changes.find((change) => change.pointer === '/class');
  if (classChange !== undefined) parts.push(`class changed: ${String(classChange.before)} → ${String(classChange.after)}`);
  const others = changes.filter((change) => change !== baseUrl && change !== classChange).map((change) => change.pointer);
  if (others.length > 0) {
    const shown = others.slice(0, 6).join(', ');
    parts.push(`changed ${shown}${others.length > 6 ? ` and ${others.length - 6} more` : ''}`);
  }
  return parts.join('; ');
}

function describeBaseUrlChange(before: string, after: string): string {
  const text = `base URL changed: ${before} → ${after}`;
  try {
    const from = new URL(before);
    const to = new URL(after);
    const details: string[] = [];
    if (from.hostname !== to.hostname) details.push(`host ${from.hostname} → ${to.hostname}`);
    if (effectivePort(from) !== effectivePort(to)) details.push(`port ${effectivePort(from)} → ${effectivePort(to)}`);
    if (from.protocol !== to.protocol) details.push(`scheme ${from.protocol.replace(':', '')} → ${to.protocol.replace(':', '')}`);
    return details.length === 0 ? text : `${text} (${details.join(', ')})`;
  } catch {
    return text;
  }
}

function effectivePort(url: URL): string {
  if (url.port !== '') return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
