import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../../src/common/hash.js';
import { SessionChainBrokenError } from '../../../src/errors.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import { messageLinkHash, type ChainedMessageColumns } from '../../../src/sessions/chain.js';
import { sessionTurn } from '../../../src/sessions/converse.js';
import {
  appendTurn,
  deleteSession,
  requireSession,
  sessionDetail,
  startSession,
  switchSessionModel,
  verifySessionChains,
  verifyUnlistedImages,
} from '../../../src/sessions/index.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { PNG } from '../../helpers/request-options.js';

const policy = defaultPolicy();
const PNG_SHA256 = sha256Hex(PNG);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');

async function registerLocal(store: Store): Promise<void> {
  await registerProviderRecord(
    store,
    {
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id: 'local',
      class: 'local',
      wire: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
      models: [
        { id: 'eyes', contextWindow: 32_768, capabilityClass: 'small', tags: ['vision'] },
        { id: 'eyes-narrow', contextWindow: 2_000, capabilityClass: 'small', tags: ['vision'] },
        { id: 'blind', contextWindow: 32_768, capabilityClass: 'small' },
      ],
      deviations: [],
    },
    'local',
  );
}

function answered(number: number, images: { mediaType: string; bytes: Uint8Array }[] = []) {
  return { prompt: `question ${number}`, answer: `answer ${number}`, providerId: 'local', model: 'eyes', evidenceId: `ev_${number}`, images };
}

describe("a stored session's images", () => {
  let store: Store;

  beforeEach(async () => {
    store = openStore(':memory:');
    await registerLocal(store);
  });
  afterEach(() => store.close());

  /** Turn 1 with the PNG, turn 2 text only, turn 3 with the PNG again and a GIF. */
  function sessionWithImages(): string {
    const id = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, id, answered(1, [{ mediaType: 'image/png', bytes: PNG }]));
    appendTurn(store, id, answered(2));
    appendTurn(store, id, answered(3, [{ mediaType: 'image/png', bytes: PNG }, { mediaType: 'image/gif', bytes: GIF }]));
    return id;
  }

  it('are stored once per digest, listed by session show (type, size, digest, never the bytes), and sent again before their prompt', () => {
    const id = sessionWithImages();
    sessionWithImages();
    expect(store.db.prepare('SELECT sha256 FROM session_images ORDER BY sha256').pluck(true).all()).toEqual([PNG_SHA256, sha256Hex(GIF)].sort());
    const detail = sessionDetail(store, id);
    expect(detail.messages.map((message) => message.images)).toEqual([
      [{ mediaType: 'image/png', size: PNG.length, sha256: PNG_SHA256 }],
      [],
      [],
      [],
      [
        { mediaType: 'image/png', size: PNG.length, sha256: PNG_SHA256 },
        { mediaType: 'image/gif', size: GIF.length, sha256: sha256Hex(GIF) },
      ],
      [],
    ]);
    expect(JSON.stringify(detail)).not.toContain(PNG.toString('base64'));
    const { history } = sessionTurn(store, requireSession(store, id));
    expect(history[0]).toEqual({ role: 'user', content: [{ type: 'image', mediaType: 'image/png', data: PNG.toString('base64') }, { type: 'text', text: 'question 1' }] });
    expect(history[2]).toEqual({ role: 'user', content: [{ type: 'text', text: 'question 2' }] });
    expect(history[4]?.content.map((part) => part.type)).toEqual(['image', 'image', 'text']);
    expect(verifySessionChains(store)).toEqual({ sessions: 2, messages: 12, broken: [] });
  });

  it('a text-only message is hashed exactly as before images were kept; a message with images covers their list', () => {
    const message: ChainedMessageColumns = { session_id: 'ses_1', seq: 1, turn: 1, role: 'user', text: 'hi', provider_id: null, model: null, evidence_id: null, created_at: '2026-01-01T00:00:00.000Z' };
    const before = sha256Hex(`${'0'.repeat(64)}\n${JSON.stringify(['message', 'ses_1', 1, 1, 'user', 'hi', null, null, null, '2026-01-01T00:00:00.000Z'])}`);
    expect(messageLinkHash('0'.repeat(64), message)).toBe(before);
    expect(messageLinkHash('0'.repeat(64), { ...message, images: null })).toBe(before);
    expect(messageLinkHash('0'.repeat(64), { ...message, images: '[]' })).not.toBe(before);
  });

  it('an image byte, a digest or a media type edited, or the bytes deleted, breaks the chain: refused before anything is sent, and reported', () => {
    const bytes = sessionWithImages();
    store.db.prepare("UPDATE session_images SET bytes = CAST(? AS BLOB) WHERE sha256 = ?").run(Buffer.from([...PNG.subarray(0, -1), 0]), PNG_SHA256);
    expect(verifySessionChains(store).broken).toEqual([{ sessionId: bytes, seq: 1, reason: 'image changed' }]);
    expect(() => sessionTurn(store, requireSession(store, bytes))).toThrow(SessionChainBrokenError);
    expect(() => sessionTurn(store, requireSession(store, bytes))).toThrow(`session ${bytes} fails its hash chain at message #1 (image changed)`);
    deleteSession(store, bytes);

    const digest = sessionWithImages();
    store.db.prepare("UPDATE session_messages SET images = replace(images, ?, ?) WHERE session_id = ? AND seq = 5").run(sha256Hex(GIF), PNG_SHA256, digest);
    expect(verifySessionChains(store).broken).toEqual([{ sessionId: digest, seq: 5, reason: 'content changed' }]);
    deleteSession(store, digest);

    const mediaType = sessionWithImages();
    store.db.prepare("UPDATE session_messages SET images = replace(images, 'image/png', 'image/jpeg') WHERE session_id = ? AND seq = 1").run(mediaType);
    expect(verifySessionChains(store).broken).toEqual([{ sessionId: mediaType, seq: 1, reason: 'content changed' }]);
    deleteSession(store, mediaType);

    const deleted = sessionWithImages();
    store.db.prepare('DELETE FROM session_images WHERE sha256 = ?').run(sha256Hex(GIF));
    expect(verifySessionChains(store).broken).toEqual([{ sessionId: deleted, seq: 5, reason: 'image changed' }]);
  });

  it('evidence verify proves each listed image once, reading one image at a time (never the whole image store), with the same report; a tampered byte breaks the sessions listing it', () => {
    const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    const first = sessionWithImages();
    const second = sessionWithImages();
    const own = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, own, answered(1, [{ mediaType: 'image/jpeg', bytes: JPEG }]));
    const textOnly = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, textOnly, answered(1));
    // Bytes no message lists (left by an edit of the store): nothing to prove, never read by the walk.
    const orphan = Buffer.alloc(4096, 7);
    store.db.prepare('INSERT INTO session_images (sha256, bytes) VALUES (?, ?)').run(sha256Hex(orphan), orphan);

    // The bytes each read of session_images returned (one entry per call of a statement reading it).
    const imageRowsRead: Uint8Array[][] = [];
    const prepare = store.statement.bind(store);
    const spy = vi.spyOn(store, 'statement').mockImplementation((sql: string) => {
      const statement = prepare(sql);
      if (!sql.includes('FROM session_images')) return statement;
      const recorded = (rows: { bytes: Uint8Array }[]): void => void imageRowsRead.push(rows.map((row) => row.bytes));
      return new Proxy(statement, {
        get(target, property) {
          if (property === 'all') {
            return (...parameters: unknown[]) => {
              const rows = target.all(...parameters) as { bytes: Uint8Array }[];
              recorded(rows);
              return rows;
            };
          }
          if (property === 'get') {
            return (...parameters: unknown[]) => {
              const row = target.get(...parameters) as { bytes: Uint8Array } | undefined;
              recorded(row === undefined ? [] : [row]);
              return row;
            };
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? (value as (...values: unknown[]) => unknown).bind(target) : value;
        },
      });
    });
    try {
      expect(verifySessionChains(store)).toEqual({ sessions: 4, messages: 2 * 6 + 2 + 2, broken: [] });
    } finally {
      spy.mockRestore();
    }
    // One image per read, each distinct listed image read once, however many sessions list it; the orphan never.
    expect(imageRowsRead.every((rows) => rows.length <= 1)).toBe(true);
    expect(imageRowsRead.flat().map((bytes) => sha256Hex(Buffer.from(bytes))).sort()).toEqual([PNG_SHA256, sha256Hex(GIF), sha256Hex(JPEG)].sort());

    store.db.prepare('UPDATE session_images SET bytes = CAST(? AS BLOB) WHERE sha256 = ?').run(Buffer.from([...GIF.subarray(0, -1), 0]), sha256Hex(GIF));
    expect(verifySessionChains(store)).toEqual({
      sessions: 4,
      messages: 16,
      broken: [first, second].sort().map((sessionId) => ({ sessionId, seq: 5, reason: 'image changed' })),
    });
  });

  it('session delete removes the bytes no other session lists, and keeps those another one does', () => {
    const first = sessionWithImages();
    const second = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, second, answered(1, [{ mediaType: 'image/png', bytes: PNG }]));
    expect(deleteSession(store, first)).toMatchObject({ messages: 6, images: 1 });
    expect(store.db.prepare('SELECT sha256 FROM session_images').pluck(true).all()).toEqual([PNG_SHA256]);
    expect(verifySessionChains(store).broken).toEqual([]);
    expect(deleteSession(store, second)).toMatchObject({ images: 1 });
    expect(store.db.prepare('SELECT count(*) FROM session_images').pluck(true).get()).toBe(0);
  });

  it('an image whose bytes and digest were both edited: its session breaks, verify reports the row no message lists, and session delete removes it', () => {
    const kept = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, kept, answered(1, [{ mediaType: 'image/gif', bytes: GIF }]));
    const own = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, own, answered(1, [{ mediaType: 'image/png', bytes: PNG }]));
    expect(verifyUnlistedImages(store)).toEqual({ unlisted: 0, changed: [] });

    // Both columns of the row edited: the bytes, and a digest they do not hash to.
    const edited = Buffer.from('not the screenshot');
    const editedDigest = 'f'.repeat(64);
    store.db.prepare('UPDATE session_images SET bytes = ?, sha256 = ? WHERE sha256 = ?').run(edited, editedDigest, PNG_SHA256);
    expect(verifySessionChains(store).broken).toEqual([{ sessionId: own, seq: 1, reason: 'image changed' }]);
    expect(verifyUnlistedImages(store)).toEqual({ unlisted: 1, changed: [editedDigest] });

    // The row its message no longer reaches goes with the session; the other session's image stays.
    expect(deleteSession(store, own)).toMatchObject({ messages: 2, images: 1 });
    expect(store.db.prepare('SELECT sha256 FROM session_images').pluck(true).all()).toEqual([sha256Hex(GIF)]);
    expect(verifyUnlistedImages(store)).toEqual({ unlisted: 0, changed: [] });
    expect(verifySessionChains(store).broken).toEqual([]);

    // A row no message lists, edited or not, is reported (only when its bytes do not hash to its digest, as changed), and the next delete removes it.
    const unused = Buffer.from('left behind');
    store.db.prepare('INSERT INTO session_images (sha256, bytes) VALUES (?, ?), (?, ?)').run(sha256Hex(unused), unused, editedDigest, edited);
    expect(verifyUnlistedImages(store)).toEqual({ unlisted: 2, changed: [editedDigest] });
    const other = startSession(store, policy, { model: 'local:eyes' }).id;
    expect(deleteSession(store, other)).toMatchObject({ images: 2 });
    expect(store.db.prepare('SELECT sha256 FROM session_images').pluck(true).all()).toEqual([sha256Hex(GIF)]);

    // A list edited into what is not JSON, or into entries that are no objects, lists nothing: both reads still answer.
    const broken = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, broken, answered(1, [{ mediaType: 'image/png', bytes: PNG }]));
    store.db.prepare("UPDATE session_messages SET images = 'not json' WHERE session_id = ?").run(kept);
    store.db.prepare(`UPDATE session_messages SET images = '["${PNG_SHA256}", 5]' WHERE session_id = ?`).run(broken);
    expect(verifyUnlistedImages(store)).toEqual({ unlisted: 2, changed: [] });
    expect(deleteSession(store, broken)).toMatchObject({ images: 2 });
  });

  it('a switch to a model without image input drops the turns with images, marked as such and proven by the switch', async () => {
    const id = sessionWithImages();
    const report = await switchSessionModel(store, policy, id, 'local:blind');
    expect(report.droppedTurns).toEqual([
      { turn: 1, seqs: [1, 2], excerpt: 'question 1', reason: 'images' },
      { turn: 3, seqs: [5, 6], excerpt: 'question 3', reason: 'images' },
    ]);
    expect(sessionTurn(store, requireSession(store, id)).history.flatMap((message) => message.content)).toEqual([
      { type: 'text', text: 'question 2' },
      { type: 'text', text: 'answer 2' },
    ]);
    expect(verifySessionChains(store).broken).toEqual([]);
    // Back to a vision model: what was dropped stays dropped, as compaction's drops do.
    expect((await switchSessionModel(store, policy, id, 'local:eyes')).droppedTurns).toEqual([]);
    expect(sessionDetail(store, id).messages.filter((message) => message.droppedBySwitch !== null).map((message) => message.seq)).toEqual([1, 2, 5, 6]);
  });

  it("compaction counts each image as the router does (1,000 tokens): a narrow window drops an image turn the text alone would fit", async () => {
    const id = startSession(store, policy, { model: 'local:eyes' }).id;
    appendTurn(store, id, answered(1, [{ mediaType: 'image/png', bytes: PNG }]));
    appendTurn(store, id, answered(2, [{ mediaType: 'image/gif', bytes: GIF }]));
    const report = await switchSessionModel(store, policy, id, 'local:eyes-narrow');
    expect(report.droppedTurns).toEqual([{ turn: 1, seqs: [1, 2], excerpt: 'question 1' }]);
    expect(report.promptTokens).toBeGreaterThan(1000);
  });
});

describe('migration 024 keeps every stored chain as it was', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-session-images-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('a text-only session chained before it verifies unchanged after it, and takes turns with images', async () => {
    const path = join(directory, 'store.db');
    const oldest = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version < 21) });
    oldest.db.exec(`
      INSERT INTO sessions (id, name, system_prompt, provider_id, model, created_at, updated_at) VALUES ('ses_old', NULL, 'Be brief.', 'local', 'eyes', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z');
      INSERT INTO session_checkpoints (session_id, max_capability, reason, approved_at) VALUES ('ses_old', 'small', 'start', '2026-01-01T00:00:00.000Z');
      INSERT INTO session_messages (session_id, seq, turn, role, text, provider_id, model, evidence_id, created_at) VALUES
        ('ses_old', 1, 1, 'user', 'first', NULL, NULL, NULL, '2026-01-01T00:01:00.000Z'),
        ('ses_old', 2, 1, 'assistant', 'one', 'local', 'eyes', 'ev_1', '2026-01-01T00:01:00.000Z');
    `);
    oldest.close();
    const before = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version < 24) });
    const chained = before.db.prepare('SELECT seq, prev_hash, hash FROM session_messages ORDER BY seq').all();
    const head = before.db.prepare("SELECT chain_hash FROM sessions WHERE id = 'ses_old'").pluck(true).get();
    before.close();

    const store = openStore(path);
    try {
      expect(store.appliedMigrations()).toContain(24);
      expect(store.db.prepare('SELECT seq, prev_hash, hash FROM session_messages ORDER BY seq').all()).toEqual(chained);
      expect(store.db.prepare("SELECT chain_hash FROM sessions WHERE id = 'ses_old'").pluck(true).get()).toBe(head);
      expect(store.db.prepare('SELECT count(*) FROM session_messages WHERE images IS NOT NULL').pluck(true).get()).toBe(0);
      expect(verifySessionChains(store)).toEqual({ sessions: 1, messages: 2, broken: [] });
      await registerLocal(store);
      appendTurn(store, 'ses_old', answered(2, [{ mediaType: 'image/png', bytes: PNG }]));
      expect(verifySessionChains(store).broken).toEqual([]);
    } finally {
      store.close();
    }
  });
});
