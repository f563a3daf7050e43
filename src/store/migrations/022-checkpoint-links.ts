import {
  linksInOrder,
  MESSAGE_COLUMNS,
  sessionLinkHash,
  sessionStartHash,
  stateAfter,
  SWITCH_COLUMNS,
  type ChainedCheckpointColumns,
  type ChainedMessageColumns,
  type ChainedSwitchColumns,
  type SessionChainStart,
  type SessionEnvelopeState,
} from '../../sessions/chain.js';
import type { SqliteDatabase } from '../store.js';
import type { Migration } from './index.js';

/**
 * Makes each session's checkpoints links of its chain (src/sessions/chain.ts), each recording the
 * model the session was on when it was approved, so the envelope and the active model are proven
 * with the conversation. Every session whose chain (as migration 021 made it) holds is re-chained
 * from its start with its checkpoints placed among its messages and switches by time (the start's
 * first); a checkpoint's model is the one the session was on then: the previous switch's target,
 * or, before any switch, the first switch's origin (the session's model when none switched it).
 * A session whose chain was already broken is left as it is — re-chaining it would hide the edit —
 * and stays refused, its checkpoints unchained after its last link, so the first break reported
 * is still the edit.
 */
export const checkpointLinksMigration: Migration = {
  version: 22,
  name: 'checkpoint-links',
  sql: `
ALTER TABLE session_checkpoints ADD COLUMN after_seq INTEGER;
ALTER TABLE session_checkpoints ADD COLUMN after_switch INTEGER;
ALTER TABLE session_checkpoints ADD COLUMN provider_id TEXT;
ALTER TABLE session_checkpoints ADD COLUMN model TEXT;
ALTER TABLE session_checkpoints ADD COLUMN prev_hash TEXT;
ALTER TABLE session_checkpoints ADD COLUMN hash TEXT;
`,
  backfill: chainStoredCheckpoints,
};

interface SessionRow extends SessionChainStart {
  chain_hash: string | null;
  provider_id: string | null;
  model: string | null;
}

type LinkedMessage = ChainedMessageColumns & { prev_hash: string | null; hash: string | null };
type LinkedSwitch = ChainedSwitchColumns & { prev_hash: string | null; hash: string | null };

function chainStoredCheckpoints(db: SqliteDatabase): void {
  const sessions = db.prepare('SELECT id, system_prompt, created_at, chain_hash, provider_id, model FROM sessions').all() as SessionRow[];
  const messagesOf = db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM session_messages WHERE session_id = ? ORDER BY seq`);
  const switchesOf = db.prepare(`SELECT ${SWITCH_COLUMNS} FROM session_switches WHERE session_id = ? ORDER BY after_seq, id`);
  const checkpointsOf = db.prepare('SELECT id, session_id, max_capability, reason, approved_at FROM session_checkpoints WHERE session_id = ? ORDER BY id');
  const chainMessage = db.prepare('UPDATE session_messages SET prev_hash = ?, hash = ? WHERE session_id = ? AND seq = ?');
  const chainSwitch = db.prepare('UPDATE session_switches SET prev_hash = ?, hash = ? WHERE id = ?');
  const chainCheckpoint = db.prepare('UPDATE session_checkpoints SET after_seq = ?, after_switch = ?, provider_id = ?, model = ?, prev_hash = ?, hash = ? WHERE id = ?');
  const setHead = db.prepare('UPDATE sessions SET chain_hash = ? WHERE id = ?');
  const placeAtEnd = db.prepare('UPDATE session_checkpoints SET after_seq = ?, after_switch = ? WHERE session_id = ?');
  for (const session of sessions) {
    const messages = messagesOf.all(session.id) as LinkedMessage[];
    const switches = switchesOf.all(session.id) as LinkedSwitch[];
    if (!chainHolds(session, messages, switches)) {
      // Unchained, after its last link: the walk still reports the break that was there first.
      placeAtEnd.run(messages.at(-1)?.seq ?? 0, switches.length, session.id);
      continue;
    }
    const checkpoints = (checkpointsOf.all(session.id) as Omit<ChainedCheckpointColumns, 'after_seq' | 'after_switch' | 'provider_id' | 'model'>[]).map(
      (checkpoint, index): ChainedCheckpointColumns => ({ ...checkpoint, ...placeByTime(checkpoint.approved_at, index === 0, messages, switches), provider_id: null, model: null }),
    );
    const [firstSwitch] = switches;
    let state: SessionEnvelopeState =
      firstSwitch === undefined
        ? { providerId: session.provider_id, model: session.model, invalidatedAt: null }
        : { providerId: firstSwitch.from_provider_id, model: firstSwitch.from_model, invalidatedAt: null };
    let head = sessionStartHash(session);
    for (const entry of linksInOrder(messages, switches, checkpoints)) {
      if (entry.kind === 'checkpoint') Object.assign(entry.row, { provider_id: state.providerId, model: state.model });
      state = stateAfter(state, entry);
      const hash = sessionLinkHash(head, entry);
      if (entry.kind === 'message') chainMessage.run(head, hash, entry.row.session_id, entry.row.seq);
      else if (entry.kind === 'switch') chainSwitch.run(head, hash, entry.row.id);
      else chainCheckpoint.run(entry.row.after_seq, entry.row.after_switch, entry.row.provider_id, entry.row.model, head, hash, entry.row.id);
      head = hash;
    }
    setHead.run(head, session.id);
  }
}

/** Whether the session's messages and switches still hash to its head, as migration 021 chained them. */
function chainHolds(session: SessionRow, messages: readonly LinkedMessage[], switches: readonly LinkedSwitch[]): boolean {
  let head = sessionStartHash(session);
  for (const entry of linksInOrder<LinkedMessage, LinkedSwitch, never>(messages, switches)) {
    if (entry.row.prev_hash !== head || entry.row.hash === null || sessionLinkHash(head, entry) !== entry.row.hash) return false;
    head = entry.row.hash;
  }
  return head === session.chain_hash;
}

/** Where a checkpoint approved at `approvedAt` goes: after the messages written by then and the switches made before it; the first at the start. */
function placeByTime(approvedAt: string, first: boolean, messages: readonly ChainedMessageColumns[], switches: readonly ChainedSwitchColumns[]): { after_seq: number; after_switch: number } {
  if (first) return { after_seq: 0, after_switch: 0 };
  const after_seq = messages.filter((message) => message.created_at <= approvedAt).reduce((last, message) => Math.max(last, message.seq), 0);
  return { after_seq, after_switch: switches.filter((row) => row.switched_at < approvedAt && row.after_seq <= after_seq).length };
}
