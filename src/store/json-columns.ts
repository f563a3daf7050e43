/**
 * Reading JSON columns back. syndicate writes them with `JSON.stringify`, but the store is a file
 * anyone can edit: a reader that shows or exports what is stored must not fail on a value it
 * cannot read, and must not guess at one either. Such a value comes back as an `UnparsedValue`
 * carrying the exact stored text (`evidence verify` names the edited row; `evidence show` and
 * `evidence export` then show what the row now holds).
 */

/** A stored JSON value that does not read back as what syndicate writes there: kept verbatim. */
export interface UnparsedValue {
  /** The column's stored text, exactly (a blob's bytes as base64, which `reason` then says). */
  unparsed: string;
  /** Why it was not read: `not JSON: <the parser's message>`, or `not <what was expected>`. */
  reason: string;
}

/** What a column is expected to hold, for `readStoredJson`. */
export interface StoredShape<T> {
  /** Names the shape in `UnparsedValue.reason`, e.g. `a list of markers`. */
  description: string;
  accepts: (value: unknown) => value is T;
}

/** Any JSON value (the column has no fixed shape: a permit payload, a route explanation). */
export const ANY_JSON: StoredShape<unknown> = { description: 'JSON', accepts: (value): value is unknown => true };

export function isUnparsedValue(value: unknown): value is UnparsedValue {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Partial<UnparsedValue>).unparsed === 'string';
}

/**
 * The value of a JSON column as SQLite returned it: `whenNull` for SQL NULL, the parsed value when
 * it parses and has the expected shape, otherwise an `UnparsedValue` with the stored text. Never
 * throws.
 */
export function readStoredJson<T, N = never>(stored: unknown, shape: StoredShape<T>, whenNull: N): T | N | UnparsedValue {
  if (stored === null || stored === undefined) return whenNull;
  if (typeof stored !== 'string') {
    // A column edited to a number or a blob: JSON text is what syndicate stores.
    const text = Buffer.isBuffer(stored) ? stored.toString('base64') : String(stored);
    return { unparsed: text, reason: `not JSON text: the column holds ${Buffer.isBuffer(stored) ? 'a blob (shown as base64)' : `a ${typeof stored}`}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch (error) {
    return { unparsed: stored, reason: `not JSON: ${(error as Error).message}` };
  }
  return shape.accepts(value) ? value : { unparsed: stored, reason: `not ${shape.description}` };
}

/**
 * SQL for the member at `path` (a JSON path, `$.code`) of the JSON column `column`, NULL when the
 * column does not hold valid JSON: `json_extract` alone fails the whole statement on one such row.
 * Both arguments are written into the SQL: pass constants only.
 */
export function storedJsonMemberSql(column: string, path: string): string {
  return `CASE WHEN json_valid(${column}) THEN json_extract(${column}, '${path}') END`;
}
