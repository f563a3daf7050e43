import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ANY_JSON, isUnparsedValue, readStoredJson, storedJsonMemberSql, type StoredShape } from '../../../src/store/json-columns.js';

const LIST_OF_STRINGS: StoredShape<string[]> = {
  description: 'a list of strings',
  accepts: (value): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string'),
};

describe('readStoredJson', () => {
  it('reads what syndicate writes, and SQL NULL as the value given for it', () => {
    expect(readStoredJson('["timeout","retried"]', LIST_OF_STRINGS, [])).toEqual(['timeout', 'retried']);
    expect(readStoredJson(null, LIST_OF_STRINGS, [])).toEqual([]);
    expect(readStoredJson('{"chosen":{"warm":true}}', ANY_JSON, null)).toEqual({ chosen: { warm: true } });
  });

  it('gives back the stored text verbatim, never throwing, when it is not JSON or not of the expected shape', () => {
    expect(readStoredJson('not json', LIST_OF_STRINGS, [])).toEqual({ unparsed: 'not json', reason: expect.stringMatching(/^not JSON: /) });
    expect(readStoredJson('', ANY_JSON, null)).toEqual({ unparsed: '', reason: expect.stringMatching(/^not JSON: /) });
    expect(readStoredJson('null', LIST_OF_STRINGS, [])).toEqual({ unparsed: 'null', reason: 'not a list of strings' });
    expect(readStoredJson('[1]', LIST_OF_STRINGS, [])).toEqual({ unparsed: '[1]', reason: 'not a list of strings' });
    // A column edited to a blob or a number (SQLite keeps what it is given).
    expect(readStoredJson(Buffer.from([0x00, 0xff]), ANY_JSON, null)).toEqual({ unparsed: 'AP8=', reason: 'not JSON text: the column holds a blob (shown as base64)' });
    expect(readStoredJson(42, ANY_JSON, null)).toEqual({ unparsed: '42', reason: 'not JSON text: the column holds a number' });
    expect(isUnparsedValue(readStoredJson('{', ANY_JSON, null))).toBe(true);
    expect(isUnparsedValue(readStoredJson('{"a":1}', ANY_JSON, null))).toBe(false);
  });
});

describe('storedJsonMemberSql', () => {
  it('reads a member, and NULL instead of failing the statement when the column is not JSON', () => {
    const db = new Database(':memory:');
    try {
      db.exec("CREATE TABLE t (rowid INTEGER PRIMARY KEY, value TEXT); INSERT INTO t (value) VALUES ('{\"code\":\"interrupted\"}'), ('not json'), (NULL), (X'00ff'), ('[1]')");
      const codes = db.prepare(`SELECT ${storedJsonMemberSql('value', '$.code')} FROM t ORDER BY rowid`).pluck(true).all();
      expect(codes).toEqual(['interrupted', null, null, null, null]);
    } finally {
      db.close();
    }
  });
});
