import { linksInOrder, MESSAGE_COLUMNS, sessionLinkHash, sessionStartHash, SWITCH_COLUMNS, type ChainedMessageColumns, type ChainedSwitchColumns, type SessionChainStart } from '../../sessions/chain.js';
import type { SqliteDatabase } from '../store.js';
import type { Migration } from './index.js';

/**
 * Hash-chains each session's stored conversation (src/sessions/chain.ts): `prev_hash` and `hash`
 * on every message and switch, the switch placed after the message it followed (`after_seq`), and
 * the session's last link in `sessions.chain_hash`. The rows already stored are chained as they
 * are, in the order they were written; a switch made before this migration is placed after the
 * last message created by its time.
 */
export const sessionChainsMigration: Migration = {
  version: 21,
  name: 'session-chains',
  sql: `
ALTER TABLE sessions ADD COLUMN chain_hash TEXT;
ALTER TABLE session_messages ADD COLUMN prev_hash TEXT;
ALTER TABLE session_messages ADD COLUMN hash TEXT;
ALTER TABLE session_switches ADD COLUMN after_seq INTEGER;
ALTER TABLE session_switches ADD COLUMN prev_hash TEXT;
ALTER TABLE session_switches ADD COLUMN hash TEXT;
UPDATE session_switches SET after_seq = COALESCE(
  (SELECT MAX(m.seq) FROM session_messages AS m WHERE m.session_id = session_switches.session_id AND m.created_at <= session_switches.switched_at), 0);
`,
  backfill: chainStoredSessions,
};

function chainStoredSessions(db: SqliteDatabase): void {
  const sessions = db.prepare('SELECT id, system_prompt, created_at FROM sessions').all() as SessionChainStart[];
  const messagesOf = db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM session_messages WHERE session_id = ? ORDER BY seq`);
  const switchesOf = db.prepare(`SELECT ${SWITCH_COLUMNS} FROM session_switches WHERE session_id = ? ORDER BY after_seq, id`);
  const chainMessage = db.prepare('UPDATE session_messages SET prev_hash = ?, hash = ? WHERE session_id = ? AND seq = ?');
  const chainSwitch = db.prepare('UPDATE session_switches SET prev_hash = ?, hash = ? WHERE id = ?');
  const setHead = db.prepare('UPDATE sessions SET chain_hash = ? WHERE id = ?');
  for (const session of sessions) {
    let head = sessionStartHash(session);
    for (const entry of linksInOrder(messagesOf.all(session.id) as ChainedMessageColumns[], switchesOf.all(session.id) as ChainedSwitchColumns[])) {
      const hash = sessionLinkHash(head, entry);
      if (entry.kind === 'message') chainMessage.run(head, hash, entry.row.session_id, entry.row.seq);
      else chainSwitch.run(head, hash, entry.row.id);
      head = hash;
    }
    setHead.run(head, session.id);
  }
}
